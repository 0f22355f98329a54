//! Large objects in a dump.
//!
//! A dump keeps them as the rows of one more COPY stream, `(lo, off,
//! data)`: each object's bytes in chunks at their offsets, every object
//! with a row at offset 0 (an empty object has just that row, with no
//! bytes). The stream is stored, compressed and checksummed as a table's
//! rows are (`Manifest::large_objects`; `data/large-objects.copy` in a
//! directory dump, a `COPY` block in a SQL script), so `verify --input`
//! checks it like any table.
//!
//! Restoring loads the stream into a temporary table and creates the
//! objects from it, under their source oids, in one transaction with the
//! run's record of it: a target gets all of them or none. A SQL script
//! does the same in psql (`CREATE TABLE pg_temp...`, `COPY`, two
//! `SELECT`s). Their owners, grants and comments are plan statements
//! that run after, as in a copy.

use std::path::Path;

use anyhow::anyhow;
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_postgres::Client;

use super::blocks::BlockWriter;
use super::{Codec, TableEntry};
use crate::catalog::QualName;
use crate::conn::Session;
use crate::error::describe_pg;
use crate::progress::TableProgress;
use crate::{Error, Result};

/// The temporary table the rows load into.
const TABLE: &str = "pgbarge_large_objects";
/// Its columns, as the COPY lists them.
const COLUMNS: &str = "lo, off, data";
/// The data file of a directory dump (before the codec's suffix).
const FILE: &str = "data/large-objects.copy";
/// The run-state step that records the large objects as restored.
pub const STEP: &str = "-- pgbarge: large objects from the dump";

/// Create the temporary table (SQL scripts: it lives for psql's session).
pub fn create_table_sql() -> String {
    format!(
        "CREATE TABLE pg_temp.{TABLE} (lo pg_catalog.oid, off pg_catalog.int8, data pg_catalog.bytea)"
    )
}

/// Create every object from the loaded rows, then fill them. Counts keep
/// psql's output to two lines.
pub fn create_objects_sql() -> String {
    format!(
        "SELECT pg_catalog.count(pg_catalog.lo_create(lo)) FROM pg_temp.{TABLE} WHERE off = 0;\n\
         SELECT pg_catalog.count(pg_catalog.lo_put(lo, off, data)) FROM pg_temp.{TABLE} \
         WHERE pg_catalog.length(data) > 0;\n\
         DROP TABLE pg_temp.{TABLE}"
    )
}

/// The entry as pgbarge writes it: restore and the manifest check use
/// these fixed names and never the manifest's own.
pub fn entry(codec: Codec) -> TableEntry {
    TableEntry {
        name: QualName::new("pg_temp", TABLE),
        columns: COLUMNS.into(),
        has_data: true,
        format: "text".into(),
        rows: 0,
        bytes: 0,
        compressed_bytes: 0,
        checksum: String::new(),
        row_sum: None,
        file: Some(format!("{FILE}{}", codec.suffix())),
        offset: None,
        parts: Vec::new(),
        snapshot: None,
        statistics: None,
    }
}

/// Whether a manifest's entry is one pgbarge writes for large objects.
pub fn is_entry(t: &TableEntry) -> bool {
    t.name == QualName::new("pg_temp", TABLE)
        && t.columns == COLUMNS
        && t.format == "text"
        && t.has_data
        && t.parts.is_empty()
}

/// One row of the stream: `lo \t off \t \\x<hex> \n` (the bytea's hex
/// form, its backslash escaped as COPY text wants).
fn row(oid: u32, off: i64, data: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(data.len() * 2 + 32);
    out.extend_from_slice(format!("{oid}\t{off}\t\\\\x").as_bytes());
    for b in data {
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 15) as usize]);
    }
    out.push(b'\n');
    out
}

