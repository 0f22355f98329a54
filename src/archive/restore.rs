//! `pgbarge restore`: a dump into a target, with the same conflict rules,
//! schema map and post-data building as a schema copy.
//!
//! Every table's rows are checked against the manifest while they load
//! (length, xxh3 checksum, row count) and committed only when they match;
//! a failed table fails the restore, and what the restore created is
//! dropped again.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::anyhow;
use bytes::Bytes;
use futures_util::SinkExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::blocks::{self, checksum_text};
use super::check::ScriptWalker;
use super::{Archive, ArchiveFormat, Part, TableEntry};
use crate::catalog::QualName;
use crate::conn::{self, Role, Session};
use crate::error::describe_pg;
use crate::progress::{Mode, Progress, TableProgress};
use crate::report::{EndpointReport, RunReport, TableReport};
use crate::runstate::{self, RunState};
use crate::transfer::framing::RowCounter;
use crate::transfer::framing::{copy_statement, Direction};
use crate::transfer::schema::{self, Builders};
use crate::{Error, Result};
use xxhash_rust::xxh3::Xxh3;

#[derive(Debug, Clone)]
pub struct RestoreSettings {
    pub input: PathBuf,
    pub target: conn::Endpoint,
    pub schema_map: Vec<(String, String)>,
    /// Tables (archive names, globs) whose rows are not loaded.
    pub exclude_table_data: Vec<String>,
    /// `--schema`, `--table` and their `--exclude` forms, over the dump's
    /// (archive) names.
    pub selection: crate::select::Patterns,
    pub jobs: usize,
    pub part_loads: crate::cli::PartLoads,
    pub clean: bool,
    pub yes: bool,
    pub dry_run: bool,
    /// Continue the unfinished restore recorded on the target.
    pub resume: bool,
    pub no_owner: bool,
    pub no_privileges: bool,
    pub quiet: bool,
    pub report: Option<PathBuf>,
}

/// A failure that is the dump's, not the target's: resuming cannot cure
/// it, so a restore that meets one undoes what it made.
#[derive(Debug)]
struct Damaged(String);

impl std::fmt::Display for Damaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Damaged {}

fn damaged(msg: String) -> anyhow::Error {
    anyhow::Error::new(Damaged(msg))
}

/// Pauses before each retry of a unit whose session died (as copy's).
const RETRY_PAUSES: [u64; 3] = [1, 4, 10];

/// Chunks in flight from a file reader to a COPY.
const DEPTH: usize = 8;

