//! `pgbarge dump`: the source's schema and rows, from one snapshot, into
//! an archive.
//!
//! Everything is written under a hidden working name beside the output
//! and renamed into place only when complete, so an interrupted or failed
//! dump never looks like a dump. A journal in the working copy lists each
//! table whose files are durable: when a dump fails or is interrupted
//! after some tables, the working copy is kept for `--resume`, which
//! reads only the other tables (in a new snapshot, recorded per table in
//! the manifest); otherwise it is removed.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::anyhow;
use futures_util::{pin_mut, StreamExt};
use tokio::task::JoinSet;

use super::blocks::{self, checksum_text, BlockWriter};
use super::script;
use super::{
    ArchiveFormat, Codec, FileEntry, Manifest, Part, Selection, SourceInfo, TableEntry,
    FORMAT_NAME, FORMAT_VERSION, FORMAT_VERSION_WITHOUT_LARGE_OBJECTS, SQL_HEADER,
};
use crate::catalog::types::TypeCatalog;
use crate::catalog::{self, QualName};
use crate::conn::{self, Role, Session};
use crate::error::describe_pg;
use crate::progress::{Mode, Progress};
use crate::select::{self, Patterns};
use crate::transfer::framing::RowSum;
use crate::transfer::framing::{copy_statement, Direction};
use crate::transfer::{self, schema};
use crate::{Error, Result};
use xxhash_rust::xxh3::Xxh3;

#[derive(Debug, Clone)]
pub struct DumpSettings {
    pub source: conn::Endpoint,
    pub output: PathBuf,
    pub format: ArchiveFormat,
    pub codec: Codec,
    pub force: bool,
    pub patterns: Patterns,
    pub schema_map: Vec<(String, String)>,
    pub jobs: usize,
    pub no_snapshot: bool,
    /// Binary COPY for tables whose types allow it portably (dir format).
    pub binary_data: bool,
    /// Dir format: a table's rows go into another file after this many
    /// uncompressed bytes.
    pub part_bytes: u64,
    /// Continue the unfinished dump of `output`.
    pub resume: bool,
    pub quiet: bool,
    /// `--report`: where the JSON run report goes.
    pub report: Option<PathBuf>,
}

/// What a finished dump holds: the summary, and `--report`'s JSON.
#[derive(serde::Serialize)]
pub struct DumpReport {
    pub tool: &'static str,
    pub version: &'static str,
    pub command: &'static str,
    pub output: PathBuf,
    /// Bytes on disk.
    pub size: u64,
    pub seconds: f64,
    pub warnings: Vec<String>,
    pub ok: bool,
    pub manifest: Manifest,
}

/// The working copy beside the output: when the dump ends without
/// completing, it is kept if its journal lists a finished table (for
/// `--resume`, and said so), else removed.
struct Partial {
    path: PathBuf,
    quiet: bool,
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.path.exists() {
            return;
        }
        match read_journal(&self.path) {
            Ok((_, done)) if !done.is_empty() => {
                if !self.quiet {
                    eprintln!(
                        "the unfinished dump is kept at {} ({} tables written): the same \
                         command with --resume continues it; a dump without --resume \
                         removes it",
                        self.path.display(),
                        done.len()
                    );
                }
            }
            _ => {
                let _ = std::fs::remove_dir_all(&self.path);
            }
        }
    }
}

/// The journal of a dump in progress (in its working copy): a header
/// line, then one line per table whose files are durable.
const JOURNAL: &str = "journal.jsonl";

#[derive(serde::Serialize, serde::Deserialize)]
struct JournalHead {
    /// What the dump does (`runstate::plan_digest`): a resume must match.
    digest: String,
}

/// Appends to the journal, each line made durable before it counts.
struct Journal(Mutex<std::fs::File>);

impl Journal {
    fn create(work: &Path, head: &JournalHead) -> std::io::Result<Journal> {
        use std::io::Write;
        let mut f = std::fs::File::create(work.join(JOURNAL))?;
        writeln!(
            f,
            "{}",
            serde_json::to_string(head).map_err(std::io::Error::other)?
        )?;
        f.sync_data()?;
        Ok(Journal(Mutex::new(f)))
    }

    fn append_to(work: &Path) -> std::io::Result<Journal> {
        let f = std::fs::OpenOptions::new()
            .append(true)
            .open(work.join(JOURNAL))?;
        Ok(Journal(Mutex::new(f)))
    }

