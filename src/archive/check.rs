//! `pgbarge verify --input PATH`: read a whole dump, offline, and check
//! every file against the manifest: decompression, length, checksum and,
//! for tables, the row count.

use std::path::Path;

use bytes::Bytes;
use serde::Serialize;

use super::blocks::{self, checksum_text};
use super::{Archive, ArchiveFormat, Part, TableEntry};
use crate::transfer::framing::RowCounter;
use crate::{Error, Result};
use xxhash_rust::xxh3::Xxh3;

#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub input: String,
    pub layout: String,
    pub compression: String,
    pub tables: Vec<TableCheck>,
    /// Problems outside the tables (schema files, extra files).
    pub problems: Vec<String>,
    pub ok: bool,
    /// A resumed dump: its tables are not one snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TableCheck {
    pub table: String,
    pub rows: u64,
    pub bytes: u64,
    /// `ok`, `no-data` or `damaged`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// What is wrong with a table's content (or one part of it), compared
/// with what the manifest says, if anything.
fn judge(t: &Part, got: std::io::Result<(u64, String, u64)>) -> Option<String> {
    match got {
        Err(e) => Some(format!("cannot be read: {e}")),
        Ok((bytes, _, _)) if bytes != t.bytes => Some(format!(
            "holds {bytes} bytes of rows, the manifest says {}",
            t.bytes
        )),
        Ok((_, sum, _)) if sum != t.checksum => Some(format!(
            "content checksum {sum} differs from the manifest's {}",
            t.checksum
        )),
        Ok((_, _, rows)) if rows != t.rows => {
            Some(format!("holds {rows} rows, the manifest says {}", t.rows))
        }
        Ok(_) => None,
    }
}

pub fn check(path: &Path) -> Result<CheckReport> {
    let a = Archive::open(path)?;
    let mut problems = Vec::new();
    let tables = match a.format {
        ArchiveFormat::Dir => check_dir(&a, &mut problems),
        ArchiveFormat::Sql => check_sql(&a, &mut problems),
    };
    let ok = problems.is_empty() && tables.iter().all(|t| t.status != "damaged");
    Ok(CheckReport {
        input: path.display().to_string(),
        layout: a.manifest.layout.clone(),
        compression: a.manifest.compression.clone(),
        tables,
        problems,
        ok,
        note: a.manifest.resumed_note(),
    })
}

/// What is wrong with the schema a dump holds: its schema files (dir;
/// `schema.json` was checked when the dump was opened) or the schema in
/// its header line (sql). Restore refuses a dump with any.
pub fn schema_problems(a: &Archive) -> Vec<String> {
    let mut problems = a.problems.clone();
    if a.format != ArchiveFormat::Dir {
        return problems;
    }
    for f in a.manifest.files.iter().filter(|f| f.path != "schema.json") {
        let got = blocks::read_file(&a.path.join(&f.path), super::Codec::None, &mut |_| Ok(()));
        match got {
            Err(e) => problems.push(format!("{}: cannot be read: {e}", f.path)),
            Ok((n, _)) if n != f.bytes => problems.push(format!(
                "{}: {n} bytes, the manifest says {}",
                f.path, f.bytes
            )),
            Ok((_, sum)) if sum != f.checksum => problems.push(format!(
                "{}: checksum {sum} differs from the manifest's {}",
                f.path, f.checksum
            )),
            Ok(_) => {}
        }
    }
    problems
}

/// Stop reading a file of rows once it holds more than the manifest
/// says: a damaged (or hostile) file is not read to its end.
pub fn over(limit: u64, seen: u64) -> std::io::Result<()> {
    if seen > limit {
        return Err(std::io::Error::other(format!(
            "holds more than the {limit} bytes of rows the manifest says"
        )));
    }
    Ok(())
}