pub async fn restore(s: &RestoreSettings) -> Result<RunReport> {
    let started = Instant::now();
    let started_unix = crate::report::unix_now();
    let mode = Mode::detect(s.quiet);
    let say = |m: &str| mode.say(m);
    let mut archive = Archive::open(&s.input)?;
    let damage = super::check::schema_problems(&archive);
    if !damage.is_empty() {
        return Err(Error::usage(format!(
            "dump {} is damaged, so nothing was restored:\n  {}\n`pgbarge verify --input` \
             checks the whole dump",
            s.input.display(),
            damage.join("\n  ")
        )));
    }
    let mut plan = std::mem::take(&mut archive.plan);
    let manifest = archive.manifest.clone();
    let mut schemas: Vec<String> = plan.schemas.clone();
    schemas.extend(manifest.tables.iter().map(|t| t.name.schema.clone()));
    schemas.sort();
    schemas.dedup();
    for (from, _) in &s.schema_map {
        if !schemas.contains(from) {
            return Err(Error::usage(format!(
                "--schema-map: the dump has no schema \"{from}\" (it holds {})",
                schemas.join(", ")
            )));
        }
    }
    schema::check_map(&s.schema_map, &schemas)?;
    let left_out = select_from_dump(s, &manifest, &schemas, &mut plan)?;
    if s.no_owner {
        plan.drop_owners();
    }
    if s.no_privileges {
        plan.drop_privileges();
    }
    plan.remap(&s.schema_map);
    let map_name = |n: &QualName| {
        QualName::new(
            crate::settings::map_schema(&s.schema_map, &n.schema),
            n.name.clone(),
        )
    };
    let skip_data = globs(&s.exclude_table_data)?;
    let mut tables: Vec<TableEntry> = manifest
        .tables
        .iter()
        .filter(|t| !left_out.contains(&t.name))
        .cloned()
        .collect();
    for t in &mut tables {
        if skip_data.iter().any(|g| g.is_match(t.name.to_string())) {
            t.has_data = false;
            t.file = None;
            t.offset = None;
        }
        t.name = map_name(&t.name);
    }
    let mut sequences: Vec<schema::SequenceValue> = manifest
        .sequences
        .iter()
        .filter(|v| !left_out.contains(&v.sequence))
        .map(|v| schema::SequenceValue {
            sequence: map_name(&v.sequence),
            ..v.clone()
        })
        .collect();

    let mut dst = conn::connect(&s.target, Role::Target).await?;
    let info = dst.server_info().await?;
    info.refuse_standby(&s.target)?;
    let _locks = conn::locks::watch(&s.target, mode);
    schema::fit_to_target(&dst, &mut plan).await?;
    say(&format!(
        "dump: {} ({} format, {}, {}, from PostgreSQL {})",
        s.input.display(),
        manifest.layout,
        manifest.compression,
        crate::report::counted(manifest.tables.len() as u64, "table"),
        manifest.source.server_version
    ));
    say(&info.describe("target", &s.target));
    if let Some(n) = manifest.resumed_note() {
        say(&format!("note: {n}"));
    }
    let command = "restore";
    let resumed = if s.dry_run {
        None
    } else {
        runstate::resumable(&dst.client, command, s.resume, s.clean, &s.target, mode).await?
    };
    // Recorded when the role may: a failure then keeps what is done.
    let (run, recordable) = if s.dry_run {
        (RunState::new(), false)
    } else {
        runstate::start(
            &dst.client,
            command,
            resumed.as_ref(),
            s.resume,
            &s.target,
            mode,
        )
        .await?
    };
    let found = if s.dry_run {
        // Report conflicts without prompting or refusing.
        schema::conflicts(&dst, &plan).await?
    } else if resumed.is_some() {
        // A resumed run's objects exist: they are its own.
        Vec::new()
    } else {
        schema::check_target(&dst, &plan, s.clean, s.yes, &s.target).await?
    };
    let mut warnings = plan.warnings.clone();
    warnings.extend(schema::misplaced_extensions(&dst, &plan).await?);
    for w in &warnings {
        say(&format!("warning: {w}"));
    }
    if s.dry_run {
        print_dry_run(s, &plan, &tables, &found, &mut dst).await?;
        return Ok(RunReport {
            command: "restore --dry-run".into(),
            ok: true,
            ..Default::default()
        });
    }

    let digest = runstate::plan_digest(
        &[
            command.to_string(),
            format!("{:?}", manifest.snapshot),
            format!("{:?}", s.exclude_table_data),
            tables
                .iter()
                .map(|t| format!("{}:{}", t.name, t.has_data))
                .collect::<Vec<_>>()
                .join(","),
        ],
        Some(&plan),
    );
    let t0 = Instant::now();
    crate::stop::check()?;
    let mut state = None;
    let created_schemas = if let Some(r) = &resumed {
        runstate::same_run(r, &digest)?;
        runstate::schema_complete(r, &s.target)?;
        say(&format!(
            "resuming {}: tables it loaded stay; the schema was created by it",
            r.describe()
        ));
        state = Some(run.clone());
        r.created_schemas.clone()
    } else {
        say(&schema::describe_steps(&plan));
        let names: Vec<String> = tables
            .iter()
            .filter(|t| t.stored())
            .map(|t| t.name.to_string())
            .collect();
        let record = |schemas: &[String]| {
            if !recordable {
                return String::new();
            }
            let mut sql = run.begin_sql(
                command,
                &s.input.display().to_string(),
                &digest,
                &plan.created,
                schemas,
            );
            sql.push_str(";\n");
            sql.push_str(&run.units_sql(&names));
            if s.clean {
                sql.push_str(&format!(
                    ";\nDELETE FROM {}.runs WHERE command = 'restore' AND run_id <> {}",
                    runstate::SCHEMA,
                    crate::catalog::quote_literal(&run.id)
                ));
            }
            sql
        };
        let applied = schema::apply_pre(
            &mut dst,
            s.jobs,
            &plan,
            &found,
            recordable.then_some(&run),
            record,
        )
        .await?;
        for w in applied.warnings {
            say(&format!("warning: {w}"));
            warnings.push(w);
        }
        if recordable {
            state = Some(run.clone());
        }
        applied.created
    };
    // What the resumed run loaded: whole tables, and parts of split ones.
    let done_parts = resumed
        .as_ref()
        .map(|r| r.parts.clone())
        .unwrap_or_default();
    let done_steps = resumed
        .as_ref()
        .map(|r| r.steps.clone())
        .unwrap_or_default();
    let earlier: HashSet<QualName> = tables
        .iter()
        .filter(|t| {
            let name = t.name.to_string();
            resumed.as_ref().is_some_and(|r| r.done.contains_key(&name))
                || (t.parts.len() > 1
                    && (0..t.parts.len())
                        .all(|k| done_parts.contains(&runstate::part_unit(&name, k))))
        })
        .map(|t| t.name.clone())
        .collect();
    if !left_out.is_empty() {
        // Identity sequences come with their table: set only those that
        // the chosen objects brought.
        let names: Vec<String> = sequences.iter().map(|v| v.sequence.quoted()).collect();
        let wanted: Vec<(&str, &str)> = names.iter().map(|n| ("sequence", n.as_str())).collect();
        let present = schema::present_on_target(&dst, &wanted).await?;
        let mut flags = present.into_iter();
        sequences.retain(|_| flags.next().unwrap_or(true));
    }
    let mut schema_report = schema::report_before_rows(&plan, sequences.len(), t0);

    let damage = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let outcome: Result<Vec<TableReport>> = async {
        let stored: HashSet<&QualName> = tables
            .iter()
            .filter(|t| t.stored())
            .map(|t| &t.name)
            .collect();
        // A PostgreSQL 18+ target takes the statistics the dump holds
        // instead of running ANALYZE.
        let stats_sql: std::collections::HashMap<QualName, String> = if info.major() >= 18 {
            tables
                .iter()
                .filter_map(|t| {
                    let sql = crate::catalog::stats::restore_sql(&t.name, t.statistics.as_ref()?)?;
                    Some((t.name.clone(), sql))
                })
                .collect()
        } else {
            Default::default()
        };
        let (mut early, mut remaining) = schema::split_early(&plan, &stored, &stats_sql);
        // Keys, indexes and statistics of tables the resumed run loaded
        // are built with the rest, unless they were built then.
        for t in &earlier {
            remaining.extend(early.remove(t).unwrap_or_default());
        }
        remaining.retain(|st| !done_steps.contains(&runstate::step_key(&st.sql)));
        // As many builders as loaders: a table's indexes build side by
        // side (keys are plain unique indexes until the end).
        let builders = Builders::spawn(
            &s.target,
            s.jobs.min(plan.indexes.len()),
            state.clone(),
        );
        let side_by_side = match s.part_loads {
            crate::cli::PartLoads::Parallel => true,
            crate::cli::PartLoads::Serial => false,
            crate::cli::PartLoads::Auto => parts_side_by_side(&s.target, s.jobs),
        };
        let loads: Vec<usize> = (0..tables.len())
            .filter(|&i| tables[i].stored() && !earlier.contains(&tables[i].name))
            .collect();
        say(&format!(
            "loading {} with {}",
            crate::report::counted(loads.len() as u64, "table"),
            crate::report::counted(s.jobs.min(loads.len()).max(1) as u64, "job")
        ));
        let progress = Progress::new(
            mode,
            loads.len(),
            loads.iter().map(|&i| tables[i].bytes).sum(),
        );
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let ticker = tokio::spawn(progress.clone().run_ticker(stop_rx));
        let small: HashSet<QualName> = tables
            .iter()
            .filter(|t| t.bytes < schema::SMALL_TABLE_BYTES)
            .map(|t| t.name.clone())
            .collect();
        let ctx = Arc::new(Loads {
            archive,
            tables: tables.clone(),
            target: s.target.clone(),
            progress: progress.clone(),
            early: Mutex::new(early),
            builders,
            results: Mutex::new(
                tables
                    .iter()
                    .map(|t| {
                        earlier
                            .contains(&t.name)
                            .then_some(Loaded::Earlier { rows: t.rows })
                    })
                    .collect(),
            ),
            state: Mutex::new(
                tables
                    .iter()
                    .map(|t| {
                        if !side_by_side {
                            return (1, 0, None);
                        }
                        // Parts the resumed run loaded count as in.
                        let name = t.name.to_string();
                        let pieces = t.pieces();
                        let done: Vec<&Part> = pieces
                            .iter()
                            .enumerate()
                            .filter(|(k, _)| done_parts.contains(&runstate::part_unit(&name, *k)))
                            .map(|(_, p)| p)
                            .collect();
                        (
                            pieces.len() - done.len(),
                            done.iter().map(|p| p.rows).sum(),
                            None,
                        )
                    })
                    .collect(),
            ),
            side_by_side,
            run: state.clone(),
            done_parts: done_parts.clone(),
            retries: Mutex::new(vec![Vec::new(); tables.len()]),
            damage: damage.clone(),
        });
        // A stop request abandons the loads in flight (each rolls back);
        // what committed is dropped with the rest below.
        let run = tokio::select! {
            r = async {
                match ctx.archive.format {
                    ArchiveFormat::Dir => load_dir(&ctx, loads, s.jobs).await,
                    ArchiveFormat::Sql => load_sql(&ctx, s.jobs).await,
                }
            } => r,
            _ = crate::stop::wait() => Err(Error::Interrupted),
        };
        let _ = stop_tx.send(());
        let _ = ticker.await;
        if crate::stop::requested() {
            return Err(Error::Interrupted);
        }
        let ctx = Arc::into_inner(ctx).ok_or_else(|| anyhow!("restore workers still running"))?;
        let results = ctx.results.into_inner().unwrap_or_else(|p| p.into_inner());
        let retries = ctx.retries.into_inner().unwrap_or_else(|p| p.into_inner());
        let reports: Vec<TableReport> = tables
            .iter()
            .zip(&results)
            .zip(retries)
            .map(|((t, r), retries)| TableReport {
                retries,
                statistics: t.stored().then(|| {
                    if stats_sql.contains_key(&t.name) {
                        "carried from the dump".to_string()
                    } else if plan.no_analyze.contains(&t.name) {
                        "none (a foreign table inherits from it)".to_string()
                    } else {
                        "ANALYZE".to_string()
                    }
                }),
                ..table_report(t, r)
            })
            .collect();
        let failed: Vec<String> = reports
            .iter()
            .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.target)))
            .collect();
        if let Err(e) = run {
            let _ = ctx.builders.finish().await;
            return Err(e);
        }
        if !failed.is_empty() {
            let _ = ctx.builders.finish().await;
            return Err(Error::Runtime(anyhow!(
                "{} of {} tables could not be restored:\n  {}",
                failed.len(),
                reports.len(),
                failed.join("\n  ")
            )));
        }
        // The large objects after every table's rows, as a copy makes them.
        if let Some(lo) = manifest.large_objects.as_ref().filter(|_| !plan.large_objects.is_empty()) {
            let step = runstate::step_key(super::lobj::STEP);
            if done_steps.contains(&step) {
                say("the large objects were restored by the interrupted run");
            } else {
                say(&format!("restoring {} large objects", plan.large_objects.len()));
                let t = Instant::now();
                let r = tokio::select! {
                    r = load_large_objects(&ctx.archive, lo, &s.target, mode, state.as_ref()) => r,
                    _ = crate::stop::wait() => Err(Error::Interrupted),
                };
                if let Err(e) = r {
                    let _ = ctx.builders.finish().await;
                    return Err(e);
                }
                say(&format!(
                    "restored {} large objects in {:.1}s",
                    plan.large_objects.len(),
                    t.elapsed().as_secs_f64()
                ));
                schema_report.large_objects = plan.large_objects.len();
            }
        }
        say("building the remaining keys and indexes, then foreign keys, triggers and the rest");
        let t1 = Instant::now();
        let late = tokio::select! {
            r = schema::apply_post(&s.target, s.jobs, &plan, ctx.builders, remaining, &sequences, state.as_ref(), &done_steps, &small) => r?,
            _ = crate::stop::wait() => return Err(Error::Interrupted),
        };
        schema_report.seconds_after_rows = crate::report::round3(t1.elapsed().as_secs_f64());
        for w in &late {
            say(&format!("warning: {w}"));
        }
        warnings.extend(late);
        if let Some(r) = &state {
            r.finish(&dst.client).await.map_err(Error::Runtime)?;
        }
        Ok(reports)
    }
    .await;
    // After a failure the report still tells what happened and what is
    // left on the target.
    let failure_report = |left: String, e: &Error| -> Result<()> {
        let Some(path) = &s.report else {
            return Ok(());
        };
        RunReport {
            tool: "pgbarge".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            command: "restore".into(),
            started_unix,
            seconds: crate::report::round3(started.elapsed().as_secs_f64()),
            interrupted: crate::stop::requested(),
            left_on_target: Some(left),
            warnings: vec![match e {
                Error::Runtime(inner) => format!("{inner:#}"),
                other => other.to_string(),
            }],
            ..Default::default()
        }
        .write(path)
        .map_err(Error::Runtime)
    };
    let tables = match outcome {
        Ok(t) => t,
        // A damaged dump is undone below: resuming cannot cure it.
        Err(e)
            if state.is_some()
                && !damage.load(std::sync::atomic::Ordering::Relaxed)
                && !matches!(&e, Error::Runtime(inner) if inner.chain().any(|c| c.is::<Damaged>())) =>
        {
            // Recorded: what committed stays, for --resume; a split table
            // with only some parts in is emptied again (never partly
            // loaded), and loads whole on resume.
            let emptied = empty_partial_tables(&s.target, &run, &tables).await;
            let left = format!(
                "the schema and every table that loaded whole, recorded in schema {}; continue \
                 with the same command and --resume, or remove what this restore made with \
                 `pgbarge clean --target {}`{}",
                runstate::SCHEMA,
                s.target,
                match emptied {
                    Ok(()) => String::new(),
                    Err(e) => format!("; warning: {e:#}"),
                }
            );
            failure_report(left.clone(), &e)?;
            say(&format!("on the target: {left}"));
            return Err(e);
        }
        Err(e) => {
            say(if crate::stop::requested() {
                "the restore was interrupted: dropping the objects it created on the target"
            } else {
                "the restore failed: dropping the objects it created on the target"
            });
            let mut problems = schema::undo(&s.target, &plan.created, &created_schemas).await;
            if state.is_some() {
                if let Err(e) = forget_run(&s.target, &run).await {
                    problems.push(format!("{e:#}"));
                }
            }
            for p in &problems {
                say(&format!("warning: clean-up: {p}"));
            }
            failure_report(
                if problems.is_empty() {
                    "nothing: every object this run created was dropped".into()
                } else {
                    format!(
                        "some objects this run created could not be dropped: {}",
                        problems.join("; ")
                    )
                },
                &e,
            )?;
            return Err(e);
        }
    };
    Ok(RunReport {
        tool: "pgbarge".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        command: "restore".into(),
        started_unix,
        seconds: crate::report::round3(started.elapsed().as_secs_f64()),
        source: EndpointReport {
            url: s.input.display().to_string(),
            server_version: manifest.source.server_version.clone(),
            tls: false,
        },
        target: EndpointReport {
            url: s.target.redacted(),
            server_version: info.version.clone(),
            tls: info.tls,
        },
        snapshot: manifest.snapshot.clone(),
        jobs: s.jobs,
        format: manifest.data_format.clone(),
        total_rows: tables.iter().map(|t| t.rows).sum(),
        total_bytes: tables.iter().map(|t| t.bytes).sum(),
        tables,
        schema: Some(schema_report),
        warnings,
        ok: true,
        resumed: resumed.as_ref().map(|r| {
            format!(
                "resumed run {} ({}): tables marked \"earlier\" were loaded by it",
                r.id,
                r.describe()
            )
        }),
        ..Default::default()
    })
}