    fn add(&self, t: &TableEntry) -> std::io::Result<()> {
        use std::io::Write;
        let line = serde_json::to_string(t).map_err(std::io::Error::other)?;
        let mut f = self.0.lock().unwrap_or_else(|p| p.into_inner());
        writeln!(f, "{line}")?;
        f.sync_data()
    }
}

/// The journal's header and finished tables. A line cut short by a kill
/// (the last one) is not a finished table.
fn read_journal(work: &Path) -> std::io::Result<(JournalHead, Vec<TableEntry>)> {
    let text = std::fs::read_to_string(work.join(JOURNAL))?;
    let mut lines = text.lines();
    let head: JournalHead =
        serde_json::from_str(lines.next().unwrap_or_default()).map_err(std::io::Error::other)?;
    let done = lines
        .map_while(|l| serde_json::from_str::<TableEntry>(l).ok())
        .collect();
    Ok((head, done))
}

/// Keep the journal's tables whose files are all there at their written
/// size; returns the indexes of the entries taken over. Data files of
/// other tables (cut short) are removed.
fn take_over(
    work: &Path,
    entries: &mut [TableEntry],
    done: Vec<TableEntry>,
) -> std::collections::HashSet<usize> {
    let files = |t: &TableEntry| -> Vec<(String, u64)> {
        if t.parts.is_empty() {
            t.file
                .iter()
                .map(|f| (f.clone(), t.compressed_bytes))
                .collect()
        } else {
            t.parts
                .iter()
                .filter_map(|p| Some((p.file.clone()?, p.compressed_bytes)))
                .collect()
        }
    };
    let mut kept = std::collections::HashSet::new();
    let mut taken = std::collections::HashSet::new();
    for d in done {
        let Some(i) = entries.iter().position(|e| e.name == d.name && e.has_data) else {
            continue;
        };
        let e = &mut entries[i];
        let first = d
            .file
            .clone()
            .or_else(|| d.parts.first().and_then(|p| p.file.clone()));
        let intact = first == e.file
            && files(&d).iter().all(|(f, size)| {
                // Names come from a file: only plain relative data paths.
                f.starts_with("data/")
                    && !f.contains("..")
                    && std::fs::metadata(work.join(f)).is_ok_and(|m| m.len() == *size)
            });
        if intact {
            kept.extend(files(&d).into_iter().map(|(f, _)| f));
            *e = d;
            taken.insert(i);
        }
    }
    if let Ok(dir) = std::fs::read_dir(work.join("data")) {
        for f in dir.filter_map(|e| e.ok()) {
            let name = format!("data/{}", f.file_name().to_string_lossy());
            if !kept.contains(&name) {
                let _ = std::fs::remove_file(f.path());
            }
        }
    }
    taken
}

/// A SQL script's header, serialised from borrowed parts.
#[derive(serde::Serialize)]
struct SqlHeaderRef<'a> {
    manifest: &'a Manifest,
    /// The plan's own text: `manifest.plan_checksum` is its checksum.
    plan: &'a serde_json::value::RawValue,
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Runtime(anyhow!("{what} {}: {e}", path.display()))
}

/// Refuse to overwrite without `--force`, and refuse even with it to
/// replace something that is not a dump.
fn check_output(s: &DumpSettings) -> Result<()> {
    let out = &s.output;
    let Ok(meta) = std::fs::symlink_metadata(out) else {
        return Ok(());
    };
    if !s.force {
        return Err(Error::usage(format!(
            "{} already exists; pass --force to replace it, or choose another --output",
            out.display()
        )));
    }
    let looks_like_dump = if meta.is_dir() {
        out.join("manifest.json").is_file()
            || std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_none())
    } else {
        meta.is_file() && super::Archive::open(out).is_ok()
    };
    if !looks_like_dump {
        return Err(Error::usage(format!(
            "{} exists and is not a pgbarge dump; --force replaces only dumps. Remove it \
             yourself or choose another --output",
            out.display()
        )));
    }
    Ok(())
}

