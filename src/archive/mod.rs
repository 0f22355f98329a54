//! Dump archives: what `pgbarge dump` writes, `restore` loads and
//! `verify --input` checks.
//!
//! Two formats share one writer:
//! - **dir** (default): `manifest.json`, `schema.json` (the schema plan
//!   restore replays, with every object name so it can be renamed again),
//!   `pre-data.sql` and `post-data.sql` (the same DDL for people and for
//!   psql), and one compressed file of COPY data per table under `data/`:
//!   binary COPY where every column's type has a portable binary form
//!   (cheaper for both servers), text elsewhere.
//!   Large objects, if any, are one more such file (see `lobj`).
//! - **sql**: one plain SQL script (`.sql`, `.sql.gz`, `.sql.zst`) that
//!   psql restores: DDL, `COPY ... FROM stdin` blocks (the large objects'
//!   last, into a temporary table they are made from), post-data. Its first
//!   line is a comment holding the manifest and the plan, so pgbarge can
//!   restore and check it too.
//!
//! Every table's content is checksummed (xxh3-64 of the uncompressed COPY
//! data) and counted; restore and verify check both.

pub mod blocks;
pub mod check;
pub mod codec;
pub mod dump;
pub mod lobj;
pub mod restore;
pub mod script;
pub mod untrusted;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalog::QualName;
use crate::transfer::schema::{SchemaPlan, SequenceValue};
pub use codec::Codec;

/// What `manifest.json` says in its `format` key.
pub const FORMAT_NAME: &str = "pgbarge-dump";
/// The newest archive layout this pgbarge writes and reads. Version 2
/// added binary table data (`tables[].format`), version 3 large objects
/// (`large_objects`); version 1 archives (all text) still read.
pub const FORMAT_VERSION: u32 = 3;
/// The version a dump without large objects is written as: older
/// pgbarge restore it. One with them is version 3, which older pgbarge
/// refuse by name instead of restoring it without its large objects.
pub const FORMAT_VERSION_WITHOUT_LARGE_OBJECTS: u32 = 2;
const OLDEST_FORMAT_VERSION: u32 = 1;
/// How a SQL-format dump's first line starts.
pub const SQL_HEADER: &str = "-- pgbarge-dump ";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    Dir,
    Sql,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub tool_version: String,
    pub created_unix: u64,
    /// `dir` or `sql`.
    pub layout: String,
    pub source: SourceInfo,
    pub snapshot: Option<String>,
    pub selection: Selection,
    pub schema_map: Vec<(String, String)>,
    pub compression: String,
    /// `auto` (binary where portable) or `text`; each table says which
    /// it got.
    pub data_format: String,
    /// Files besides the table data (dir format).
    pub files: Vec<FileEntry>,
    pub tables: Vec<TableEntry>,
    pub sequences: Vec<SequenceValue>,
    /// SQL format: the checksum of the plan's text in the header line, so
    /// an edit of the DDL restore would replay is found before it runs.
    /// Absent in scripts written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_checksum: Option<String>,
    /// The large objects' stream (see `lobj`): the entry's rows are
    /// chunks, not objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub large_objects: Option<TableEntry>,
}