/// `--schema`/`--table` and their `--exclude` forms at restore: choose
/// tables of the dump as `dump` chooses them from a database, then leave
/// out of the plan the other tables, every object of schemas left out,
/// and whatever depends on those. Returns what is left out (archive
/// names). A chosen table that needs something left out goes too, and
/// is named in a warning.
fn select_from_dump(
    s: &RestoreSettings,
    manifest: &super::Manifest,
    schemas: &[String],
    plan: &mut schema::SchemaPlan,
) -> Result<HashSet<QualName>> {
    let p = &s.selection;
    if p.schema.is_empty()
        && p.exclude_schema.is_empty()
        && p.table.is_empty()
        && p.exclude_table.is_empty()
    {
        return Ok(HashSet::new());
    }
    // Partitions are chosen with the root of their tree, as by dump: the
    // parent is the second name of `CREATE TABLE x PARTITION OF y`.
    let mut parent: std::collections::HashMap<QualName, QualName> = Default::default();
    for st in &plan.pre {
        if st.kind == crate::catalog::model::Kind::Table && st.sql.contains(" PARTITION OF ") {
            let names = crate::ddl::lexer::qualified_names(&st.sql);
            if let (Some(created), Some((ps, pn))) =
                (crate::ddl::lexer::created_object(&st.sql), names.get(1))
            {
                parent.insert(
                    QualName::new(created.0, created.1),
                    QualName::new(ps.clone(), pn.clone()),
                );
            }
        }
    }
    let root = |n: &QualName| {
        let mut top = parent.get(n)?;
        for _ in 0..64 {
            match parent.get(top) {
                Some(up) => top = up,
                None => break,
            }
        }
        Some(top.clone())
    };
    let all: Vec<crate::catalog::Table> = manifest
        .tables
        .iter()
        .map(|t| crate::catalog::Table {
            oid: 0,
            name: t.name.clone(),
            relkind: 'r',
            partition_root: root(&t.name),
            est_rows: t.rows as i64,
            bytes: t.bytes as i64,
            extension_member: false,
            columns: Vec::new(),
        })
        .collect();
    let chosen: HashSet<QualName> = crate::select::select(&all, schemas, p)
        .map_err(Error::Usage)?
        .into_iter()
        .map(|c| all[c.index].name.clone())
        .collect();
    let mut kept = crate::select::kept_schemas(schemas, p).map_err(Error::Usage)?;
    let mut excluded: HashSet<QualName> = all
        .iter()
        .map(|t| t.name.clone())
        .filter(|n| !chosen.contains(n))
        .collect();
    // With --table, as dump: only what the chosen tables need, and only
    // the schemas that hold some of it (or that --schema names).
    if !p.table.is_empty() {
        // Chosen tables come without the large objects, as in a dump of them.
        plan.drop_large_objects();
        let tables: HashSet<QualName> = all.iter().map(|t| t.name.clone()).collect();
        let (unneeded, named) = plan.not_needed(&tables, &chosen);
        let wanted = crate::select::named_schemas(schemas, p).map_err(Error::Usage)?;
        plan.drop_unused_extensions(&named, &wanted);
        let mut holding = wanted;
        holding.extend(chosen.iter().chain(&named).map(|n| n.schema.clone()));
        kept.retain(|s| holding.contains(s));
        excluded.extend(unneeded);
    }
    let dropped: HashSet<String> = schemas
        .iter()
        .filter(|x| !kept.contains(x))
        .cloned()
        .collect();
    let out = plan.keep_only(excluded, &dropped);
    for t in chosen.iter().filter(|t| out.contains(*t)) {
        plan.warnings.push(format!(
            "table {t} is left out: its definition needs an object the selection leaves out"
        ));
    }
    Ok(out)
}