fn check_dir(a: &Archive, problems: &mut Vec<String>) -> Vec<TableCheck> {
    let mut listed = vec!["manifest.json".to_string()];
    listed.extend(a.manifest.files.iter().map(|f| f.path.clone()));
    problems.extend(schema_problems(a));
    let mut out = Vec::new();
    for t in a.manifest.tables.iter().chain(&a.manifest.large_objects) {
        if t.file.is_none() && t.parts.is_empty() {
            out.push(no_data(t));
            continue;
        }
        // Each part on its own, and the table over all of them.
        let mut whole = Xxh3::new();
        let mut found = (0, 0);
        let mut problem = None;
        for part in t.pieces() {
            let file = part.file.clone().unwrap_or_default();
            listed.push(file.clone());
            let mut counter = RowCounter::new(t.binary());
            let mut seen = 0;
            let got = blocks::read_file(&a.path.join(&file), a.codec, &mut |chunk: Bytes| {
                seen += chunk.len() as u64;
                over(part.bytes, seen)?;
                whole.update(&chunk);
                counter.feed(&chunk).map_err(std::io::Error::other)
            })
            .and_then(|(n, sum)| {
                let rows = counter.finish().map_err(std::io::Error::other)?;
                Ok((n, sum, rows))
            });
            if let Ok((n, _, rows)) = &got {
                found = (found.0 + n, found.1 + rows);
            }
            if let (None, Some(p)) = (&problem, judge(&part, got)) {
                problem = Some(format!("{file}: {p}"));
            }
        }
        if problem.is_none() && t.parts.len() > 1 {
            let whole = Ok((found.0, checksum_text(&whole), found.1));
            problem = judge(&t.total(), whole).map(|p| format!("parts together: {p}"));
        }
        out.push(table_check(t, problem));
    }
    // Anything else in the archive was not written by the dump.
    for dir in ["", "data"] {
        for e in std::fs::read_dir(a.path.join(dir))
            .into_iter()
            .flatten()
            .flatten()
        {
            let rel = if dir.is_empty() {
                e.file_name().to_string_lossy().into_owned()
            } else {
                format!("{dir}/{}", e.file_name().to_string_lossy())
            };
            if rel != "data" && !listed.contains(&rel) {
                problems.push(format!("{rel}: not part of the dump (not in the manifest)"));
            }
        }
    }
    out
}

/// How a check report lists the large objects' stream.
const LARGE_OBJECTS: &str = "(large objects)";

fn table_check(t: &TableEntry, problem: Option<String>) -> TableCheck {
    TableCheck {
        table: if super::lobj::is_entry(t) {
            LARGE_OBJECTS.into()
        } else {
            t.name.to_string()
        },
        rows: t.rows,
        bytes: t.bytes,
        status: if problem.is_some() { "damaged" } else { "ok" }.into(),
        problem,
    }
}

fn no_data(t: &TableEntry) -> TableCheck {
    TableCheck {
        table: t.name.to_string(),
        rows: 0,
        bytes: 0,
        status: "no-data".into(),
        problem: None,
    }
}

/// Stream the whole script once; each table's rows are the byte range
/// the manifest gives.
fn check_sql(a: &Archive, problems: &mut Vec<String>) -> Vec<TableCheck> {
    problems.extend(schema_problems(a));
    let with_data: Vec<&TableEntry> = a
        .manifest
        .tables
        .iter()
        .chain(&a.manifest.large_objects)
        .filter(|t| t.offset.is_some())
        .collect();
    let mut states: Vec<(Xxh3, RowCounter, u64)> = with_data
        .iter()
        .map(|t| (Xxh3::new(), RowCounter::new(t.binary()), 0))
        .collect();
    let mut walker = ScriptWalker::new(a, &with_data);
    let read = blocks::read_file(&a.path, a.codec, &mut |chunk: Bytes| {
        walker.feed(&chunk, &mut |i, part| {
            let st = &mut states[i];
            st.0.update(part);
            st.2 += part.len() as u64;
            st.1.feed(part).map_err(std::io::Error::other)
        })
    });
    let stopped = match &read {
        Err(e) => {
            problems.push(format!("the script cannot be read to its end: {e}"));
            true
        }
        Ok((n, _)) if *n < walker.end => {
            problems.push(format!(
                "the script is shorter ({n} bytes) than its manifest says ({} bytes)",
                walker.end
            ));
            true
        }
        Ok(_) => false,
    };
    let mut out = Vec::new();
    let mut k = 0;
    for t in a.manifest.tables.iter().chain(&a.manifest.large_objects) {
        if t.offset.is_none() {
            out.push(no_data(t));
            continue;
        }
        let (h, counter, n) = &states[k];
        k += 1;
        let got = if stopped && *n < t.bytes {
            Err(std::io::Error::other("the script ends before its rows do"))
        } else {
            counter
                .finish()
                .map(|rows| (*n, checksum_text(h), rows))
                .map_err(std::io::Error::other)
        };
        out.push(table_check(t, judge(&t.total(), got)));
    }
    out
}