/// Work directories of dumps of `name` in `parent` whose process is gone
/// (on systems with /proc; elsewhere none is judged gone).
fn stale_partials(parent: &Path, name: &str) -> Vec<(PathBuf, u32)> {
    let prefix = format!(".{name}.pgbarge-partial-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    if !Path::new("/proc/self").exists() {
        return Vec::new();
    }
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let file = e.file_name().into_string().ok()?;
            let pid: u32 = file.strip_prefix(&prefix)?.parse().ok()?;
            let gone = !Path::new(&format!("/proc/{pid}")).exists();
            (gone && pid != std::process::id()).then(|| (e.path(), pid))
        })
        .collect()
}

pub async fn dump(s: &DumpSettings) -> Result<DumpReport> {
    let started = Instant::now();
    check_output(s)?;
    let mode = Mode::detect(s.quiet);
    let say = |m: &str| mode.say(m);
    let parent = match s.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = s
        .output
        .file_name()
        .ok_or_else(|| Error::usage(format!("--output {}: not a file name", s.output.display())))?
        .to_string_lossy()
        .into_owned();
    // A dump killed before it could clean up leaves its hidden work
    // directory: the next dump of the same output removes it and says so.
    let mut stale = stale_partials(&parent, &name);
    // --resume continues the newest that finished a table.
    let resume_from = if s.resume {
        stale.sort_by_key(|(d, _)| {
            std::fs::metadata(d.join(JOURNAL))
                .and_then(|m| m.modified())
                .ok()
        });
        let i = stale
            .iter()
            .rposition(|(d, _)| read_journal(d).is_ok_and(|(_, done)| !done.is_empty()));
        match i {
            Some(i) => Some(stale.remove(i).0),
            None => {
                say(&format!(
                    "--resume: no unfinished dump of {name} to continue; starting from the beginning"
                ));
                None
            }
        }
    } else {
        None
    };
    for (dir, pid) in stale {
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => say(&format!(
                "removed {}: an unfinished dump of {name} left it (process {pid} is gone)",
                dir.display()
            )),
            Err(e) => say(&format!(
                "warning: {} is left by an unfinished dump of {name} (process {pid} is gone) and \
                 could not be removed: {e}",
                dir.display()
            )),
        }
    }
    let work = parent.join(format!(".{name}.pgbarge-partial-{}", std::process::id()));
    match &resume_from {
        Some(old) => std::fs::rename(old, &work)
            .map_err(|e| io_error("cannot take over the unfinished dump", old, e))?,
        None => create_private_dir(&work)
            .map_err(|e| io_error("cannot create the dump beside", &s.output, e))?,
    }
    let partial = Partial {
        path: work.clone(),
        quiet: s.quiet,
    };

    let src = conn::connect(&s.source, Role::Source).await?;
    let info = src.server_info().await?;
    say(&info.describe("source", &s.source));
    let snapshot = transfer::export_snapshot(&src, s.no_snapshot).await?;
    // A second session in the snapshot reads part of the catalog beside
    // the first (an aid only: without it the reads share the first).
    let helper = match &snapshot {
        Some(id) => transfer::join_snapshot(&s.source, Some(id)).await.ok(),
        None => None,
    };
    let options = schema::PlanOptions {
        patterns: &s.patterns,
        schema_map: &s.schema_map,
        rewrite_function_bodies: false,
        no_owner: false,
        no_privileges: false,
        extension_schema: None,
        record_names: true,
        large_objects: true,
    };
    let all = catalog::read_tables(&src.client).await?;
    let schemas = catalog::read_schema_names(&src.client).await?;
    let mut plan = schema::plan_with(&options, &src, helper.as_ref(), &all, &schemas).await?;
    drop(helper);
    let sequences = schema::read_sequences(&src, &plan).await?;
    let notes: Vec<String> = plan.outside.iter().map(|o| o.not_in_dump()).collect();
    plan.warnings.extend(notes);
    for w in &plan.warnings {
        say(&format!("warning: {w}"));
    }

    let types = if s.binary_data {
        Some(
            TypeCatalog::read(&src.client)
                .await
                .map_err(|e| Error::Runtime(e.context("reading the source's types")))?,
        )
    } else {
        None
    };

    // The tables whose rows go in, biggest first.
    let chosen = select::select(&all, &schemas, &s.patterns).map_err(Error::Usage)?;
    let mut jobs: Vec<Job> = Vec::new();
    let mut entries: Vec<TableEntry> = Vec::new();
    for c in &chosen {
        let t = &all[c.index];
        if !t.has_storage() || t.extension_member {
            continue;
        }
        let stored: Vec<&catalog::Column> = t.columns.iter().filter(|c| !c.generated).collect();
        let columns: Vec<String> = stored
            .iter()
            .map(|c| catalog::quote_ident(&c.name))
            .collect();
        let binary = types.as_ref().is_some_and(|types| {
            stored
                .iter()
                .all(|c| types.dump_blocker(c.type_oid).is_none())
        });
        let target = QualName::new(
            crate::settings::map_schema(&s.schema_map, &t.name.schema),
            t.name.name.clone(),
        );
        let index = entries.len();
        entries.push(TableEntry {
            name: target,
            columns: columns.join(", "),
            has_data: c.copy_data,
            format: if binary { "binary" } else { "text" }.into(),
            rows: 0,
            bytes: 0,
            compressed_bytes: 0,
            checksum: String::new(),
            row_sum: None,
            file: None,
            offset: None,
            parts: Vec::new(),
            snapshot: None,
            statistics: None,
        });
        if c.copy_data {
            let file = format!("data/{:05}.copy{}", index + 1, s.codec.suffix());
            entries[index].file = Some(file);
            jobs.push(Job {
                index,
                source: t.name.clone(),
                est_rows: t.est_rows.max(0) as u64,
                est_bytes: t.bytes.max(0) as u64,
            });
        }
    }
    jobs.sort_by_key(|j| std::cmp::Reverse(j.est_bytes));
    // Planner statistics go with the rows, for restores into 18+.
    let sources: Vec<QualName> = jobs.iter().map(|j| j.source.clone()).collect();
    let mut stats = catalog::stats::read(&src.client, info.major(), &sources)
        .await
        .map_err(Error::Runtime)?;
    for j in &jobs {
        entries[j.index].statistics = stats.remove(&j.source);
    }
    let digest = crate::runstate::plan_digest(
        &[
            format!("{:?}", s.format),
            s.codec.to_string(),
            format!("{} {}", s.binary_data, s.part_bytes),
            format!("{:?}", s.patterns),
            format!("{:?}", s.schema_map),
        ],
        Some(&plan),
    );
    let journal = if resume_from.is_some() {
        let (head, done) =
            read_journal(&work).map_err(|e| io_error("cannot read the journal in", &work, e))?;
        if head.digest != digest {
            return Err(Error::usage(format!(
                "--resume: the unfinished dump of {name} was made with other options, or the \
                 source schema changed since; rerun it with the options it had, or dump \
                 without --resume to start over"
            )));
        }
        let taken = take_over(&work, &mut entries, done);
        let n = taken.len();
        jobs.retain(|j| !taken.contains(&j.index));
        say(&format!(
            "resuming the unfinished dump of {name}: {n} tables it wrote are kept; the other {} \
             are read now, in a new snapshot",
            jobs.len()
        ));
        Journal::append_to(&work).map_err(|e| io_error("cannot write", &work.join(JOURNAL), e))?
    } else {
        Journal::create(&work, &JournalHead { digest })
            .map_err(|e| io_error("cannot write", &work.join(JOURNAL), e))?
    };
    create_private_dir(&work.join("data"))
        .or_else(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Ok(())
            } else {
                Err(e)
            }
        })
        .map_err(|e| io_error("cannot create", &work.join("data"), e))?;
    say(&format!(
        "dumping {} with {} ({}, {})",
        crate::report::counted(jobs.len() as u64, "table"),
        crate::report::counted(s.jobs.min(jobs.len()).max(1) as u64, "job"),
        match s.format {
            ArchiveFormat::Dir => "directory",
            ArchiveFormat::Sql => "SQL script",
        },
        s.codec
    ));

    let progress = Progress::new(mode, jobs.len(), jobs.iter().map(|j| j.est_bytes).sum());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    let ticker = tokio::spawn(progress.clone().run_ticker(stop_rx));
    let entries = Arc::new(Mutex::new(entries));
    let journal = Arc::new(journal);
    let run = run_jobs(
        s,
        snapshot.as_deref(),
        jobs,
        &work,
        &entries,
        &progress,
        &journal,
    )
    .await;
    let _ = stop_tx.send(());
    let _ = ticker.await;
    run?;
    // Large objects last, in the same snapshot as the tables.
    let large_objects = if plan.large_objects.is_empty() {
        None
    } else {
        say(&format!(
            "dumping {} large objects",
            plan.large_objects.len()
        ));
        let t = Instant::now();
        let (e, bytes) =
            super::lobj::dump(&src.client, &plan.large_objects, &work, s.codec).await?;
        say(&format!(
            "dumped {} large objects, {} in {:.1}s",
            plan.large_objects.len(),
            indicatif::HumanBytes(bytes),
            t.elapsed().as_secs_f64()
        ));
        Some(e)
    };
    let _ = src.client.batch_execute("COMMIT").await;
    let mut entries = Arc::try_unwrap(entries)
        .map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
        .unwrap_or_else(|a| a.lock().unwrap_or_else(|p| p.into_inner()).clone());
    // Only tables read in another snapshot than this run's say which.
    for e in &mut entries {
        if e.snapshot == snapshot {
            e.snapshot = None;
        }
    }
    // Complete: the journal is not part of the dump.
    let _ = std::fs::remove_file(work.join(JOURNAL));

    let mut manifest = Manifest {
        format: FORMAT_NAME.into(),
        format_version: if large_objects.is_some() {
            FORMAT_VERSION
        } else {
            FORMAT_VERSION_WITHOUT_LARGE_OBJECTS
        },
        tool_version: env!("CARGO_PKG_VERSION").into(),
        created_unix: crate::report::unix_now(),
        layout: match s.format {
            ArchiveFormat::Dir => "dir",
            ArchiveFormat::Sql => "sql",
        }
        .into(),
        source: SourceInfo {
            url: s.source.redacted(),
            server_version: info.version.clone(),
        },
        snapshot,
        selection: Selection {
            schema: s.patterns.schema.clone(),
            exclude_schema: s.patterns.exclude_schema.clone(),
            table: s.patterns.table.clone(),
            exclude_table: s.patterns.exclude_table.clone(),
            exclude_table_data: s.patterns.exclude_table_data.clone(),
        },
        schema_map: s.schema_map.clone(),
        compression: s.codec.to_string(),
        data_format: if s.binary_data { "auto" } else { "text" }.into(),
        files: Vec::new(),
        tables: Vec::new(),
        sequences,
        plan_checksum: None,
        large_objects,
    };
    let pre = script::pre_data(&plan);
    let post = script::post_data(&plan, &manifest.sequences);
    let size = match s.format {
        ArchiveFormat::Dir => {
            let schema_json = serde_json::to_vec_pretty(&plan)
                .map_err(|e| Error::Runtime(anyhow!("serialising the schema: {e}")))?;
            for (file, data) in [
                ("schema.json", &schema_json[..]),
                ("pre-data.sql", pre.as_bytes()),
                ("post-data.sql", post.as_bytes()),
            ] {
                let w = blocks::write_small(&work.join(file), data)
                    .map_err(|e| io_error("cannot write", &work.join(file), e))?;
                manifest.files.push(FileEntry {
                    path: file.into(),
                    bytes: w.bytes,
                    checksum: w.checksum,
                });
            }
            manifest.tables = entries;
            let text = serde_json::to_vec_pretty(&manifest)
                .map_err(|e| Error::Runtime(anyhow!("serialising the manifest: {e}")))?;
            // Written last: a directory without it is no dump.
            blocks::write_small(&work.join("manifest.json"), &text)
                .map_err(|e| io_error("cannot write", &work.join("manifest.json"), e))?;
            sync_dir(&work);
            let size = dir_size(&work);
            replace(&work, &s.output)?;
            size
        }
        ArchiveFormat::Sql => {
            let file = work.join("dump");
            assemble_sql(
                &file,
                s.codec,
                &mut manifest,
                &mut entries,
                &plan,
                &pre,
                &post,
                &work,
            )?;
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            replace(&file, &s.output)?;
            size
        }
    };
    drop(partial);
    sync_dir(&parent);
    Ok(DumpReport {
        tool: "pgbarge",
        version: env!("CARGO_PKG_VERSION"),
        command: "dump",
        output: s.output.clone(),
        size,
        seconds: crate::report::round3(started.elapsed().as_secs_f64()),
        warnings: plan.warnings,
        ok: true,
        manifest,
    })
}