fn globs(patterns: &[String]) -> Result<Vec<globset::GlobMatcher>> {
    patterns
        .iter()
        .map(|p| {
            globset::Glob::new(p)
                .map(|g| g.compile_matcher())
                .map_err(|e| Error::usage(format!("--exclude-table-data {p}: {e}")))
        })
        .collect()
}

/// One table's load: rows, seconds, or the error.
#[derive(Debug, Clone)]
enum Loaded {
    Ok {
        rows: u64,
        seconds: f64,
    },
    /// Loaded by the interrupted run this one resumes.
    Earlier {
        rows: u64,
    },
    Failed(String),
}

fn table_report(t: &TableEntry, r: &Option<Loaded>) -> TableReport {
    let (status, rows, seconds, error) = match (t.has_data, r) {
        (false, _) => ("data-excluded", 0, 0.0, None),
        (true, Some(Loaded::Ok { rows, seconds })) => ("ok", *rows, *seconds, None),
        (true, Some(Loaded::Earlier { rows })) => ("ok", *rows, 0.0, None),
        (true, Some(Loaded::Failed(e))) => ("failed", 0, 0.0, Some(e.clone())),
        (true, None) => ("not-run", 0, 0.0, None),
    };
    TableReport {
        source: t.file.clone().unwrap_or_else(|| t.name.to_string()),
        target: t.name.to_string(),
        status: status.into(),
        rows,
        bytes: if status == "ok" { t.bytes } else { 0 },
        format: t.format.clone(),
        format_reason: format!("{}: as the dump holds it", t.format),
        seconds: crate::report::round3(seconds),
        error,
        retries: Vec::new(),
        earlier: matches!(r, Some(Loaded::Earlier { .. })),
        statistics: None,
    }
}

