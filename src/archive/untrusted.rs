//! An archive is untrusted input: what its manifest may say.
//!
//! `Archive::open` runs these checks before anything is read past the
//! manifest or written anywhere. A manifest that fails them is a damaged
//! dump (a usage error, exit 2), named with the entry and the reason:
//! - every path is relative, stays inside the dump (no `..`, no absolute
//!   path, no symbolic link on the way) and names a regular file of the
//!   size the manifest gives, in the place the dump writes such files
//!   (schema files at the top, table data under `data/`), each once;
//! - every value that reaches SQL is one pgbarge writes: a COPY format of
//!   `text` or `binary`, a column list of quoted identifiers;
//! - a SQL script's row ranges follow each other without overlapping.

use std::collections::HashSet;
use std::path::{Component, Path};

use super::{Manifest, TableEntry};
use crate::ddl::lexer::{tokenize, Kind};

/// Where the dump writes its files.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// `schema.json` and its kin, at the top of the dump.
    Top,
    /// Table data, in `data/`.
    Data,
}

/// Check a manifest; `root` is the dump directory (dir format) or `None`
/// (SQL format, whose rows are ranges of the script).
pub fn check_manifest(m: &Manifest, root: Option<&Path>) -> Result<(), String> {
    let mut seen = HashSet::new();
    if let Some(root) = root {
        if !m.files.iter().any(|f| f.path == "schema.json") {
            return Err("the manifest lists no schema.json".into());
        }
        for f in &m.files {
            check_file(root, &f.path, Place::Top, Some(f.bytes), &mut seen)?;
        }
    }
    if let Some(lo) = &m.large_objects {
        if !super::lobj::is_entry(lo) {
            return Err("its large objects' entry is not one pgbarge writes".into());
        }
        if let Some(root) = root {
            match (&lo.file, lo.offset) {
                (Some(file), None) => check_file(root, file, Place::Data, None, &mut seen)
                    .map_err(|e| format!("large objects: {e}"))?,
                _ => return Err("large objects: not one file in a directory dump".into()),
            }
        } else if lo.offset.is_none() {
            return Err("large objects: no place in the script".into());
        }
    }
    for t in &m.tables {
        check_table(t).map_err(|e| format!("table {}: {e}", shown(t)))?;
        let Some(root) = root else { continue };
        if t.offset.is_some() {
            return Err(format!(
                "table {}: a row offset in a directory dump",
                shown(t)
            ));
        }
        for p in t.pieces() {
            if let Some(file) = &p.file {
                check_file(root, file, Place::Data, None, &mut seen)
                    .map_err(|e| format!("table {}: {e}", shown(t)))?;
            } else if t.has_data && !t.columns.trim().is_empty() {
                // (Dumps before 0.1 of zero-column tables stored no file.)
                return Err(format!("table {}: rows without a file", shown(t)));
            }
        }
    }
    if root.is_none() {
        let all: Vec<&TableEntry> = m.tables.iter().chain(&m.large_objects).collect();
        check_ranges(&all)?;
    }
    Ok(())
}

fn check_table(t: &TableEntry) -> Result<(), String> {
    if !matches!(t.format.as_str(), "text" | "binary") {
        return Err(format!(
            "unknown COPY format {:?} (a dump holds text or binary)",
            t.format
        ));
    }
    if !is_column_list(&t.columns) {
        return Err("its column list is not a list of quoted names".into());
    }
    Ok(())
}

/// A table's name as an error shows it: no control characters.
fn shown(t: &TableEntry) -> String {
    crate::ddl::quote::comment_text(&t.name.to_string())
}

/// `"a", "b"`: quoted identifiers separated by commas, nothing else.
pub fn is_column_list(s: &str) -> bool {
    let toks: Vec<Kind> = tokenize(s)
        .iter()
        .filter(|t| t.kind != Kind::Space)
        .map(|t| t.kind)
        .collect();
    if toks.is_empty() {
        return true;
    }
    toks.iter().enumerate().all(|(i, k)| {
        if i % 2 == 0 {
            *k == Kind::QuotedIdent
        } else {
            *k == Kind::Comma
        }
    }) && toks.len() % 2 == 1
        && tokenize(s)
            .iter()
            .filter(|t| t.kind == Kind::QuotedIdent)
            .all(|t| closed_quote(t.text))
}

/// `"..."` with every inner quote doubled (the lexer also returns an
/// unterminated one, running to the end).
fn closed_quote(t: &str) -> bool {
    t.len() >= 2 && t.ends_with('"') && !t[1..t.len() - 1].replace("\"\"", "").contains('"')
}