struct Job {
    index: usize,
    source: QualName,
    est_rows: u64,
    est_bytes: u64,
}

async fn run_jobs(
    s: &DumpSettings,
    snapshot: Option<&str>,
    jobs: Vec<Job>,
    work: &Path,
    entries: &Arc<Mutex<Vec<TableEntry>>>,
    progress: &Arc<Progress>,
    journal: &Arc<Journal>,
) -> Result<()> {
    let n = s.jobs.min(jobs.len());
    let mut sessions = Vec::new();
    for _ in 0..n {
        sessions.push(transfer::join_snapshot(&s.source, snapshot).await?);
    }
    let queue = Arc::new(Mutex::new(VecDeque::from(jobs)));
    let mut set = JoinSet::new();
    for src in sessions {
        let (queue, entries, progress) = (queue.clone(), entries.clone(), progress.clone());
        let journal = journal.clone();
        let snapshot = snapshot.map(str::to_string);
        let (work, codec) = (work.to_path_buf(), s.codec);
        // A SQL script holds each table as one COPY block.
        let part_bytes = match s.format {
            ArchiveFormat::Dir => s.part_bytes,
            ArchiveFormat::Sql => u64::MAX,
        };
        set.spawn(async move {
            loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                let Some(job) = next else { break };
                let (name, file, columns, binary) = {
                    let e = &entries.lock().unwrap_or_else(|p| p.into_inner())[job.index];
                    (
                        e.name.to_string(),
                        e.file.clone(),
                        e.columns.clone(),
                        e.binary(),
                    )
                };
                let file = file.unwrap_or_default();
                let tp = progress.start_table(&name, job.est_rows, job.est_bytes);
                let copy = TableRead {
                    table: &job.source,
                    columns: &columns,
                    binary,
                    part_bytes,
                };
                let r = dump_table(&src, &copy, &work, &file, codec, &tp).await;
                if r.is_err() {
                    progress.finish_table(&tp, "FAILED");
                }
                let d = r?;
                // The table's files are durable before the journal says
                // it is done.
                for (path, sync) in d.syncs {
                    sync.await
                        .map_err(std::io::Error::other)
                        .and_then(|r| r)
                        .map_err(|e| io_error("cannot write", &path, e))?;
                }
                let entry = {
                    let mut e = entries.lock().unwrap_or_else(|p| p.into_inner());
                    let t = &mut e[job.index];
                    t.rows = d.rows;
                    t.bytes = d.bytes;
                    t.compressed_bytes = d.compressed_bytes;
                    t.checksum = d.checksum;
                    t.row_sum = Some(d.row_sum);
                    t.snapshot = snapshot.clone();
                    if d.parts.len() > 1 {
                        t.file = None;
                        t.parts = d.parts;
                    }
                    t.clone()
                };
                journal
                    .add(&entry)
                    .map_err(|e| io_error("cannot write", &work.join(JOURNAL), e))?;
                // Said once it is durable and journaled.
                progress.finish_table(&tp, "dumped");
            }
            Ok::<_, Error>(())
        });
    }
    // Every table's files are durable (see above) before the manifest
    // says they are there.
    while let Some(r) = set.join_next().await {
        let r = r
            .map_err(|e| Error::Runtime(anyhow!("dump worker: {e}")))
            .and_then(|r| r);
        if let Err(e) = r {
            set.abort_all();
            return Err(e);
        }
    }
    Ok(())
}