struct Loads {
    archive: Archive,
    tables: Vec<TableEntry>,
    target: conn::Endpoint,
    progress: Arc<Progress>,
    early: Mutex<std::collections::HashMap<QualName, Vec<crate::catalog::model::Statement>>>,
    builders: Builders,
    results: Mutex<Vec<Option<Loaded>>>,
    /// Per table: units not loaded yet, rows so far, when the first began.
    state: Mutex<Vec<(usize, u64, Option<Instant>)>>,
    /// Split tables' parts load side by side (see `parts_side_by_side`).
    side_by_side: bool,
    /// The run's record on the target (see `runstate`).
    run: Option<RunState>,
    /// Parts loaded by the run being resumed.
    done_parts: HashSet<String>,
    /// Per table: each retry after a transient fault, and why.
    retries: Mutex<Vec<Vec<String>>>,
    /// Set when a failure was the dump's (`Damaged`).
    damage: Arc<std::sync::atomic::AtomicBool>,
}

impl Loads {
    /// Table `i` was loaded by the run being resumed.
    fn is_earlier(&self, i: usize) -> bool {
        matches!(
            self.results.lock().unwrap_or_else(|p| p.into_inner())[i],
            Some(Loaded::Earlier { .. })
        )
    }

    /// Note that a load of table `i` (or one of its parts) begins.
    fn begin(&self, i: usize) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st[i].2.get_or_insert_with(Instant::now);
    }

    /// Record a part's outcome; once a table's last part is in, its keys
    /// and indexes start. Returns whether the part loaded.
    fn record(&self, i: usize, r: anyhow::Result<u64>) -> bool {
        let mut out = self.results.lock().unwrap_or_else(|p| p.into_inner());
        let rows = match r {
            Ok(rows) => rows,
            Err(e) => {
                if e.chain().any(|c| c.is::<Damaged>()) {
                    self.damage
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                if !matches!(out[i], Some(Loaded::Failed(_))) {
                    out[i] = Some(Loaded::Failed(format!("{e:#}")));
                }
                return false;
            }
        };
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (left, total, began) = &mut st[i];
        *left = left.saturating_sub(1);
        *total += rows;
        if *left == 0 && out[i].is_none() {
            out[i] = Some(Loaded::Ok {
                rows: *total,
                seconds: began.map_or(0.0, |b| b.elapsed().as_secs_f64()),
            });
            let mut early = self.early.lock().unwrap_or_else(|p| p.into_inner());
            let statements = early.remove(&self.tables[i].name).unwrap_or_default();
            self.builders.send_table(statements, self.tables[i].bytes);
        }
        true
    }
}

/// Remove a run's record (its objects were dropped).
async fn forget_run(target: &conn::Endpoint, run: &RunState) -> anyhow::Result<()> {
    let dst = conn::connect(target, Role::Target).await?;
    run.finish(&dst.client).await
}

/// After a failure: empty each split table that has some of its parts in
/// but not all, and forget those parts, in one transaction per table.
async fn empty_partial_tables(
    target: &conn::Endpoint,
    run: &RunState,
    tables: &[TableEntry],
) -> anyhow::Result<()> {
    let dst = conn::connect(target, Role::Target).await?;
    let recorded = runstate::find(&dst.client, &["restore"]).await?;
    let Some(mine) = recorded.into_iter().find(|r| r.id == run.id) else {
        return Ok(());
    };
    for t in tables.iter().filter(|t| t.parts.len() > 1) {
        let name = t.name.to_string();
        let n = (0..t.parts.len())
            .filter(|&k| mine.parts.contains(&runstate::part_unit(&name, k)))
            .count();
        if n == 0 || n == t.parts.len() {
            continue;
        }
        dst.client
            .batch_execute(&format!(
                "BEGIN; TRUNCATE ONLY {}; {}; COMMIT",
                t.name.quoted(),
                run.forget_parts_sql(&name, t.parts.len())
            ))
            .await
            .map_err(|e| anyhow!("emptying partly loaded {name}: {}", describe_pg(&e)))?;
    }
    Ok(())
}

/// `--part-loads auto`: whether a split table's parts load side by side,
/// each in a session of its own, or one after another in one session and
/// transaction. Side
/// by side spreads a big table over the target's cores but costs CPU:
/// every row is WAL-logged and none frozen, where one session that empties
/// the table first loads with FREEZE (and, under `wal_level = minimal`,
/// writes no WAL for the rows). It pays when the target has cores to
/// spare. A target on this machine shares its cores with pgbarge's own
/// decompression, so there parts go side by side only when the machine
/// has more than two cores per job.
fn parts_side_by_side(target: &conn::Endpoint, jobs: usize) -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    !target.is_local() || cores > 2 * jobs
}

/// The rows of `unit` if this run's record on the target says they are
/// loaded (a commit whose answer was lost); `None` when not, or unknown.
async fn landed(ctx: &Loads, dst: &Session, t: &TableEntry, unit: &Unit) -> Option<u64> {
    let run = ctx.run.as_ref()?;
    let name = match unit.parts.first() {
        Some((k, _)) if !unit.whole => runstate::part_unit(&t.name.to_string(), *k),
        _ => t.name.to_string(),
    };
    let found = run.loaded_among(&dst.client, &[name]).await.ok()?;
    found.into_values().next().map(|(rows, _)| rows)
}

/// One piece of restore work: a table's rows whole (every part in turn,
/// in one transaction that empties the table first) or one part of a
/// split table loading beside its other parts.
struct Unit {
    table: usize,
    /// (part number, part)
    parts: Vec<(usize, Part)>,
    whole: bool,
}