/// A relative path of plain names, in its place, naming a regular file
/// (not a link, device or directory) of the given size, seen once.
fn check_file(
    root: &Path,
    rel: &str,
    place: Place,
    size: Option<u64>,
    seen: &mut HashSet<String>,
) -> Result<(), String> {
    let path = Path::new(rel);
    let names: Option<Vec<&str>> = path
        .components()
        .map(|c| match c {
            Component::Normal(n) => n.to_str(),
            _ => None,
        })
        .collect();
    let names = names.unwrap_or_default();
    let placed = match place {
        Place::Top => names.len() == 1,
        Place::Data => names.len() == 2 && names[0] == "data",
    };
    let shown = crate::ddl::quote::comment_text(rel);
    if names.is_empty() || !placed || rel.contains('\\') || rel.ends_with('/') {
        return Err(format!(
            "file \"{shown}\" is not a path the dump writes ({})",
            match place {
                Place::Top => "a file name at the top of the dump",
                Place::Data => "data/ and a file name",
            }
        ));
    }
    if !seen.insert(rel.to_string()) {
        return Err(format!("file \"{shown}\" is named twice"));
    }
    // Each step on the way must be what the dump made: no link may lead
    // out of it.
    let mut at = root.to_path_buf();
    for (i, n) in names.iter().enumerate() {
        at.push(n);
        let meta = std::fs::symlink_metadata(&at)
            .map_err(|e| format!("file \"{shown}\" cannot be read: {e}"))?;
        let last = i + 1 == names.len();
        let fits = if last {
            meta.file_type().is_file()
        } else {
            meta.file_type().is_dir()
        };
        if !fits {
            return Err(format!(
                "file \"{shown}\" is not a regular file inside the dump (a link, a device or a \
                 directory)"
            ));
        }
        if let (true, Some(want)) = (last, size) {
            if meta.len() != want {
                return Err(format!(
                    "file \"{shown}\" holds {} bytes, the manifest says {want}",
                    meta.len()
                ));
            }
        }
    }
    Ok(())
}

/// A SQL script's tables: their row ranges in order, none overlapping,
/// none past what a file can hold.
fn check_ranges(tables: &[&TableEntry]) -> Result<(), String> {
    let mut end = 0u64;
    for t in tables {
        let Some(start) = t.offset else {
            continue;
        };
        let stop = start
            .checked_add(t.bytes)
            .filter(|&s| start >= end && s < (1 << 62))
            .ok_or_else(|| {
                format!(
                    "table {}: its rows' place in the script overlaps another table's or lies \
                     past any file",
                    shown(t)
                )
            })?;
        end = stop;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_lists() {
        assert!(is_column_list(r#""a", "b""c""#));
        assert!(is_column_list(r#""a""#));
        assert!(is_column_list(""));
        assert!(!is_column_list(r#""a") FROM STDIN; DROP TABLE x; --"#));
        assert!(!is_column_list("a"));
        assert!(!is_column_list(r#""a",,"b""#));
        assert!(!is_column_list(r#""a","#));
        assert!(!is_column_list(r#""a"#));
        assert!(!is_column_list(r#""a"""#));
    }

    #[test]
    fn paths_stay_inside_the_dump() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("data")).unwrap();
        std::fs::write(root.join("data/00001.copy.gz"), b"x").unwrap();
        std::fs::write(root.join("schema.json"), b"{}").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("data/link")).unwrap();
        let ok = |rel: &str, place| check_file(root, rel, place, None, &mut HashSet::new());
        assert!(ok("data/00001.copy.gz", Place::Data).is_ok());
        assert!(ok("schema.json", Place::Top).is_ok());
        for bad in [
            "../../../../etc/passwd",
            "/etc/passwd",
            "/dev/zero",
            "data/../schema.json",
            "data/link",
            "data",
            "data/",
            "schema.json",
            "./data/00001.copy.gz",
            "",
        ] {
            assert!(ok(bad, Place::Data).is_err(), "{bad}");
        }
        assert!(ok("data/00001.copy.gz", Place::Top).is_err());
        let mut seen = HashSet::new();
        assert!(check_file(root, "schema.json", Place::Top, Some(2), &mut seen).is_ok());
        assert!(check_file(root, "schema.json", Place::Top, Some(2), &mut seen).is_err());
        let e = check_file(
            root,
            "schema.json",
            Place::Top,
            Some(9),
            &mut HashSet::new(),
        );
        assert!(e.unwrap_err().contains("holds 2 bytes"));
    }
}