/// What to read of one table.
struct TableRead<'a> {
    table: &'a QualName,
    columns: &'a str,
    binary: bool,
    /// Start another file once this many bytes are written.
    part_bytes: u64,
}

/// The 19-byte header of a binary COPY stream with no flags and no
/// extension, which starts every part after the first.
const BINARY_HEADER: &[u8; 19] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The trailer that ends a binary COPY stream.
const BINARY_TRAILER: &[u8; 2] = b"\xff\xff";

/// What one table's dump wrote: its parts, and the totals over them.
struct Dumped {
    rows: u64,
    bytes: u64,
    compressed_bytes: u64,
    /// Of all parts' contents in order.
    checksum: String,
    /// Order-independent, of the rows (`RowSum`).
    row_sum: String,
    parts: Vec<Part>,
    /// Each file's `fsync`, still running: the stream goes on to the next
    /// part or table meanwhile.
    syncs: Vec<(PathBuf, blocks::Sync)>,
}

/// One table's rows as COPY data into compressed files: `file`, and when
/// the rows exceed `part_bytes`, more parts beside it (`NAME.2.copy.gz`,
/// ...), each cut where a row ends and a whole COPY stream of its own.
async fn dump_table(
    src: &Session,
    copy: &TableRead<'_>,
    work: &Path,
    file: &str,
    codec: Codec,
    tp: &crate::progress::TableProgress,
) -> Result<Dumped> {
    let table = copy.table;
    let sql = copy_statement(&table.quoted(), copy.columns, copy.binary, Direction::Out);
    let stream = src
        .client
        .copy_out(&sql)
        .await
        .map_err(|e| Error::Runtime(anyhow!("source {table}: {}", describe_pg(&e))))?;
    pin_mut!(stream);
    let part_name = |n: usize| match n {
        1 => file.to_string(),
        n => {
            let stem = file
                .strip_suffix(&format!(".copy{}", codec.suffix()))
                .unwrap_or(file);
            format!("{stem}.{n}.copy{}", codec.suffix())
        }
    };
    let open = |name: &str| {
        let path = work.join(name);
        BlockWriter::create(&path, codec).map_err(|e| io_error("cannot create", &path, e))
    };
    let mut w = open(file)?;
    let mut parts: Vec<Part> = Vec::new();
    let mut syncs = Vec::new();
    let mut part_rows = 0u64;
    let mut hasher = Xxh3::new();
    let mut counter = RowSum::new(copy.binary);
    let mut seen = 0;
    let mut first = true;
    // Parts are cut only where the server's header is the plain one.
    let mut splittable = true;
    while let Some(msg) = crate::conn::within_stall(|| format!("source {table}"), stream.next())
        .await
        .map_err(Error::Runtime)?
    {
        let msg =
            msg.map_err(|e| Error::Runtime(anyhow!("source {table}: {}", describe_pg(&e))))?;
        if first && copy.binary {
            splittable = msg.starts_with(BINARY_HEADER);
        }
        first = false;
        let trailer_only = copy.binary && msg[..] == BINARY_TRAILER[..];
        if splittable
            && w.written() >= copy.part_bytes
            && counter.counter().at_row_end()
            && !trailer_only
        {
            // Close this part as a whole stream, start the next one.
            if copy.binary {
                hasher.update(BINARY_TRAILER);
                w.write(BINARY_TRAILER)
                    .await
                    .map_err(|e| io_error("cannot write", w.path(), e))?;
            }
            let name = part_name(parts.len() + 1);
            let (done, sync) = w
                .finish_then_sync()
                .await
                .map_err(|e| io_error("cannot write", &work.join(&name), e))?;
            syncs.push((work.join(&name), sync));
            parts.push(part(name, counter.rows() - part_rows, done));
            part_rows = counter.rows();
            w = open(&part_name(parts.len() + 1))?;
            if copy.binary {
                hasher.update(BINARY_HEADER);
                w.write(BINARY_HEADER)
                    .await
                    .map_err(|e| io_error("cannot write", w.path(), e))?;
            }
        }
        counter
            .feed(&msg)
            .map_err(|e| Error::Runtime(anyhow!("source {table}: {e}")))?;
        hasher.update(&msg);
        w.write(&msg)
            .await
            .map_err(|e| io_error("cannot write", w.path(), e))?;
        tp.add(msg.len() as u64, counter.rows() - seen);
        seen = counter.rows();
    }
    let (rows, row_sum) = counter
        .finish()
        .map_err(|e| Error::Runtime(anyhow!("source {table}: {e}")))?;
    let name = part_name(parts.len() + 1);
    let (done, sync) = w
        .finish_then_sync()
        .await
        .map_err(|e| io_error("cannot write", &work.join(&name), e))?;
    syncs.push((work.join(&name), sync));
    parts.push(part(name, rows - part_rows, done));
    Ok(Dumped {
        rows,
        bytes: parts.iter().map(|p| p.bytes).sum(),
        compressed_bytes: parts.iter().map(|p| p.compressed_bytes).sum(),
        checksum: checksum_text(&hasher),
        row_sum,
        parts,
        syncs,
    })
}