impl Manifest {
    /// For a resumed dump (tables read in more than one snapshot): says
    /// so, for restore and `verify --input` to print.
    pub fn resumed_note(&self) -> Option<String> {
        let earlier = self.tables.iter().filter(|t| t.snapshot.is_some()).count();
        (earlier > 0).then(|| {
            format!(
                "this dump was resumed: {earlier} of its {} tables were read in the interrupted \
                 run's snapshot, the others in {}; the tables are not one consistent snapshot",
                self.tables.len(),
                self.snapshot
                    .as_deref()
                    .map_or("separate transactions".to_string(), |s| format!(
                        "snapshot {s}"
                    ))
            )
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceInfo {
    /// Connection URL without password.
    pub url: String,
    pub server_version: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Selection {
    pub schema: Vec<String>,
    pub exclude_schema: Vec<String>,
    pub table: Vec<String>,
    pub exclude_table: Vec<String>,
    pub exclude_table_data: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub checksum: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableEntry {
    /// Name in the archive (after the dump's schema map).
    pub name: QualName,
    /// Quoted, comma-separated column list of the COPY data.
    pub columns: String,
    /// False when `--exclude-table-data` left the rows out.
    pub has_data: bool,
    /// COPY format of the rows: `text` or `binary`.
    #[serde(default = "text_format")]
    pub format: String,
    pub rows: u64,
    /// Uncompressed COPY data.
    pub bytes: u64,
    pub compressed_bytes: u64,
    pub checksum: String,
    /// Order-independent sum over the rows (`transfer::framing::RowSum`):
    /// `verify --input --target` compares it with the target's rows.
    /// Absent in dumps written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_sum: Option<String>,
    /// Dir format: the data file, relative to the archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// SQL format: where the rows start in the uncompressed script,
    /// counted from the line after the header line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Dir format, a big table: its rows in several files (each a whole
    /// COPY stream) that restore loads side by side; `file` is then unset
    /// and the table's rows, bytes and checksum cover all parts in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
    /// A resumed dump: the snapshot this table was read in, when it is
    /// not the manifest's (the interrupted run's). Such a dump is not one
    /// consistent snapshot, and restore and `verify --input` say so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// The source's planner statistics of the table (when it had been
    /// analyzed), for a restore into PostgreSQL 18+ to set instead of
    /// running ANALYZE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<crate::catalog::stats::TableStats>,
}

/// One file of a table's rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Part {
    /// Relative to the archive; unset for a SQL script's one range.
    pub file: Option<String>,
    pub rows: u64,
    pub bytes: u64,
    pub compressed_bytes: u64,
    pub checksum: String,
}

fn text_format() -> String {
    "text".into()
}

impl TableEntry {
    pub fn binary(&self) -> bool {
        self.format == "binary"
    }

    /// Whether the dump holds rows of this table to load: older dumps
    /// marked a table without columns as having data but stored none.
    pub fn stored(&self) -> bool {
        self.has_data && (self.file.is_some() || !self.parts.is_empty() || self.offset.is_some())
    }

    /// The rows column of a table listing: the count, or `-` when the
    /// dump holds no rows of it.
    pub fn rows_cell(&self) -> String {
        if self.has_data {
            self.rows.to_string()
        } else {
            "-".into()
        }
    }

    /// The pieces a table's rows are stored in: its parts, or the table's
    /// one file (or script range) as a single part.
    pub fn pieces(&self) -> Vec<Part> {
        if !self.parts.is_empty() {
            return self.parts.clone();
        }
        vec![self.total()]
    }

    /// The table's rows as one piece: the totals over its parts.
    pub fn total(&self) -> Part {
        Part {
            file: self.file.clone(),
            rows: self.rows,
            bytes: self.bytes,
            compressed_bytes: self.compressed_bytes,
            checksum: self.checksum.clone(),
        }
    }
}

/// A SQL-format dump's header line as read: the manifest, and the plan's
/// text (checked against `plan_checksum` before it is parsed).
#[derive(Deserialize)]
struct SqlHeader<'a> {
    manifest: Manifest,
    #[serde(borrow)]
    plan: &'a serde_json::value::RawValue,
}

/// The checksum of small text the dump keeps whole (schema files, the
/// plan in a script's header): the form table data uses.
pub fn text_checksum(data: &[u8]) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(data);
    blocks::checksum_text(&h)
}

/// An archive opened for reading.
pub struct Archive {
    pub path: PathBuf,
    pub format: ArchiveFormat,
    pub manifest: Manifest,
    pub plan: SchemaPlan,
    /// Compression of the data (dir) or of the whole script (sql).
    pub codec: Codec,
    /// SQL format: length of the header line, with its newline.
    pub header_len: u64,
    /// What opening found damaged in the schema the dump holds (its file
    /// or header does not match the manifest's checksum): `verify
    /// --input` lists it, `restore` refuses the dump. The plan is then
    /// left empty, unparsed.
    pub problems: Vec<String>,
}

impl Archive {
    /// Open a dump: a directory with `manifest.json`, or a SQL script that
    /// pgbarge wrote. Anything else is a usage error that says what it is.
    pub fn open(path: &Path) -> crate::Result<Archive> {
        let archive = Self::read_parts(path)?;
        // The statements are run on a target (and a SQL dump's by psql):
        // each must be one statement, as pgbarge writes them.
        if let Some(why) = archive.plan.not_one_statement() {
            return Err(damaged(path, &why));
        }
        Ok(archive)
    }

    fn read_parts(path: &Path) -> crate::Result<Archive> {
        let meta = std::fs::metadata(path).map_err(|e| {
            crate::Error::usage(format!("cannot read dump {}: {e}", path.display()))
        })?;
        if meta.is_dir() {
            let mpath = path.join("manifest.json");
            let text = std::fs::read(&mpath).map_err(|e| {
                crate::Error::usage(format!(
                    "{} is not a pgbarge dump: cannot read {}: {e}",
                    path.display(),
                    mpath.display()
                ))
            })?;
            let manifest = parse_manifest(&text, &mpath)?;
            untrusted::check_manifest(&manifest, Some(path)).map_err(|e| damaged(path, &e))?;
            let codec = Codec::parse(&manifest.compression).map_err(|e| {
                crate::Error::usage(format!("{}: compression {e}", mpath.display()))
            })?;
            let spath = path.join("schema.json");
            let stext = std::fs::read(&spath).map_err(|e| {
                crate::Error::usage(format!(
                    "dump {} is incomplete: cannot read {}: {e}",
                    path.display(),
                    spath.display()
                ))
            })?;
            let listed = manifest.files.iter().find(|f| f.path == "schema.json");
            let mut problems = Vec::new();
            let plan = match listed.map(|f| (f, text_checksum(&stext))) {
                Some((f, sum)) if sum == f.checksum => {
                    serde_json::from_slice(&stext).map_err(|e| {
                        crate::Error::usage(format!("{} is damaged: {e}", spath.display()))
                    })?
                }
                Some((f, sum)) => {
                    problems.push(format!(
                        "schema.json: checksum {sum} differs from the manifest's {}",
                        f.checksum
                    ));
                    SchemaPlan::default()
                }
                None => return Err(damaged(path, "the manifest lists no schema.json")),
            };
            Ok(Archive {
                path: path.to_path_buf(),
                format: ArchiveFormat::Dir,
                manifest,
                plan,
                codec,
                header_len: 0,
                problems,
            })
        } else {
            let codec = Codec::from_path(path);
            let line = script::read_header_line(path, codec)?;
            let json = line.strip_prefix(SQL_HEADER).ok_or_else(|| {
                crate::Error::usage(format!(
                    "{} is not a pgbarge dump (no pgbarge header on its first line{})",
                    path.display(),
                    match codec {
                        Codec::None => "",
                        _ => ", after decompression",
                    }
                ))
            })?;
            check_version(json.as_bytes(), path, true)?;
            let header: SqlHeader = serde_json::from_str(json.trim_end()).map_err(|e| {
                crate::Error::usage(format!("{}: damaged header: {e}", path.display()))
            })?;
            let manifest = header.manifest;
            untrusted::check_manifest(&manifest, None).map_err(|e| damaged(path, &e))?;
            let raw = header.plan.get();
            let mut problems = Vec::new();
            let plan = match &manifest.plan_checksum {
                Some(want) if *want != text_checksum(raw.as_bytes()) => {
                    problems.push(format!(
                        "the schema in the header line: checksum {} differs from the \
                         manifest's {want}",
                        text_checksum(raw.as_bytes())
                    ));
                    SchemaPlan::default()
                }
                _ => serde_json::from_str(raw).map_err(|e| {
                    crate::Error::usage(format!("{}: damaged header: {e}", path.display()))
                })?,
            };
            Ok(Archive {
                path: path.to_path_buf(),
                format: ArchiveFormat::Sql,
                header_len: line.len() as u64,
                manifest,
                plan,
                codec,
                problems,
            })
        }
    }
}

/// A manifest that names what no dump writes: exit 2, before anything
/// else is read.
fn damaged(path: &Path, why: &str) -> crate::Error {
    crate::Error::usage(format!(
        "dump {} is damaged: {why}; it cannot be used (`pgbarge verify --input` checks a dump)",
        path.display()
    ))
}

/// The format and version checks come first, so a dump from a newer
/// pgbarge is refused by name instead of failing on an unknown field.
fn check_version(text: &[u8], path: &Path, nested: bool) -> crate::Result<()> {
    let v: serde_json::Value = serde_json::from_slice(text).map_err(|e| {
        crate::Error::usage(format!(
            "{} is not a pgbarge dump manifest: {e}",
            path.display()
        ))
    })?;
    let m = if nested { &v["manifest"] } else { &v };
    if m["format"].as_str() != Some(FORMAT_NAME) {
        return Err(crate::Error::usage(format!(
            "{} is not a pgbarge dump manifest (no \"format\": \"{FORMAT_NAME}\")",
            path.display()
        )));
    }
    match m["format_version"].as_u64() {
        Some(n) if (OLDEST_FORMAT_VERSION as u64..=FORMAT_VERSION as u64).contains(&n) => Ok(()),
        Some(n) if n > FORMAT_VERSION as u64 => Err(crate::Error::usage(format!(
            "{} was written by a newer pgbarge (archive format {n}; this pgbarge {} reads \
             format {FORMAT_VERSION}); restore it with a newer pgbarge",
            path.display(),
            env!("CARGO_PKG_VERSION")
        ))),
        _ => Err(crate::Error::usage(format!(
            "{}: unknown archive format version {}",
            path.display(),
            m["format_version"]
        ))),
    }
}

fn parse_manifest(text: &[u8], path: &Path) -> crate::Result<Manifest> {
    check_version(text, path, false)?;
    serde_json::from_slice(text)
        .map_err(|e| crate::Error::usage(format!("{} is damaged: {e}", path.display())))
}