/// Directory format: `jobs` sessions, each file read on its own thread.
async fn load_dir(ctx: &Arc<Loads>, loads: Vec<usize>, jobs: usize) -> Result<()> {
    let mut units: Vec<Unit> = Vec::new();
    for &i in &loads {
        let pieces: Vec<(usize, Part)> = ctx.tables[i].pieces().into_iter().enumerate().collect();
        if ctx.side_by_side && pieces.len() > 1 {
            let name = ctx.tables[i].name.to_string();
            let pieces = pieces
                .into_iter()
                .filter(|(k, _)| !ctx.done_parts.contains(&runstate::part_unit(&name, *k)));
            units.extend(pieces.map(|p| Unit {
                table: i,
                parts: vec![p],
                whole: false,
            }));
        } else {
            units.push(Unit {
                table: i,
                parts: pieces,
                whole: true,
            });
        }
    }
    // Most work first: uncompressed bytes say more about the loading
    // work than compressed ones (random bytes do not compress).
    units.sort_by_key(|u| std::cmp::Reverse(u.parts.iter().map(|(_, p)| p.bytes).sum::<u64>()));
    let queue = Arc::new(Mutex::new(std::collections::VecDeque::from(units)));
    let n = jobs.min(queue.lock().map(|q| q.len()).unwrap_or(1)).max(1);
    let mut sessions = Vec::new();
    for _ in 0..n {
        sessions.push(conn::connect(&ctx.target, Role::Target).await?);
    }
    let mut set = JoinSet::new();
    for mut dst in sessions {
        let (ctx, queue) = (ctx.clone(), queue.clone());
        set.spawn(async move {
            loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                let Some(unit) = next else { break };
                let t = &ctx.tables[unit.table];
                let label = match (t.parts.len(), unit.parts.first()) {
                    (n, Some((k, _))) if n > 1 && !unit.whole => {
                        format!("{} (part {} of {n})", t.name, k + 1)
                    }
                    _ => t.name.to_string(),
                };
                let rows = unit.parts.iter().map(|(_, p)| p.rows).sum();
                let bytes = unit.parts.iter().map(|(_, p)| p.bytes).sum();
                let tp = ctx.progress.start_table(&label, rows, bytes);
                ctx.begin(unit.table);
                let record = ctx.run.as_ref().map(|run| match unit.parts.first() {
                    Some((k, p)) if !unit.whole => {
                        run.part_done_sql(&t.name.to_string(), *k, p.rows)
                    }
                    _ => run.unit_done_sql(&t.name.to_string(), rows, bytes),
                });
                let mut attempt = 0;
                let r = loop {
                    let r = load_unit(&ctx, &mut dst, &unit, &tp, record.clone()).await;
                    let Err(e) = &r else { break r };
                    if crate::stop::requested()
                        || attempt == RETRY_PAUSES.len()
                        || !conn::transient(e, &[&dst])
                    {
                        break r;
                    }
                    // The unit's transaction died with its session: load
                    // it again from its start on a fresh session.
                    let why = format!("{e:#}");
                    let pause = RETRY_PAUSES[attempt];
                    attempt += 1;
                    ctx.progress.println(&format!(
                        "retrying {label} in {pause} s (attempt {} of {}): {}",
                        attempt + 1,
                        RETRY_PAUSES.len() + 1,
                        why.lines().next().unwrap_or_default()
                    ));
                    ctx.retries.lock().unwrap_or_else(|p| p.into_inner())[unit.table]
                        .push(why.clone());
                    tokio::time::sleep(std::time::Duration::from_secs(pause)).await;
                    match crate::transfer::reconnect_target(&ctx.target).await {
                        Ok(d) => {
                            d.end_stale(&dst).await;
                            dst = d;
                        }
                        Err(e2) => break Err(anyhow!("{why}\nretry: cannot reconnect: {e2:#}")),
                    }
                    // Its commit may have landed with the answer lost: the
                    // record (committed with the rows) says so, and a part
                    // loaded twice would hold its rows twice.
                    if let Some(rows) = landed(&ctx, &dst, t, &unit).await {
                        ctx.progress.println(&format!(
                            "{label}: its commit landed, the answer was lost; not loaded again"
                        ));
                        break Ok(rows);
                    }
                    tp.reset();
                };
                ctx.progress
                    .finish_table(&tp, if r.is_ok() { "restored" } else { "FAILED" });
                if !ctx.record(unit.table, r) {
                    // The session may be mid-COPY: start afresh.
                    dst = conn::connect(&ctx.target, Role::Target).await?;
                }
            }
            Ok::<_, Error>(())
        });
    }
    join_all(set).await
}

/// One attempt at a unit: each of its files read on a thread of its own
/// (a unit's later parts wait at their channel's bound until their turn)
/// into one transaction.
async fn load_unit(
    ctx: &Arc<Loads>,
    dst: &mut Session,
    unit: &Unit,
    tp: &TableProgress,
    record: Option<String>,
) -> anyhow::Result<u64> {
    let t = &ctx.tables[unit.table];
    let mut feeds = Vec::new();
    let mut readers = Vec::new();
    for (_, part) in &unit.parts {
        let file = part.file.clone().unwrap_or_default();
        let path = ctx.archive.path.join(&file);
        let codec = ctx.archive.codec;
        let (tx, rx) = mpsc::channel::<Bytes>(DEPTH);
        let reader = tokio::task::spawn_blocking(move || {
            blocks::read_file(&path, codec, &mut |chunk| {
                tx.blocking_send(chunk).map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the load stopped")
                })
            })
        });
        readers.push((file, reader));
        feeds.push((part.clone(), rx));
    }
    let mut r = load_table(dst, t, unit.whole, feeds, tp, record).await;
    // A file that cannot be read explains a short stream best.
    for (file, reader) in readers {
        if let (Err(_), Ok(Err(e))) = (&r, reader.await) {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                r = Err(damaged(format!(
                    "{file}: cannot be read: {e}; the dump is damaged"
                )));
            }
        }
    }
    r
}

/// Wait for every worker (each holds the shared context, and their file
/// readers cannot be cancelled midway), then give the first error.
async fn join_all(mut set: JoinSet<Result<()>>) -> Result<()> {
    let mut first = Ok(());
    while let Some(r) = set.join_next().await {
        let r = r
            .map_err(|e| Error::Runtime(anyhow!("restore worker: {e}")))
            .and_then(|r| r);
        if first.is_ok() {
            first = r;
        }
    }
    first
}

/// The dump's large objects (see `lobj`), read from their file or their
/// range of the script, with the run's record of them.
async fn load_large_objects(
    archive: &Archive,
    entry: &TableEntry,
    target: &conn::Endpoint,
    mode: Mode,
    run: Option<&RunState>,
) -> Result<()> {
    let mut dst = conn::connect(target, Role::Target).await?;
    let (tx, rx) = mpsc::channel::<Bytes>(DEPTH);
    let send = move |chunk: &[u8]| {
        tx.blocking_send(Bytes::copy_from_slice(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the load stopped"))
    };
    let (path, codec) = (archive.path.clone(), archive.codec);
    let reader = match archive.format {
        ArchiveFormat::Dir => {
            let path = path.join(entry.file.as_deref().unwrap_or_default());
            tokio::task::spawn_blocking(move || {
                blocks::read_file(&path, codec, &mut |chunk| send(&chunk))
            })
        }
        ArchiveFormat::Sql => {
            let mut walker = ScriptWalker::new(archive, &[entry]);
            tokio::task::spawn_blocking(move || {
                blocks::read_file(&path, codec, &mut |chunk| {
                    walker.feed(&chunk, &mut |_, part| send(part))
                })
            })
        }
    };
    let progress = Progress::new(mode, 1, entry.bytes);
    let tp = progress.start_table("large objects", entry.rows, entry.bytes);
    let record = run.map(|r| r.with_step(super::lobj::STEP));
    let mut r = super::lobj::restore(&mut dst, entry, rx, &tp, record).await;
    progress.finish_table(&tp, if r.is_ok() { "restored" } else { "FAILED" });
    // A file that cannot be read explains a short stream best.
    if let (Err(_), Ok(Err(e))) = (&r, reader.await) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            r = Err(damaged(format!(
                "the large objects cannot be read: {e}; the dump is damaged"
            )));
        }
    }
    r.map(|_| ()).map_err(Error::Runtime)
}