fn part(file: String, rows: u64, w: blocks::Written) -> Part {
    Part {
        file: Some(file),
        rows,
        bytes: w.bytes,
        compressed_bytes: w.compressed_bytes,
        checksum: w.checksum,
    }
}

/// The SQL script: the header line (manifest and plan), pre-data, each
/// table's COPY block, post-data. Table files are compressed already and
/// are copied in as they are: concatenated gzip members and zstd frames
/// are one stream to any decompressor.
#[allow(clippy::too_many_arguments)]
fn assemble_sql(
    file: &Path,
    codec: Codec,
    manifest: &mut Manifest,
    entries: &mut [TableEntry],
    plan: &schema::SchemaPlan,
    pre: &str,
    post: &str,
    work: &Path,
) -> Result<()> {
    use std::io::Write;
    // Offsets of each table's rows in the uncompressed script, counted
    // after the header line.
    let mut offset = pre.len() as u64;
    for t in entries.iter_mut() {
        if t.file.is_some() {
            offset += script::copy_header(t).len() as u64;
            t.offset = Some(offset);
            offset += t.bytes + script::COPY_END.len() as u64;
        }
    }
    if let Some(lo) = &mut manifest.large_objects {
        offset += script::large_objects_head(lo).len() as u64;
        lo.offset = Some(offset);
    }
    manifest.tables = entries.to_vec();
    let ser = |e: serde_json::Error| Error::Runtime(anyhow!("serialising the header: {e}"));
    let plan = serde_json::value::to_raw_value(plan).map_err(ser)?;
    manifest.plan_checksum = Some(super::text_checksum(plan.get().as_bytes()));
    let header_json = serde_json::to_string(&SqlHeaderRef {
        manifest,
        plan: &plan,
    })
    .map_err(ser)?;
    let werr = |e| io_error("cannot write", file, e);
    let f = blocks::create_private(file).map_err(werr)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, f);
    let small = |text: &str| codec.compress(text.as_bytes());
    out.write_all(&small(&format!("{SQL_HEADER}{header_json}\n")).map_err(werr)?)
        .map_err(werr)?;
    out.write_all(&small(pre).map_err(werr)?).map_err(werr)?;
    for t in entries.iter() {
        let Some(data) = &t.file else { continue };
        out.write_all(&small(&script::copy_header(t)).map_err(werr)?)
            .map_err(werr)?;
        let path = work.join(data);
        let mut f = std::fs::File::open(&path).map_err(|e| io_error("cannot read", &path, e))?;
        std::io::copy(&mut f, &mut out).map_err(werr)?;
        std::fs::remove_file(&path).map_err(|e| io_error("cannot remove", &path, e))?;
        out.write_all(&small(script::COPY_END).map_err(werr)?)
            .map_err(werr)?;
    }
    if let Some(lo) = &manifest.large_objects {
        out.write_all(&small(&script::large_objects_head(lo)).map_err(werr)?)
            .map_err(werr)?;
        let path = work.join(lo.file.as_deref().unwrap_or_default());
        let mut f = std::fs::File::open(&path).map_err(|e| io_error("cannot read", &path, e))?;
        std::io::copy(&mut f, &mut out).map_err(werr)?;
        std::fs::remove_file(&path).map_err(|e| io_error("cannot remove", &path, e))?;
        out.write_all(&small(&script::large_objects_tail()).map_err(werr)?)
            .map_err(werr)?;
    }
    out.write_all(&small(post).map_err(werr)?).map_err(werr)?;
    let f = out.into_inner().map_err(|e| werr(e.into_error()))?;
    f.sync_all().map_err(werr)?;
    Ok(())
}

fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(path)
}

/// Move the finished dump into place, replacing an older one (checked by
/// `check_output`) only now that the new one is complete.
fn replace(from: &Path, to: &Path) -> Result<()> {
    let old = to.with_file_name(format!(
        ".{}.pgbarge-old-{}",
        to.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let had_old = std::fs::symlink_metadata(to).is_ok();
    if had_old {
        std::fs::rename(to, &old).map_err(|e| io_error("cannot move aside the old", to, e))?;
    }
    if let Err(e) = std::fs::rename(from, to) {
        if had_old {
            let _ = std::fs::rename(&old, to);
        }
        return Err(io_error("cannot move the dump into place at", to, e));
    }
    if had_old {
        let _ = if std::fs::metadata(&old).is_ok_and(|m| m.is_dir()) {
            std::fs::remove_dir_all(&old)
        } else {
            std::fs::remove_file(&old)
        };
    }
    Ok(())
}

fn sync_dir(path: &Path) {
    if let Ok(d) = std::fs::File::open(path) {
        let _ = d.sync_all();
    }
}

fn dir_size(path: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}