/// Write the large objects `oids`, read from `src` (in the dump's
/// snapshot), under `work`; the entry for the manifest, and the objects'
/// bytes.
pub async fn dump(
    src: &Client,
    oids: &[u32],
    work: &Path,
    codec: Codec,
) -> Result<(TableEntry, u64)> {
    let mut e = entry(codec);
    let file = e.file.clone().unwrap_or_default();
    let path = work.join(&file);
    let io = |e: std::io::Error| Error::Runtime(anyhow!("cannot write {}: {e}", path.display()));
    // An interrupted run may have left them half-written: a resumed
    // dump reads them again, whole.
    let _ = std::fs::remove_file(&path);
    let mut w = BlockWriter::create(&path, codec).map_err(io)?;
    let (mut rows, mut bytes) = (0u64, 0u64);
    for &oid in oids {
        let mut off = 0i64;
        loop {
            let data = crate::transfer::lobj::read_chunk(src, oid, off)
                .await
                .map_err(Error::Runtime)?;
            // Offset 0 always has a row: it creates the object.
            if off == 0 || !data.is_empty() {
                w.write(&row(oid, off, &data)).await.map_err(io)?;
                rows += 1;
                bytes += data.len() as u64;
            }
            if !crate::transfer::lobj::more_after(&data) {
                break;
            }
            off += data.len() as i64;
        }
        crate::stop::check()?;
    }
    let (done, sync) = w.finish_then_sync().await.map_err(io)?;
    sync.await
        .map_err(|e| Error::Runtime(anyhow!("{e}")))?
        .map_err(io)?;
    e.rows = rows;
    e.bytes = done.bytes;
    e.compressed_bytes = done.compressed_bytes;
    e.checksum = done.checksum;
    Ok((e, bytes))
}

/// Load the stream (checked against the entry as a table's rows are)
/// and create the objects from it, with `record` (the run's step), in
/// one transaction; returns the stream's rows.
pub async fn restore(
    dst: &mut Session,
    entry: &TableEntry,
    rx: mpsc::Receiver<Bytes>,
    tp: &TableProgress,
    record: Option<String>,
) -> anyhow::Result<u64> {
    // The manifest's sizes and checksum, never its names.
    let fixed = TableEntry {
        file: entry.file.clone(),
        offset: entry.offset,
        rows: entry.rows,
        bytes: entry.bytes,
        compressed_bytes: entry.compressed_bytes,
        checksum: entry.checksum.clone(),
        ..self::entry(Codec::None)
    };
    let pg = |what: &str, e: tokio_postgres::Error| anyhow!("{what}: {}", describe_pg(&e));
    let tx = dst
        .client
        .transaction()
        .await
        .map_err(|e| pg("target", e))?;
    tx.batch_execute(&format!("{} ON COMMIT DROP", create_table_sql()))
        .await
        .map_err(|e| pg("creating the large objects' table on the target", e))?;
    let rows = super::restore::copy_part(&tx, &fixed, &fixed.total(), false, rx, tp).await?;
    tx.batch_execute(&create_objects_sql())
        .await
        .map_err(|e| pg("creating the large objects on the target", e))?;
    if let Some(sql) = record {
        tx.batch_execute(&sql)
            .await
            .map_err(|e| pg("recording the large objects as restored", e))?;
    }
    tx.commit()
        .await
        .map_err(|e| pg("committing the large objects on the target", e))?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_copy_text_of_bytea_hex() {
        assert_eq!(row(7, 0, b""), b"7\t0\t\\\\x\n");
        assert_eq!(
            row(90001, 1048576, &[0, 0xab, b'\n']),
            b"90001\t1048576\t\\\\x00ab0a\n"
        );
    }

    #[test]
    fn only_the_entry_pgbarge_writes_is_taken() {
        let e = entry(Codec::None);
        assert!(is_entry(&e));
        for bad in [
            TableEntry {
                name: QualName::new("public", TABLE),
                ..e.clone()
            },
            TableEntry {
                columns: "lo, off, data); DROP TABLE x; --".into(),
                ..e.clone()
            },
            TableEntry {
                format: "binary".into(),
                ..e.clone()
            },
        ] {
            assert!(!is_entry(&bad));
        }
    }
}