/// SQL format: `jobs` sessions, each reading the whole script (one
/// compressed stream cannot be entered midway) and loading its share of
/// the tables, balanced by bytes, in script order. Decompressing is
/// cheap next to loading, so a pass per job buys parallel loads.
async fn load_sql(ctx: &Arc<Loads>, jobs: usize) -> Result<()> {
    // Every table restored with rows in the script, in script order
    // (indexes into `ctx.tables`, which a selection may have thinned).
    let in_script: Vec<usize> = (0..ctx.tables.len())
        .filter(|&i| ctx.tables[i].offset.is_some())
        .collect();
    let mut wanted: Vec<usize> = in_script
        .iter()
        .copied()
        .filter(|&i| ctx.tables[i].has_data && !ctx.is_earlier(i))
        .collect();
    wanted.sort_by_key(|&i| std::cmp::Reverse(ctx.tables[i].bytes));
    let n = jobs.min(wanted.len()).max(1);
    let mut shares: Vec<(u64, HashSet<usize>)> = vec![(0, HashSet::new()); n];
    for i in wanted {
        if let Some(least) = shares.iter_mut().min_by_key(|(bytes, _)| *bytes) {
            least.0 += ctx.tables[i].bytes;
            least.1.insert(i);
        }
    }
    let mut set = JoinSet::new();
    for (_, mine) in shares {
        let (ctx, in_script) = (ctx.clone(), in_script.clone());
        set.spawn(async move { load_sql_share(&ctx, &in_script, &mine).await });
    }
    join_all(set).await
}

/// One pass over the script loading the tables in `mine`; the others
/// (and tables whose rows are not wanted) are read past.
async fn load_sql_share(
    ctx: &Arc<Loads>,
    in_script: &[usize],
    mine: &HashSet<usize>,
) -> Result<()> {
    let mut dst = conn::connect(&ctx.target, Role::Target).await?;
    let (tx, mut rx) = mpsc::channel::<(usize, Bytes)>(DEPTH);
    let reader = {
        let ctx = ctx.clone();
        let in_script = in_script.to_vec();
        let mine = mine.clone();
        tokio::task::spawn_blocking(move || {
            let a = &ctx.archive;
            let entries: Vec<&TableEntry> = in_script.iter().map(|&i| &ctx.tables[i]).collect();
            let mut walker = ScriptWalker::new(a, &entries);
            blocks::read_file(&a.path, a.codec, &mut |chunk| {
                walker.feed(&chunk, &mut |k, part| {
                    if !mine.contains(&in_script[k]) {
                        return Ok(());
                    }
                    tx.blocking_send((in_script[k], Bytes::copy_from_slice(part)))
                        .map_err(|_| {
                            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the load stopped")
                        })
                })
            })
        })
    };
    let loaded = load_share(ctx, &mut dst, in_script, mine, &mut rx).await;
    drop(rx);
    let read = match reader.await {
        Ok(Ok(_)) => Ok(()),
        // The load ended first; its own error says why.
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Ok(Err(e)) => Err(Error::Runtime(damaged(format!(
            "{}: cannot be read: {e}; the dump is damaged",
            ctx.archive.path.display()
        )))),
        Err(e) => Err(Error::Runtime(anyhow!("script reader: {e}"))),
    };
    // A damaged script explains a failed load best.
    read.and(loaded)
}

/// The tables of one share, fed from the share's pass over the script.
async fn load_share(
    ctx: &Arc<Loads>,
    dst: &mut Session,
    in_script: &[usize],
    mine: &HashSet<usize>,
    rx: &mut mpsc::Receiver<(usize, Bytes)>,
) -> Result<()> {
    let mut pending: Option<(usize, Bytes)> = None;
    for &i in in_script.iter().filter(|i| mine.contains(i)) {
        let t = &ctx.tables[i];
        // This table's pieces, handed on through a channel of its own.
        let (ttx, trx) = mpsc::channel::<Bytes>(DEPTH);
        let forward = async {
            let mut ttx = Some(ttx);
            loop {
                let next = match pending.take() {
                    Some(p) => Some(p),
                    None => rx.recv().await,
                };
                match next {
                    Some((k, b)) if k == i => {
                        if let Some(s) = &ttx {
                            if s.send(b).await.is_err() {
                                ttx = None;
                            }
                        }
                    }
                    Some(other) => {
                        pending = Some(other);
                        break;
                    }
                    None => break,
                }
            }
            drop(ttx);
        };
        let tp = ctx
            .progress
            .start_table(&t.name.to_string(), t.rows, t.bytes);
        ctx.begin(i);
        let feeds = vec![(t.total(), trx)];
        let record = ctx
            .run
            .as_ref()
            .map(|run| run.unit_done_sql(&t.name.to_string(), t.rows, t.bytes));
        let (r, ()) = tokio::join!(load_table(dst, t, true, feeds, &tp, record), forward);
        ctx.progress
            .finish_table(&tp, if r.is_ok() { "restored" } else { "FAILED" });
        if !ctx.record(i, r) {
            *dst = conn::connect(&ctx.target, Role::Target).await?;
        }
    }
    Ok(())
}