/// Routes the pieces of a SQL script to the tables whose rows they are.
pub struct ScriptWalker {
    /// (start, end) of each table's rows, counted from the file's start.
    ranges: Vec<(u64, u64)>,
    pos: u64,
    cur: usize,
    /// Where the last table's rows end.
    pub end: u64,
}

impl ScriptWalker {
    pub fn new(a: &Archive, tables: &[&TableEntry]) -> Self {
        let ranges: Vec<(u64, u64)> = tables
            .iter()
            .map(|t| {
                let start = a.header_len + t.offset.unwrap_or(0);
                (start, start + t.bytes)
            })
            .collect();
        ScriptWalker {
            end: ranges.last().map_or(0, |r| r.1),
            ranges,
            pos: 0,
            cur: 0,
        }
    }

    /// Feed the next piece of the script; `f(table, bytes)` gets the parts
    /// that are rows of a table, in order.
    pub fn feed(
        &mut self,
        data: &[u8],
        f: &mut dyn FnMut(usize, &[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let start = self.pos;
        let end = start + data.len() as u64;
        self.pos = end;
        while self.cur < self.ranges.len() {
            let (a, b) = self.ranges[self.cur];
            if a >= end {
                break;
            }
            let lo = a.max(start);
            let hi = b.min(end);
            if lo < hi {
                f(
                    self.cur,
                    &data[(lo - start) as usize..(hi - start) as usize],
                )?;
            }
            if b <= end {
                self.cur += 1;
            } else {
                break;
            }
        }
        Ok(())
    }
}

/// Print the check's result: one line per table, problems spelled out.
pub fn print(r: &CheckReport) {
    let rows: Vec<[String; 4]> = r
        .tables
        .iter()
        .map(|t| {
            [
                t.table.clone(),
                t.rows.to_string(),
                indicatif::HumanBytes(t.bytes).to_string(),
                t.status.clone(),
            ]
        })
        .collect();
    crate::print_columns(["table", "rows", "bytes", "status"], &rows);
    for t in &r.tables {
        if let Some(p) = &t.problem {
            println!("  {}: {p}", t.table);
        }
    }
    for p in &r.problems {
        println!("  {p}");
    }
    if let Some(n) = &r.note {
        println!("note: {n}");
    }
    if r.ok {
        println!(
            "dump {} is intact: {}, every file matches its manifest ({}, {})",
            r.input,
            crate::report::counted(
                r.tables.iter().filter(|t| t.table != LARGE_OBJECTS).count() as u64,
                "table"
            ),
            r.layout,
            r.compression
        );
    }
}

impl CheckReport {
    pub fn damaged(&self) -> Error {
        let n = self.tables.iter().filter(|t| t.status == "damaged").count();
        Error::Mismatch(format!(
            "dump {} is damaged: {n} table(s) and {} other problem(s); it cannot be trusted \
             for a restore",
            self.input,
            self.problems.len()
        ))
    }
}
