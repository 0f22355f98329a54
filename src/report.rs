//! The JSON run report written by `--report FILE`.
//!
//! Only redacted endpoints go in here. The file is written to a temporary
//! name beside the target and renamed, so a reader never sees half a report.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

/// Seconds since the Unix epoch, now (0 if the clock is before it).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Seconds rounded to milliseconds, for reports.
/// A count and its noun, singular for one: "1 table", "3 tables".
pub fn counted(n: impl Into<u64>, noun: &str) -> String {
    match n.into() {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[derive(Debug, Default, Serialize)]
pub struct EndpointReport {
    /// Connection URL without password.
    pub url: String,
    pub server_version: String,
    pub tls: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct TableReport {
    pub source: String,
    pub target: String,
    /// `ok`, `failed`, `skipped` (a parent table failed), `not-run`,
    /// `interrupted` (rolled back by Ctrl-C), `dropped` (loaded, then
    /// dropped when the run failed), or `data-excluded`.
    pub status: String,
    pub rows: u64,
    pub bytes: u64,
    pub format: String,
    pub format_reason: String,
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Each retry after a transient fault: why the attempt before failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retries: Vec<String>,
    /// Loaded by the interrupted run that this one resumed (in its
    /// snapshot), not by this run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub earlier: bool,
    /// How the target table got its planner statistics (schema copies
    /// and restores): `carried from the source` (PostgreSQL 18+ targets)
    /// or `ANALYZE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct SequenceReport {
    pub source: String,
    pub target: String,
    pub last_value: i64,
    pub is_called: bool,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct LinkReport {
    /// Round trip to the target, best of a few `SELECT 1`.
    pub rtt_ms: f64,
    pub network_bound: bool,
}

/// What `copy` created besides rows (not with `--data-only`).
#[derive(Debug, Default, Serialize, Clone)]
pub struct SchemaReport {
    /// Schemas, extensions, types, functions, sequences, tables, views.
    pub statements_before_rows: usize,
    pub keys_and_indexes: usize,
    /// Foreign keys, triggers, rules, policies, comments, refreshes.
    pub statements_after_rows: usize,
    /// Owner and privilege statements.
    pub access_statements: usize,
    pub sequences_set: usize,
    pub seconds_before_rows: f64,
    pub seconds_after_rows: f64,
    /// Large objects copied (after the rows), and their bytes.
    #[serde(skip_serializing_if = "is_zero")]
    pub large_objects: usize,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub large_object_bytes: u64,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Default, Serialize)]
pub struct RunReport {
    pub tool: String,
    pub version: String,
    pub command: String,
    pub started_unix: u64,
    pub seconds: f64,
    /// Seconds from the start until the rows began to move (the schema,
    /// its trial and the setup before them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_to_first_row: Option<f64>,
    pub source: EndpointReport,
    pub target: EndpointReport,
    pub snapshot: Option<String>,
    pub no_snapshot: bool,
    pub jobs: usize,
    pub format: String,
    pub foreign_keys: String,
    pub link: LinkReport,
    pub tables: Vec<TableReport>,
    pub sequences: Vec<SequenceReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<SchemaReport>,
    pub warnings: Vec<String>,
    pub total_rows: u64,
    pub total_bytes: u64,
    pub ok: bool,
    /// Stopped by Ctrl-C or SIGTERM.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// What the run left on the target when it did not complete (schema
    /// copies drop what they created; rows-only copies keep every table
    /// that committed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_on_target: Option<String>,
    /// Which unfinished run this one continued (`--resume`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed: Option<String>,
}

impl RunReport {
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        write_json(path, self)
    }
}

/// Check, before any work starts, that a report can be written at `path`
/// (its directory exists and takes a new file; the path is no directory),
/// so an hour's copy does not end without its report.
pub fn check_writable(path: &Path) -> crate::Result<()> {
    let bad = |why: String| {
        crate::Error::usage(format!(
            "--report {}: {why}; nothing was done",
            path.display()
        ))
    };
    if path.is_dir() {
        return Err(bad("it is a directory; give a file name".into()));
    }
    let name = path
        .file_name()
        .ok_or_else(|| bad("it names no file".into()))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(bad(format!("directory {} does not exist", dir.display())));
    }
    let probe = dir.join(format!(
        ".{}.check-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| bad(format!("cannot write in {}: {e}", dir.display())))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// `check_writable` for an optional path, passed through.
pub fn writable(path: Option<std::path::PathBuf>) -> crate::Result<Option<std::path::PathBuf>> {
    if let Some(p) = &path {
        check_writable(p)?;
    }
    Ok(path)
}

/// Write any report as pretty JSON to a temporary name, then rename it.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(value).context("serialising the report")?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("report path {} names no file", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&tmp, json).with_context(|| format!("writing report {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| {
        let _ = std::fs::remove_file(&tmp);
        format!("writing report {}", path.display())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular() {
        assert_eq!(super::counted(1u64, "table"), "1 table");
        assert_eq!(super::counted(0u64, "row"), "0 rows");
        assert_eq!(super::counted(3u32, "table"), "3 tables");
    }
}