/// A unit of rows in one transaction: `whole`, the table is emptied
/// first so every part may COPY with FREEZE; otherwise one part loads
/// beside the table's others. Each part comes from its receiver and is
/// checked (length, checksum, rows) against the manifest before its COPY
/// ends, so a mismatch rolls the unit back; returns the rows.
async fn load_table(
    dst: &mut Session,
    t: &TableEntry,
    whole: bool,
    parts: Vec<(Part, mpsc::Receiver<Bytes>)>,
    tp: &TableProgress,
    record: Option<String>,
) -> anyhow::Result<u64> {
    // Statements whose answer could be lost on the way are watched (see
    // `conn::locks`): a lost COMMIT answer must not be waited for forever.
    let pid = dst.pid;
    let tx = conn::locks::working(
        pid,
        || format!("starting the load of {}", t.name),
        dst.client.transaction(),
    )
    .await?
    .map_err(|e| anyhow!("target: {}", describe_pg(&e)))?;
    if whole {
        let truncate = format!("TRUNCATE ONLY {}", t.name.quoted());
        conn::locks::working(
            pid,
            || format!("emptying target {}", t.name),
            tx.batch_execute(&truncate),
        )
        .await?
        .map_err(|e| anyhow!("emptying target {}: {}", t.name, describe_pg(&e)))?;
    }
    let mut total = 0;
    for (part, rx) in parts {
        total += copy_part(&tx, t, &part, whole, rx, tp).await?;
    }
    if let Some(sql) = record {
        // The record commits with the rows.
        conn::locks::working(
            pid,
            || format!("recording {} as loaded", t.name),
            tx.batch_execute(&sql),
        )
        .await?
        .map_err(|e| anyhow!("recording {} as loaded: {}", t.name, describe_pg(&e)))?;
    }
    conn::locks::working(pid, || format!("committing {}", t.name), tx.commit())
        .await?
        .map_err(|e| anyhow!("committing {}: {}", t.name, describe_pg(&e)))?;
    Ok(total)
}

/// One part's COPY inside the unit's transaction.
pub(super) async fn copy_part(
    tx: &tokio_postgres::Transaction<'_>,
    t: &TableEntry,
    part: &Part,
    freeze: bool,
    mut rx: mpsc::Receiver<Bytes>,
    tp: &TableProgress,
) -> anyhow::Result<u64> {
    let what = part
        .file
        .clone()
        .unwrap_or_else(|| format!("rows of {}", t.name));
    let sink = tx
        .copy_in::<_, Bytes>(&copy_statement(
            &t.name.quoted(),
            &t.columns,
            t.binary(),
            Direction::In { freeze },
        ))
        .await
        .map_err(|e| anyhow!("target {}: {}", t.name, describe_pg(&e)))?;
    futures_util::pin_mut!(sink);
    let mut hasher = Xxh3::new();
    let mut counter = RowCounter::new(t.binary());
    let mut bytes = 0u64;
    let mut seen = 0;
    while let Some(chunk) = rx.recv().await {
        if bytes + chunk.len() as u64 > part.bytes {
            return Err(damaged(format!(
                "{what}: more than the {} bytes of rows the manifest says; the dump is damaged",
                part.bytes
            )));
        }
        hasher.update(&chunk);
        counter
            .feed(&chunk)
            .map_err(|e| damaged(format!("{what}: {e:#}; the dump is damaged")))?;
        bytes += chunk.len() as u64;
        tp.add(chunk.len() as u64, counter.rows() - seen);
        seen = counter.rows();
        crate::conn::within_stall(|| format!("target {}", t.name), sink.as_mut().feed(chunk))
            .await?
            .map_err(|e| anyhow!("target {}: {}", t.name, describe_pg(&e)))?;
    }
    // Checked before the COPY ends: a mismatch rolls the table back.
    if bytes != part.bytes {
        return Err(damaged(format!(
            "{what}: {bytes} bytes of rows where the manifest says {}; the dump is damaged",
            part.bytes
        )));
    }
    let sum = checksum_text(&hasher);
    if sum != part.checksum {
        return Err(damaged(format!(
            "{what}: content checksum {sum} differs from the manifest's {}; the dump is damaged",
            part.checksum
        )));
    }
    let rows = crate::conn::within_stall(|| format!("target {}", t.name), sink.as_mut().finish())
        .await?
        .map_err(|e| anyhow!("target {}: {}", t.name, describe_pg(&e)))?;
    if rows != part.rows {
        return Err(damaged(format!(
            "{what}: {rows} rows where the manifest says {}; the dump is damaged",
            part.rows
        )));
    }
    Ok(rows)
}

/// `restore --dry-run`: what would be created and loaded, and what is in
/// the way; nothing is written.
async fn print_dry_run(
    s: &RestoreSettings,
    plan: &schema::SchemaPlan,
    tables: &[TableEntry],
    found: &[(String, String)],
    dst: &mut Session,
) -> Result<()> {
    let rows: Vec<[String; 4]> = tables
        .iter()
        .map(|t| {
            [
                t.name.to_string(),
                t.rows_cell(),
                indicatif::HumanBytes(t.bytes).to_string(),
                if t.has_data {
                    "load"
                } else {
                    "definition only"
                }
                .into(),
            ]
        })
        .collect();
    crate::print_columns(["table", "rows", "bytes", "action"], &rows);
    println!(
        "would create {} schema(s), {} objects before the rows, {} keys and indexes and {} \
         other statements after them, {} owner/grant statements",
        plan.schemas.len(),
        plan.extensions.len() + plan.pre.len(),
        plan.indexes.len(),
        plan.post.len() + plan.validations.len(),
        plan.access.len()
    );
    if !plan.large_objects.is_empty() {
        println!(
            "would create {} large objects after the rows",
            plan.large_objects.len()
        );
    }
    let mut blockers = Vec::new();
    if !found.is_empty() {
        let list: Vec<&str> = found.iter().map(|(l, _)| l.as_str()).collect();
        if s.clean {
            println!("--clean would drop and recreate: {}", list.join(", "));
        } else {
            blockers.push(format!("already on the target: {}", list.join(", ")));
        }
    }
    let absent = schema::missing_extensions(dst, plan).await?;
    if !absent.is_empty() {
        blockers.push(format!("extensions not offered: {}", absent.join(", ")));
    }
    let missing = schema::missing_roles(dst, plan).await?;
    if !missing.is_empty() {
        blockers.push(format!("roles missing: {}", missing.join(", ")));
    }
    blockers.extend(schema::missing_outside(dst, plan).await?);
    if blockers.is_empty() && found.is_empty() {
        // The schema itself, tried on the target and rolled back (with
        // --clean's drops pending it would only meet what it replaces).
        match schema::trial(dst, plan).await? {
            schema::Trial::Takes => {}
            schema::Trial::Refuses(problem) => blockers.push(problem),
            schema::Trial::TooLarge(note) => println!("warning: {note}"),
        }
    }
    for b in &blockers {
        println!("blocker: {b}");
    }
    if blockers.is_empty() {
        println!("dry run: nothing was written; the restore can run");
        Ok(())
    } else {
        Err(Error::Mismatch(format!(
            "dry run: {}; the restore would not run",
            crate::report::counted(blockers.len() as u64, "blocker")
        )))
    }
}
