//! `copy --data-only`: stream the rows of the selected tables from one
//! consistent source snapshot into existing target tables, in parallel.
//!
//! Flow: connect both sides and refuse unsafe runs (same database, rows
//! already in the target, a target table lacking a column) before any
//! write; export a snapshot; choose each table's COPY format; order the
//! loads by the target's foreign keys; run `--jobs` workers, each table
//! (or foreign-key cycle) in one target transaction; set sequences; report.
//! Small tables (under `SMALL_LOAD_BYTES`) load many to a transaction,
//! by INSERT where their format is text (`values`), so that a distant
//! target costs a round trip per group rather than several per table; a
//! group that fails is undone and its tables loaded one by one.
//!
//! A foreign key checked row by row costs the target more than the COPY
//! itself (one index probe and row lock per row). Unless
//! `--keep-foreign-keys`, a table's own keys are dropped inside its load
//! transaction and added back before the commit, which checks them in one
//! pass; a failure rolls everything back, keys included.

mod batch;
pub mod framing;
pub mod lobj;
pub mod order;
pub mod sched;
pub mod schema;
mod stream;
mod values;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use tokio::task::JoinSet;
use tokio_postgres::types::Type;

use crate::catalog::model::SchemaPlan;
use crate::catalog::{self, quote_literal, QualName, Table, TypeCatalog};
use crate::cli::CopyFormat;
use crate::conn::{self, Role, ServerInfo, Session};
use crate::error::{describe_pg, PgContext};
use crate::progress::{Mode, Progress};
use crate::report::{EndpointReport, LinkReport, RunReport, SequenceReport, TableReport};
use crate::runstate::{self, RunState};
use crate::select;
use crate::settings::CopySettings;
use crate::stop;
use crate::{Error, Result};

use order::{Edge, Ordering};
use sched::{JobState, Scheduler};

/// Round trips above this mean the network, not CPU, limits a load.
/// `PGBARGE_SLOW_LINK_RTT_MS` overrides it (0 treats every TCP link as
/// slow), for diagnosis and tests.
const NETWORK_BOUND_RTT: Duration = Duration::from_millis(2);

fn network_bound_rtt() -> Duration {
    std::env::var("PGBARGE_SLOW_LINK_RTT_MS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|ms| *ms >= 0.0)
        .map_or(NETWORK_BOUND_RTT, |ms| Duration::from_secs_f64(ms / 1000.0))
}
/// Rows sampled per table to compare the sizes of text and binary COPY.
const SAMPLE_ROWS: u32 = 1000;
/// Tables checked for emptiness per query.
const EMPTY_CHECK_BATCH: usize = 200;

const SNAPSHOT_HELP: &str = "pgbarge reads every table from one consistent snapshot, which needs \
a direct session to the primary or a standby (not a pooler in transaction mode, e.g. port 6543). \
Connect to the database directly, or pass --no-snapshot to copy tables as of slightly different \
moments (recorded in the report)";

/// One table to load.
#[derive(Debug, Clone)]
pub struct Unit {
    pub source: QualName,
    pub target: QualName,
    /// Quoted, comma-separated column list shared by both COPY commands.
    pub columns: String,
    pub binary: bool,
    pub format_reason: String,
    pub est_rows: u64,
    pub est_bytes: u64,
    /// Empty the table in the load transaction, which allows COPY FREEZE.
    pub truncate: bool,
    /// The target table held no rows when the run began (so a small one
    /// loaded with others needs no TRUNCATE: loads are atomic).
    pub empty_at_start: bool,
    pub copy_data: bool,
    /// Loaded by the interrupted run this one resumes: (rows, bytes).
    pub earlier: Option<(u64, u64)>,
    /// The target table has rules: an INSERT would go through them where
    /// COPY does not, so it loads only by COPY.
    pub ruled: bool,
}

#[derive(Debug, Default, Clone)]
struct Outcome {
    status: String,
    rows: u64,
    bytes: u64,
    seconds: f64,
    error: Option<String>,
    retries: Vec<String>,
}

/// Attempts a table gets when its connection dies under it (a dropped
/// link, a terminated backend, a restarting server), with these pauses.
const RETRY_PAUSES: [u64; 3] = [1, 4, 10];
/// How long a restarting server may take to come back.
const RECONNECT_WINDOW: Duration = Duration::from_secs(60);

struct Ctx {
    settings: CopySettings,
    snapshot: Option<String>,
    units: Vec<Unit>,
    ordering: Ordering,
    /// Per job: the foreign keys dropped and added back in its transaction.
    rebuild: Vec<Vec<catalog::ForeignKey>>,
    sched: Scheduler,
    progress: Arc<Progress>,
    outcomes: Mutex<Vec<Outcome>>,
    /// Keys and indexes of each loading table (schema copies), handed to
    /// the builders as soon as the table's rows are committed.
    early: Mutex<HashMap<QualName, Vec<catalog::model::Statement>>>,
    builders: Mutex<Option<schema::Builders>>,
    /// The run's record on the target (see `runstate`).
    state: Option<RunState>,
}

/// Run `copy --data-only` and return its report. Table failures are in the
/// report; the caller turns them into the exit code.
pub async fn copy(s: &CopySettings) -> Result<RunReport> {
    let started = Instant::now();
    let started_unix = crate::report::unix_now();
    let mode = Mode::detect(s.quiet);
    let say = |m: &str| mode.say(m);

    let (src, mut dst) = tokio::try_join!(
        conn::connect(&s.source, Role::Source),
        conn::connect(&s.target, Role::Target)
    )?;
    let (src_info, dst_info) = tokio::try_join!(src.server_info(), dst.server_info())?;
    if conn::same_database(&src_info, &dst_info) {
        return Err(Error::usage(format!(
            "source {} and target {} are the same database; pgbarge refuses to copy a database onto itself",
            s.source, s.target
        )));
    }
    dst_info.refuse_standby(&s.target)?;
    let _locks = conn::locks::watch(&s.target, mode);
    say(&src_info.describe("source", &s.source));
    say(&dst_info.describe("target", &s.target));

    let snapshot = export_snapshot(&src, s.no_snapshot).await?;
    // A second source session in the snapshot reads part of the catalog
    // beside the first; it connects while the target is looked at. Only
    // an aid: without it the reads share the first session.
    let helper = (!s.data_only)
        .then(|| snapshot.clone())
        .flatten()
        .map(|id| {
            let ep = s.source.clone();
            tokio::spawn(async move { join_snapshot(&ep, Some(&id)).await.ok() })
        });
    let command = if s.data_only {
        "copy --data-only"
    } else {
        "copy"
    };
    let (resumed, leftovers) = tokio::try_join!(
        runstate::resumable(
            &dst.client,
            command,
            s.resume,
            s.clean || (s.data_only && s.truncate),
            &s.target,
            mode,
        ),
        crate::clean::rehearsal_warnings(&dst)
    )?;
    // The run is recorded on the target when its role may: then a failure
    // keeps what is done for --resume instead of undoing it.
    let (run, recordable) = runstate::start(
        &dst.client,
        "copy",
        resumed.as_ref(),
        s.resume,
        &s.target,
        mode,
    )
    .await?;
    let mut state: Option<RunState> = resumed.as_ref().map(|_| run.clone());
    let done = resumed.as_ref().map(|r| r.done.clone()).unwrap_or_default();
    let done_steps = resumed
        .as_ref()
        .map(|r| r.steps.clone())
        .unwrap_or_default();
    if let Some(r) = &resumed {
        say(&format!(
            "resuming {}: {} tables it loaded stay; the others are read in a new snapshot",
            r.describe(),
            r.done.len()
        ));
    }

    let mut warnings = Vec::new();
    if s.no_snapshot {
        warnings.push(
            "--no-snapshot: tables were read in separate transactions and may not be consistent with each other"
                .to_string(),
        );
    }
    warnings.extend(leftovers);
    // Without --data-only: create the schema first (refusing existing
    // objects), and drop it again if the run fails later.
    let mut schema_plan = None;
    let mut schema_report = None;
    let mut created_schemas = Vec::new();
    // The source's tables and schema names, when the plan read them.
    let mut source_read = None;
    if !s.data_only {
        // Nothing is written yet: a stop request simply ends the reading.
        let resuming = resumed.is_some();
        let (mut plan, found, read, misplaced) = tokio::select! {
            r = async {
                let c = &src.client;
                let helper = match helper {
                    Some(h) => h.await.ok().flatten(),
                    None => None,
                };
                // The tables without their sizes (the plan does not need
                // them: they are read below, while the target is checked),
                // and the plan; meanwhile the round trip to the idle
                // target is measured.
                let planned = async {
                    let (tables, names) = tokio::try_join!(
                        catalog::read_tables_with(c, false),
                        catalog::read_schema_names(c)
                    )?;
                    let plan =
                        schema::plan_with(&s.plan_options(), &src, helper.as_ref(), &tables, &names)
                            .await?;
                    Ok::<_, Error>((tables, names, plan))
                };
                let ((tables, names, mut plan), link) =
                    tokio::try_join!(planned, async { measure_link(&dst).await.map_err(Error::Runtime) })?;
                let mut read = (tables, names, link);
                let oids: Vec<u32> = read.0.iter().map(|t| t.oid).collect();
                let (sizes, (found, misplaced)) = tokio::try_join!(
                    async { catalog::table_sizes(c, &oids).await.map_err(Error::Runtime) },
                    async {
                        schema::fit_to_target(&dst, &mut plan).await?;
                        let plan = &plan;
                        tokio::try_join!(
                            async {
                                // A resumed run's objects exist: they are its own.
                                match resuming {
                                    true => Ok(Vec::new()),
                                    false => schema::check_target(&dst, plan, s.clean, s.yes, &s.target).await,
                                }
                            },
                            schema::misplaced_extensions(&dst, plan)
                        )
                    }
                )?;
                for t in &mut read.0 {
                    t.bytes = sizes.get(&t.oid).copied().unwrap_or(0);
                }
                Ok::<_, Error>((plan, found, read, misplaced))
            } => r?,
            _ = stop::wait() => return Err(Error::Interrupted),
        };
        let digest = copy_digest(s, command, Some(&plan));
        // Small tables' keys and indexes go with the schema; a resumed run
        // builds as the interrupted one did.
        let with_schema = match &resumed {
            Some(r) => {
                let names = runstate::built_with_schema(r);
                plan_tables(&plan)
                    .into_iter()
                    .filter(|t| names.contains(&t.to_string()))
                    .collect()
            }
            None => small_tables(&read.0, s, &plan),
        };
        source_read = Some(SourceRead {
            tables: read.0,
            schemas: read.1,
            link: read.2,
            created_now: resumed.is_none(),
            types: None,
            owned: None,
        });
        plan.build_with_tables(&with_schema);
        let mut with_schema: Vec<String> = with_schema.iter().map(|t| t.to_string()).collect();
        with_schema.sort();
        warnings.extend(plan.warnings.iter().cloned());
        warnings.extend(misplaced);
        let t0 = Instant::now();
        if let Some(r) = &resumed {
            runstate::same_run(r, &digest)?;
            runstate::schema_complete(r, &s.target)?;
            say("the schema was created by the interrupted run");
            created_schemas = r.created_schemas.clone();
        } else {
            say(&schema::describe_steps(&plan));
            // The schema goes in as one transaction (several, in turn, when
            // the target's lock table cannot hold it: see apply_pre), which
            // is let finish: a stop request then undoes it (or keeps it for
            // --resume). The run's record commits with the first.
            let record = |schemas: &[String]| {
                if !recordable {
                    return String::new();
                }
                let mut sql = run.begin_sql(
                    command,
                    &s.source.redacted(),
                    &digest,
                    &plan.created,
                    schemas,
                );
                if s.clean {
                    sql.push_str(&forget_others(command, &run));
                }
                let built = run.built_with_schema_sql(&with_schema);
                if !built.is_empty() {
                    sql.push_str(";\n");
                    sql.push_str(&built);
                }
                sql
            };
            // The source, idle meanwhile, is read for the loads' setup.
            let c = &src.client;
            let (applied, types, owned) = tokio::try_join!(
                schema::apply_pre(
                    &mut dst,
                    s.jobs,
                    &plan,
                    &found,
                    recordable.then_some(&run),
                    record,
                ),
                async { TypeCatalog::read(c).await.map_err(Error::Runtime) },
                async {
                    catalog::read_owned_sequences(c)
                        .await
                        .map_err(Error::Runtime)
                }
            )?;
            if let Some(r) = &mut source_read {
                r.types = Some(types);
                r.owned = Some(owned);
            }
            warnings.extend(applied.warnings);
            created_schemas = applied.created;
            if recordable {
                state = Some(run.clone());
            }
        }
        schema_report = Some(schema::report_before_rows(&plan, plan.sequences.len(), t0));
        schema_plan = Some(plan);
    }
    // A rows-only copy carries the large objects too (as pg_dump
    // --data-only does), after the rows; not with chosen tables.
    let rows_only_objects: Vec<u32> = if s.data_only
        && s.patterns.table.is_empty()
        && !s.patterns.leave_out.iter().any(|k| k == "large-object")
    {
        src.client
            .query(
                "SELECT oid FROM pg_catalog.pg_largeobject_metadata ORDER BY 1",
                &[],
            )
            .await
            .map_err(|e| {
                Error::Runtime(anyhow!(
                    "reading the source's large objects: {}",
                    describe_pg(&e)
                ))
            })?
            .iter()
            .map(|r| r.get(0))
            .collect()
    } else {
        Vec::new()
    };
    // Like tables holding rows: ones the target has are replaced only
    // with --truncate.
    if !rows_only_objects.is_empty() && !s.truncate && !lobj::done(&done_steps) {
        let taken: Vec<String> = dst
            .client
            .query(
                "SELECT oid::text FROM pg_catalog.pg_largeobject_metadata WHERE oid = ANY($1) \
                 ORDER BY oid",
                &[&rows_only_objects],
            )
            .await
            .map_err(|e| {
                Error::Runtime(anyhow!(
                    "looking for the source's large objects on the target: {}",
                    describe_pg(&e)
                ))
            })?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if !taken.is_empty() {
            let shown = if taken.len() > 10 {
                format!("{}, ... ({} in all)", taken[..10].join(", "), taken.len())
            } else {
                taken.join(", ")
            };
            return Err(Error::usage(format!(
                "the target already has large objects under the source's oids: {shown}. Rerun \
                 with --truncate to replace their contents, or leave them out with --leave-out \
                 large-object"
            )));
        }
    }
    // The workers' sessions open while the loads are prepared (as many as
    // the jobs, at most one per table the source has).
    let tables = source_read.as_ref().map_or(usize::MAX, |r| {
        r.tables.iter().filter(|t| t.has_storage()).count()
    });
    let mut opened = Some(open_pairs(s, snapshot.clone(), s.jobs.min(tables).max(1)));
    let outcome: Result<RunReport> = async {
        stop::check()?;
        let prepared = tokio::select! {
            r = prepare(s, &src, &dst, &src_info, &dst_info, &mut warnings, &done, source_read) => r?,
            _ = stop::wait() => return Err(Error::Interrupted),
        };
        let loading_names: Vec<String> = prepared
            .units
            .iter()
            .filter(|u| u.copy_data)
            .map(|u| u.target.to_string())
            .collect();
        if recordable {
            // Rows-only copies start their record here, before the first load.
            let mut sql = String::new();
            if state.is_none() {
                if let Some(r) = &resumed {
                    runstate::same_run(r, &copy_digest(s, command, None))?;
                } else {
                    sql = run.begin_sql(command, &s.source.redacted(), &copy_digest(s, command, None), &[], &[]);
                    sql.push_str(&forget_others(command, &run));
                    sql.push_str(";\n");
                }
            }
            sql.push_str(&run.units_sql(&loading_names));
            if !sql.trim().is_empty() {
                dst.client
                    .batch_execute(&sql)
                    .await
                    .pg_context(|| format!("recording the run in schema {} on the target", runstate::SCHEMA))?;
            }
            state = Some(run.clone());
        }
        let Prepared {
            units,
            ordering,
            rebuild,
            link,
            sequences,
        } = prepared;
        for w in &warnings {
            say(&format!("warning: {w}"));
        }
        let to_first_row = crate::report::round3(started.elapsed().as_secs_f64());
        say(&format!(
            "copying {} with {}; {}",
            crate::report::counted(units.iter().filter(|u| u.copy_data).count() as u64, "table"),
            crate::report::counted(s.jobs as u64, "job"),
            ordering.strategy
        ));

        let sizes: Vec<u64> = ordering
            .jobs
            .iter()
            .map(|j| j.units.iter().map(|&u| units[u].est_bytes).sum())
            .collect();
        let est_bytes = units
            .iter()
            .filter(|u| u.copy_data)
            .map(|u| u.est_bytes)
            .sum();
        let progress = Progress::new(
            mode,
            units.iter().filter(|u| u.copy_data).count(),
            est_bytes,
        );
        // Dropping a foreign key locks its parent exclusively: jobs that
        // drop keys to the same parent run one after the other.
        let mut parents: HashMap<&QualName, usize> = HashMap::new();
        let locks: Vec<Vec<usize>> = rebuild
            .iter()
            .map(|keys| {
                keys.iter()
                    .map(|k| {
                        let n = parents.len();
                        *parents.entry(&k.parent).or_insert(n)
                    })
                    .collect()
            })
            .collect();
        let sched = Scheduler::new(&ordering.jobs, sizes, locks);
        // A PostgreSQL 18+ target takes the source's planner statistics
        // instead of running ANALYZE (schema copies: the tables are new).
        let mut stats_sql: HashMap<QualName, String> = HashMap::new();
        if schema_plan.is_some() && dst_info.major() >= 18 {
            let sources: Vec<QualName> = units.iter().map(|u| u.source.clone()).collect();
            let found = catalog::stats::read(&src.client, src_info.major(), &sources).await?;
            for u in &units {
                if let Some(sql) = found.get(&u.source).and_then(|st| {
                    catalog::stats::restore_sql(&u.target, st)
                }) {
                    stats_sql.insert(u.target.clone(), sql);
                }
            }
        }
        // Schema copies build each table's keys and indexes while other
        // tables still load; what belongs to no single loaded table waits.
        let mut early = HashMap::new();
        let mut remaining = Vec::new();
        let mut builders = None;
        if let Some(plan) = &schema_plan {
            let loading: HashSet<&QualName> = units
                .iter()
                .filter(|u| u.copy_data)
                .map(|u| &u.target)
                .collect();
            let earlier: HashSet<&QualName> = units
                .iter()
                .filter(|u| u.earlier.is_some())
                .map(|u| &u.target)
                .collect();
            (early, remaining) = schema::split_early(
                plan,
                &loading.union(&earlier).copied().collect(),
                &stats_sql,
            );
            // Keys, indexes and statistics of tables the resumed run loaded
            // are built with the rest, unless they were built then.
            for t in earlier {
                remaining.extend(early.remove(t).unwrap_or_default());
            }
            remaining.retain(|st| !done_steps.contains(&runstate::step_key(&st.sql)));
            builders = Some(schema::Builders::spawn(
                &s.target,
                s.jobs.div_ceil(2).min(plan.indexes.len()),
                state.clone(),
            ));
        }
        let small: HashSet<QualName> = units
            .iter()
            .filter(|u| u.est_bytes < schema::SMALL_TABLE_BYTES)
            .map(|u| u.target.clone())
            .collect();
        let ctx = Arc::new(Ctx {
            early: Mutex::new(early),
            builders: Mutex::new(builders),
            settings: s.clone(),
            snapshot: snapshot.clone(),
            sched,
            rebuild,
            outcomes: Mutex::new(vec![Outcome::default(); units.len()]),
            units,
            ordering,
            progress: progress.clone(),
            state: state.clone(),
        });

        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let ticker = tokio::spawn(progress.clone().run_ticker(stop_rx));
        let run = run_workers(ctx.clone(), opened.take()).await;
        let _ = stop_tx.send(());
        let _ = ticker.await;
        run?;
        // The coordinator's own target session may have died with a
        // restart or failover the workers rode out: it is needed below.
        if dst.client.is_closed() && !stop::requested() {
            dst = reconnect_target(&s.target).await?;
        }

        // Sequences only once every table they feed is in.
        let all_ok = !stop::requested()
            && ctx.sched.states().iter().all(|st| *st == JobState::Done);
        let builders = ctx
            .builders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let seq_reports = match (&schema_plan, all_ok, builders) {
            (Some(plan), true, Some(mut builders)) => {
                // The loads are done: their sessions' share of the target
                // goes to building what is queued.
                builders.widen(s.jobs);
                if !plan.large_objects.is_empty() {
                    say(&format!(
                        "copying {} large objects",
                        plan.large_objects.len()
                    ));
                    let t0 = Instant::now();
                    match lobj::copy(&src.client, &mut dst, &plan.large_objects, false, state.as_ref(), &done_steps)
                        .await?
                    {
                        Some((n, bytes)) => {
                            say(&format!(
                                "copied {n} large objects, {} in {:.1}s",
                                indicatif::HumanBytes(bytes),
                                t0.elapsed().as_secs_f64()
                            ));
                            if let Some(r) = schema_report.as_mut() {
                                r.large_objects = n;
                                r.large_object_bytes = bytes;
                            }
                        }
                        None => say("the large objects were copied by the interrupted run"),
                    }
                }
                say(&if remaining.is_empty() {
                    "keys and indexes were built as their tables finished; now foreign keys, \
                     triggers and the rest"
                        .to_string()
                } else {
                    format!(
                        "building the remaining keys, indexes and statistics ({} statements), \
                         then foreign keys, triggers and the rest",
                        remaining.len()
                    )
                });
                let t0 = Instant::now();
                // Tables were analyzed as they finished (see `early`).
                let values = schema::read_sequences(&src, plan).await?;
                let late = tokio::select! {
                    r = schema::apply_post(&s.target, s.jobs, plan, builders, remaining, &values, state.as_ref(), &done_steps, &small) => r?,
                    _ = stop::wait() => return Err(Error::Interrupted),
                };
                for w in &late {
                    say(&format!("warning: {w}"));
                }
                warnings.extend(late);
                if let Some(r) = schema_report.as_mut() {
                    r.seconds_after_rows = crate::report::round3(t0.elapsed().as_secs_f64());
                }
                // The report lists each sequence set, as a rows-only copy's does.
                plan.sequences
                    .iter()
                    .zip(&values)
                    .map(|((from, _), v)| SequenceReport {
                        source: from.to_string(),
                        target: v.sequence.to_string(),
                        last_value: v.last_value,
                        is_called: v.is_called,
                    })
                    .collect()
            }
            (None, true, _) => {
                if !rows_only_objects.is_empty() {
                    say(&format!("copying {} large objects", rows_only_objects.len()));
                    let t0 = Instant::now();
                    match lobj::copy(&src.client, &mut dst, &rows_only_objects, true, state.as_ref(), &done_steps)
                        .await?
                    {
                        Some((n, bytes)) => say(&format!(
                            "copied {n} large objects, {} in {:.1}s",
                            indicatif::HumanBytes(bytes),
                            t0.elapsed().as_secs_f64()
                        )),
                        None => say("the large objects were copied by the interrupted run"),
                    }
                }
                let mut late = Vec::new();
                let set = set_sequences(&src, &dst, &sequences, &mut late).await?;
                for w in &late {
                    say(&format!("warning: {w}"));
                }
                warnings.extend(late);
                set
            }
            (_, _, builders) => {
                if let Some(b) = builders {
                    // The run failed: let started builds end before undoing.
                    let _ = b.finish().await;
                }
                Vec::new()
            }
        };
        // The snapshot is held until every worker is done with it.
        let _ = src.client.batch_execute("COMMIT").await;
        let finished = all_ok
            && ctx.outcomes.lock().unwrap_or_else(|p| p.into_inner()).iter().zip(&ctx.units)
                .all(|(o, u)| !u.copy_data || o.status == "ok");
        if let (Some(state), true) = (&state, finished) {
            state.finish(&dst.client).await?;
        }

        let outcomes = ctx
            .outcomes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut tables: Vec<TableReport> = ctx
            .units
            .iter()
            .zip(outcomes)
            .map(|(u, o)| TableReport {
                source: u.source.to_string(),
                target: u.target.to_string(),
                status: if u.earlier.is_some() {
                    "ok".into()
                } else if u.copy_data {
                    if o.status.is_empty() {
                        "not-run".into()
                    } else {
                        o.status
                    }
                } else {
                    "data-excluded".into()
                },
                rows: u.earlier.map_or(o.rows, |e| e.0),
                bytes: u.earlier.map_or(o.bytes, |e| e.1),
                format: if u.binary { "binary" } else { "text" }.into(),
                format_reason: u.format_reason.clone(),
                seconds: (o.seconds * 1000.0).round() / 1000.0,
                error: o.error,
                retries: o.retries,
                earlier: u.earlier.is_some(),
                statistics: schema_plan.as_ref().filter(|_| u.copy_data || u.earlier.is_some()).map(|plan| {
                    if stats_sql.contains_key(&u.target) {
                        "carried from the source".to_string()
                    } else if plan.no_analyze.contains(&u.target) {
                        "none (a foreign table inherits from it)".to_string()
                    } else {
                        "ANALYZE".to_string()
                    }
                }),
            })
            .collect();
        tables.sort_by(|a, b| a.source.cmp(&b.source));
        let ok = !stop::requested()
            && tables
                .iter()
                .all(|t| t.status == "ok" || t.status == "data-excluded");
        Ok(RunReport {
            tool: "pgbarge".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            command: "copy".into(),
            started_unix,
            seconds: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
            seconds_to_first_row: Some(to_first_row),
            source: endpoint_report(&s.source, &src_info),
            target: endpoint_report(&s.target, &dst_info),
            snapshot,
            no_snapshot: s.no_snapshot,
            jobs: s.jobs,
            format: format!("{:?}", s.format).to_lowercase(),
            foreign_keys: ctx.ordering.strategy.clone(),
            link,
            total_rows: tables.iter().map(|t| t.rows).sum(),
            total_bytes: tables.iter().map(|t| t.bytes).sum(),
            tables,
            sequences: seq_reports,
            schema: schema_report.clone(),
            warnings,
            ok,
            interrupted: stop::requested(),
            left_on_target: None,
            resumed: resumed.as_ref().map(|r| {
                format!(
                    "resumed run {} ({}): tables marked \"earlier\" were loaded by it, in its snapshot; \
                     the others in this run's snapshot",
                    r.id,
                    r.describe()
                )
            }),
        })
    }
    .await;
    let mut outcome = outcome;
    let failed = match &outcome {
        Err(_) => true,
        Ok(r) => !r.ok,
    };
    if !failed {
        return outcome;
    }
    let why = if stop::requested() {
        "the run was interrupted"
    } else {
        "the run failed"
    };
    if state.is_some() {
        // Recorded: what committed stays, for --resume.
        let tables = match &outcome {
            Ok(r) => format!(
                "{} of {} tables",
                r.tables.iter().filter(|t| t.status == "ok").count(),
                r.tables
                    .iter()
                    .filter(|t| t.status != "data-excluded")
                    .count()
            ),
            Err(_) => "every table that loaded".into(),
        };
        let what = if schema_plan.is_some() {
            "the schema and "
        } else {
            ""
        };
        let left = format!(
            "{what}{tables}, each loaded whole and recorded in schema {}; continue with \
             the same command and --resume, or remove what this run made with \
             `pgbarge clean --target {}`",
            runstate::SCHEMA,
            s.target
        );
        match outcome.as_mut() {
            Ok(r) => r.left_on_target = Some(left),
            // No report and summary follow an error: say it here.
            Err(_) => say(&format!("on the target: {left}")),
        }
        return outcome;
    }
    if let Some(plan) = &schema_plan {
        say(&format!(
            "{why}: dropping the objects it created on the target"
        ));
        let problems = schema::undo(&s.target, &plan.created, &created_schemas).await;
        for p in &problems {
            say(&format!("warning: clean-up: {p}"));
        }
        if let Ok(r) = outcome.as_mut() {
            // What loaded went with the rest: the report must not call it done.
            for t in r.tables.iter_mut().filter(|t| t.status == "ok") {
                t.status = "dropped".into();
                t.error = Some(format!("loaded, then dropped: {why}"));
            }
            r.left_on_target = Some(if problems.is_empty() {
                "nothing: every object this run created was dropped".into()
            } else {
                format!(
                    "some objects this run created could not be dropped: {}",
                    problems.join("; ")
                )
            });
        }
    } else if let Ok(r) = outcome.as_mut() {
        let kept = r.tables.iter().filter(|t| t.status == "ok").count();
        r.left_on_target = Some(format!(
            "{kept} of {} tables loaded and committed, each whole; the others are as they were",
            r.tables.len()
        ));
    }
    outcome
}

fn endpoint_report(ep: &conn::Endpoint, info: &ServerInfo) -> EndpointReport {
    EndpointReport {
        url: ep.redacted(),
        server_version: info.version.clone(),
        tls: info.tls,
    }
}

struct Prepared {
    units: Vec<Unit>,
    ordering: Ordering,
    rebuild: Vec<Vec<catalog::ForeignKey>>,
    link: LinkReport,
    sequences: Vec<(catalog::OwnedSequence, QualName)>,
}

/// Everything decided before the first write: selection, target checks,
/// formats, order. Returns a usage error for anything the user must fix.
#[allow(clippy::too_many_arguments)]
async fn prepare(
    s: &CopySettings,
    src: &Session,
    dst: &Session,
    src_info: &ServerInfo,
    dst_info: &ServerInfo,
    warnings: &mut Vec<String>,
    done: &HashMap<String, (u64, u64)>,
    read: Option<SourceRead>,
) -> Result<Prepared> {
    let c = &src.client;
    let created_now = read.as_ref().is_some_and(|r| r.created_now);
    let measured = read.as_ref().map(|r| r.link.clone());
    let (types, owned, tables) = match read {
        Some(r) => (r.types, r.owned, Some((r.tables, r.schemas))),
        None => (None, None, None),
    };
    let (src_types, owned, (src_tables, schemas)) = tokio::try_join!(
        async {
            match types {
                Some(t) => Ok(t),
                None => TypeCatalog::read(c).await,
            }
        },
        async {
            match owned {
                Some(o) => Ok(o),
                None => catalog::read_owned_sequences(c).await,
            }
        },
        async {
            match tables {
                Some(t) => Ok(t),
                None => tokio::try_join!(catalog::read_tables(c), catalog::read_schema_names(c)),
            }
        }
    )?;
    let chosen = select::select(&src_tables, &schemas, &s.patterns).map_err(Error::Usage)?;
    for (from, _) in &s.schema_map {
        if !schemas.contains(from) {
            return Err(Error::usage(format!(
                "--schema-map: the source has no schema \"{from}\""
            )));
        }
    }
    // Which target tables this role may empty, asked with the target's
    // tables (one round trip), for every table that could load.
    let candidates: Vec<QualName> = chosen
        .iter()
        .map(|c| &src_tables[c.index])
        .filter(|t| t.has_storage())
        .map(|t| QualName::new(s.map_schema(&t.name.schema), t.name.name.clone()))
        .collect();
    let (dst_tables, fks, truncatable) = tokio::try_join!(
        catalog::read_tables_with(&dst.client, false),
        catalog::read_foreign_keys(&dst.client),
        truncate_privileges(&dst.client, &candidates)
    )?;
    let truncatable: HashSet<&QualName> = candidates
        .iter()
        .zip(truncatable)
        .filter_map(|(n, ok)| ok.then_some(n))
        .collect();
    let dst_by_name: HashMap<&QualName, &Table> = dst_tables.iter().map(|t| (&t.name, t)).collect();

    let mut problems = Vec::new();
    let mut pairs: Vec<(&Table, &Table, bool)> = Vec::new();
    for c in &chosen {
        let t = &src_tables[c.index];
        if !t.has_storage() {
            continue;
        }
        let target = QualName::new(s.map_schema(&t.name.schema), t.name.name.clone());
        match dst_by_name.get(&target) {
            None => problems.push(format!(
                "the target has no table {target} (for source table {}); create it first",
                t.name
            )),
            Some(d) if !d.has_storage() => problems.push(format!(
                "target {target} is partitioned but source {} is a plain table or partition; \
                 the partitions must match by name",
                t.name
            )),
            Some(d) => pairs.push((t, d, c.copy_data && !s.schema_only)),
        }
    }
    // A schema copy of schemas without tables (types, functions) is
    // whole once its schema is made; rows alone need a table.
    if pairs.is_empty() && problems.is_empty() && s.data_only {
        return Err(Error::usage(
            "nothing to copy: the selection holds no table with rows of its own",
        ));
    }

    let link = match measured {
        Some(link) => link,
        None => measure_link(dst).await?,
    };
    let majors_differ = src_info.major() != dst_info.major();
    // Targets before 14 reject user-type OIDs inside binary arrays and
    // composites (see catalog::types).
    let strict_oids = dst_info.major() < 14;
    let mut units = Vec::new();
    for (st, dt, copy_data) in pairs {
        let types = TypeRules {
            catalog: &src_types,
            majors_differ,
            strict_oids,
        };
        match build_unit(s, st, dt, copy_data, &types, &link) {
            Ok(mut u) => {
                // Loaded and committed by the run being resumed.
                if let Some(d) = done.get(&u.target.to_string()).filter(|_| u.copy_data) {
                    u.copy_data = false;
                    u.earlier = Some(*d);
                }
                units.push(u)
            }
            Err(p) => problems.push(p),
        }
    }
    if !problems.is_empty() {
        return Err(Error::usage(format!(
            "cannot copy:\n  - {}",
            problems.join("\n  - ")
        )));
    }
    if link.network_bound && s.format == CopyFormat::Auto {
        sample_formats(&src.client, &mut units).await?;
    }

    // Which target tables are referenced by a foreign key (from anywhere).
    let referenced: HashSet<&QualName> = fks.iter().map(|k| &k.parent).collect();
    // Tables this run has just created hold no rows, nor rules yet (those
    // come after the rows).
    let (non_empty, ruled) = tokio::try_join!(
        async {
            match created_now {
                true => Ok(Vec::new()),
                false => non_empty_tables(&dst.client, &units).await,
            }
        },
        async {
            match created_now {
                true => Ok(vec![false; units.len()]),
                false => ruled_tables(&dst.client, &units).await,
            }
        }
    )?;
    if !non_empty.is_empty() && !s.truncate {
        let names: Vec<String> = non_empty
            .iter()
            .map(|&i| units[i].target.to_string())
            .collect();
        return Err(Error::usage(format!(
            "these target tables already hold rows: {}. Rerun with --truncate to replace their \
             contents, or leave them out with --exclude-table",
            names.join(", ")
        )));
    }
    for (i, u) in units.iter_mut().enumerate() {
        u.truncate =
            u.copy_data && truncatable.contains(&u.target) && !referenced.contains(&u.target);
        u.empty_at_start = !non_empty.contains(&i);
        u.ruled = ruled.get(i).copied().unwrap_or(true);
    }
    if s.truncate {
        empty_referenced(&dst.client, &units, &non_empty, &fks).await?;
    }

    // Order only the tables that load; job units map back to `units`.
    let loading: Vec<usize> = (0..units.len()).filter(|&i| units[i].copy_data).collect();
    let index: HashMap<&QualName, usize> = loading
        .iter()
        .enumerate()
        .map(|(local, &i)| (&units[i].target, local))
        .collect();
    let edges: Vec<Edge> = fks
        .iter()
        .filter_map(|k| {
            Some(Edge {
                child: *index.get(&k.child)?,
                parent: *index.get(&k.parent)?,
                name: k.name.clone(),
                deferrable: k.deferrable,
            })
        })
        .collect();
    let names: Vec<String> = loading
        .iter()
        .map(|&i| units[i].target.to_string())
        .collect();
    if s.disable_triggers {
        dst.client
            .batch_execute("SET session_replication_role = replica; RESET session_replication_role")
            .await
            .map_err(|e| {
                Error::usage(format!(
                    "--disable-triggers needs a role that may set session_replication_role \
                     (a superuser, or one granted SET on it): {}",
                    describe_pg(&e)
                ))
            })?;
    }
    let mut ordering = order::order(&names, &edges, s.disable_triggers).map_err(Error::Usage)?;
    for j in &mut ordering.jobs {
        for u in &mut j.units {
            *u = loading[*u];
        }
    }
    let rebuild = plan_rebuild(s, &units, &ordering, &fks);
    let count: usize = rebuild.iter().map(Vec::len).sum();
    let kept = fks
        .iter()
        .filter(|k| {
            loading.iter().any(|&i| units[i].target == k.child)
                && !rebuild.iter().flatten().any(|r| r == *k)
        })
        .count();
    if count > 0 {
        ordering.strategy.push_str(&format!(
            "; {count} foreign key(s) dropped and added back in their table's load transaction \
             (checked once, not per row)"
        ));
    }
    if kept > 0 && !s.disable_triggers {
        ordering
            .strategy
            .push_str(&format!("; {kept} foreign key(s) checked row by row"));
    }

    let loaded: HashSet<&QualName> = units
        .iter()
        .filter(|u| u.copy_data)
        .map(|u| &u.source)
        .collect();
    let mut sequences = Vec::new();
    for o in owned {
        if loaded.contains(&o.table) {
            let target = QualName::new(s.map_schema(&o.table.schema), o.table.name.clone());
            sequences.push((o, target));
        }
    }
    if majors_differ {
        warnings.push(format!(
            "source is PostgreSQL {} and target {}: binary COPY is used only for core types",
            src_info.major(),
            dst_info.major()
        ));
    }
    Ok(Prepared {
        units,
        ordering,
        rebuild,
        link,
        sequences,
    })
}

/// What the schema plan read of the source, for `prepare`.
struct SourceRead {
    tables: Vec<Table>,
    schemas: Vec<String>,
    /// The target's tables were created by this run (not resumed).
    created_now: bool,
    /// The round trip to the target, measured while the plan was read.
    link: LinkReport,
    /// The source's types and owned sequences, when read already.
    types: Option<TypeCatalog>,
    owned: Option<Vec<catalog::OwnedSequence>>,
}

/// The tables (target names) whose keys, indexes or foreign keys the
/// plan builds after the rows.
fn plan_tables(plan: &SchemaPlan) -> HashSet<QualName> {
    plan.index_tables
        .iter()
        .flatten()
        .chain(
            plan.validations
                .iter()
                .filter_map(|v| v.part.as_ref().map(|p| &p.table)),
        )
        .cloned()
        .collect()
}

/// The tables of `plan` small enough (on the source, `source`) to have
/// their keys and indexes built with the schema (see
/// `SchemaPlan::build_with_tables`): under [`SMALL_LOAD_BYTES`], or all of
/// them when no row is copied.
fn small_tables(source: &[Table], s: &CopySettings, plan: &SchemaPlan) -> HashSet<QualName> {
    let mut tables = plan_tables(plan);
    if tables.is_empty() || s.schema_only {
        return tables;
    }
    let small: HashSet<QualName> = source
        .iter()
        .filter(|t| t.has_storage() && (t.bytes.max(0) as u64) < SMALL_LOAD_BYTES)
        .map(|t| QualName::new(s.map_schema(&t.name.schema), t.name.name.clone()))
        .collect();
    tables.retain(|t| small.contains(t));
    tables
}

/// Per job, the foreign keys of its table to drop and add back in its
/// load transaction. Not with `--keep-foreign-keys` or
/// `--disable-triggers` (nothing fires then), not for foreign-key cycles
/// (loaded with deferred keys), and only keys `read_foreign_keys` found
/// safe to rebuild.
fn plan_rebuild(
    s: &CopySettings,
    units: &[Unit],
    ordering: &Ordering,
    fks: &[catalog::ForeignKey],
) -> Vec<Vec<catalog::ForeignKey>> {
    ordering
        .jobs
        .iter()
        .map(|job| {
            if s.keep_foreign_keys || s.disable_triggers || job.deferred || job.units.len() != 1 {
                return Vec::new();
            }
            let table = &units[job.units[0]].target;
            let mut keys: Vec<catalog::ForeignKey> = fks
                .iter()
                .filter(|k| &k.child == table && k.rebuild.is_some())
                .cloned()
                .collect();
            // One global order of parent locks: no two loads can deadlock.
            keys.sort_by(|a, b| (&a.parent, &a.name).cmp(&(&b.parent, &b.name)));
            keys
        })
        .collect()
}

/// What decides whether a column may travel in binary.
struct TypeRules<'a> {
    catalog: &'a TypeCatalog,
    majors_differ: bool,
    strict_oids: bool,
}

fn build_unit(
    s: &CopySettings,
    st: &Table,
    dt: &Table,
    copy_data: bool,
    types: &TypeRules,
    link: &LinkReport,
) -> std::result::Result<Unit, String> {
    let mut cols = Vec::new();
    let mut text_reason: Option<String> = None;
    for c in st.columns.iter().filter(|c| !c.generated) {
        let Some(d) = dt.columns.iter().find(|d| d.name == c.name) else {
            return Err(format!(
                "target table {} has no column \"{}\" (source table {} has it)",
                dt.name, c.name, st.name
            ));
        };
        if d.generated {
            return Err(format!(
                "column \"{}\" of target table {} is generated, but source table {} stores it",
                c.name, dt.name, st.name
            ));
        }
        cols.push(catalog::quote_ident(&c.name));
        if text_reason.is_some() {
            continue;
        }
        if let Some(why) = types.catalog.binary_blocker(c.type_oid, types.strict_oids) {
            text_reason = Some(format!("column \"{}\": {why}", c.name));
        } else if crate::ddl::lexer::rename_type(&c.type_name, &s.schema_map) != d.type_name {
            text_reason = Some(format!(
                "column \"{}\" is {} on the source and {} on the target",
                c.name, c.type_name, d.type_name
            ));
        } else if types.majors_differ && types.catalog.is_non_core_base(c.type_oid) {
            text_reason = Some(format!(
                "column \"{}\": binary form of {} may differ between major versions",
                c.name, c.type_name
            ));
        }
    }
    let (binary, reason) = match (s.format, text_reason) {
        (_, Some(why)) => (false, format!("text: {why}")),
        (CopyFormat::Text, None) => (false, "text: --format text".into()),
        (CopyFormat::Binary, None) => (true, "binary: --format binary".into()),
        (CopyFormat::Auto, None) if !link.network_bound => (
            true,
            format!(
                "binary: fast link (rtt {:.2} ms), binary costs the servers less CPU",
                link.rtt_ms
            ),
        ),
        // Decided by sample_formats.
        (CopyFormat::Auto, None) => (true, String::new()),
    };
    Ok(Unit {
        source: st.name.clone(),
        target: dt.name.clone(),
        columns: cols.join(", "),
        binary,
        format_reason: reason,
        est_rows: st.est_rows.max(0) as u64,
        est_bytes: st.bytes.max(0) as u64,
        truncate: false,
        empty_at_start: false,
        ruled: false,
        copy_data,
        earlier: None,
    })
}

/// Best of a few round trips to the target.
async fn measure_link(dst: &Session) -> anyhow::Result<LinkReport> {
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        dst.client
            .simple_query("")
            .await
            .pg_context(|| "measuring the round trip to the target".into())?;
        best = best.min(t.elapsed());
    }
    let network_bound = !dst.endpoint.is_unix_socket() && best > network_bound_rtt();
    Ok(LinkReport {
        rtt_ms: (best.as_secs_f64() * 1e5).round() / 100.0,
        network_bound,
    })
}

/// On a slow link the bytes on the wire decide: COPY a sample of each
/// table both ways and keep the smaller encoding. Not for small tables
/// (`SMALL_LOAD_BYTES`): there round trips decide, not bytes, and text
/// lets them load many to a round trip (`load_by_insert`); two samples
/// each cost more than their rows (thousands of round trips to a distant
/// source for a schema of thousands of tables).
async fn sample_formats(src: &tokio_postgres::Client, units: &mut [Unit]) -> anyhow::Result<()> {
    for u in units
        .iter_mut()
        .filter(|u| u.binary && u.format_reason.is_empty())
    {
        if u.est_bytes < SMALL_LOAD_BYTES {
            u.binary = false;
            u.format_reason =
                "text: network-bound link, a small table (loads with others, by INSERT)".into();
            continue;
        }
        let mut size = [0u64; 2];
        for (i, fmt) in ["binary", "text"].iter().enumerate() {
            let sql = format!(
                "COPY (SELECT {} FROM ONLY {} LIMIT {SAMPLE_ROWS}) TO STDOUT (FORMAT {fmt})",
                u.columns,
                u.source.quoted()
            );
            let stream = src
                .copy_out(&sql)
                .await
                .pg_context(|| format!("sampling source table {}", u.source))?;
            futures_util::pin_mut!(stream);
            while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
                size[i] += chunk
                    .pg_context(|| format!("sampling source table {}", u.source))?
                    .len() as u64;
            }
        }
        let [bin, text] = size;
        if text < bin {
            u.binary = false;
            u.format_reason = format!(
                "text: network-bound link, text is {:.0}% smaller on a {SAMPLE_ROWS}-row sample",
                100.0 * (bin - text) as f64 / bin.max(1) as f64
            );
        } else {
            u.format_reason = format!(
                "binary: network-bound link, binary is {:.0}% smaller on a {SAMPLE_ROWS}-row sample",
                100.0 * (text - bin) as f64 / text.max(1) as f64
            );
        }
    }
    Ok(())
}

/// Whether this role may TRUNCATE each of `tables` on the target (false
/// for one that does not exist).
async fn truncate_privileges(
    c: &tokio_postgres::Client,
    tables: &[QualName],
) -> anyhow::Result<Vec<bool>> {
    let names: Vec<String> = tables.iter().map(|t| t.quoted()).collect();
    let rows = c
        .query_typed(
            "SELECT coalesce(pg_catalog.has_table_privilege(pg_catalog.to_regclass(n), 'TRUNCATE'), \
             false) FROM pg_catalog.unnest($1::text[]) WITH ORDINALITY AS u(n, i) ORDER BY i",
            &[(&names, Type::TEXT_ARRAY)],
        )
        .await
        .pg_context(|| "checking TRUNCATE privileges on the target".into())?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Whether each unit's target table has rules (other than a view's).
async fn ruled_tables(c: &tokio_postgres::Client, units: &[Unit]) -> anyhow::Result<Vec<bool>> {
    let names: Vec<String> = units.iter().map(|u| u.target.quoted()).collect();
    let rows = c
        .query_typed(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite r \
                             WHERE r.rulename <> '_RETURN' AND r.ev_class = pg_catalog.to_regclass(n)) \
               FROM pg_catalog.unnest($1::text[]) WITH ORDINALITY AS u(n, i) ORDER BY i",
            &[(&names, Type::TEXT_ARRAY)],
        )
        .await
        .pg_context(|| "looking for rules on the target tables".into())?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Indices of units whose target table holds at least one row.
async fn non_empty_tables(
    c: &tokio_postgres::Client,
    units: &[Unit],
) -> anyhow::Result<Vec<usize>> {
    let candidates: Vec<usize> = (0..units.len()).filter(|&i| units[i].copy_data).collect();
    let mut found = Vec::new();
    for batch in candidates.chunks(EMPTY_CHECK_BATCH) {
        let sql = batch
            .iter()
            .map(|&i| {
                format!(
                    "SELECT {i} WHERE EXISTS (SELECT 1 FROM ONLY {})",
                    units[i].target.quoted()
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let rows = c
            .query_typed(&sql, &[])
            .await
            .pg_context(|| "checking whether target tables are empty".into())?;
        found.extend(rows.iter().map(|r| r.get::<_, i32>(0) as usize));
    }
    found.sort();
    Ok(found)
}

/// With `--truncate`, a non-empty table that a foreign key references
/// cannot be emptied alone inside its load; empty it up front together with
/// every table that references it, in one statement.
async fn empty_referenced(
    c: &tokio_postgres::Client,
    units: &[Unit],
    non_empty: &[usize],
    fks: &[catalog::ForeignKey],
) -> Result<()> {
    let selected: HashSet<&QualName> = units.iter().map(|u| &u.target).collect();
    let mut set: Vec<&QualName> = non_empty
        .iter()
        .map(|&i| &units[i].target)
        .filter(|t| fks.iter().any(|k| &k.parent == *t))
        .collect();
    if set.is_empty() {
        return Ok(());
    }
    let mut i = 0;
    while i < set.len() {
        let parent = set[i];
        for k in fks.iter().filter(|k| &k.parent == parent) {
            if !selected.contains(&k.child) {
                return Err(Error::usage(format!(
                    "--truncate cannot empty {parent}: table {} references it (foreign key {}) \
                     and is not selected; select it too or empty it first",
                    k.child, k.name
                )));
            }
            if !set.contains(&&k.child) {
                set.push(&k.child);
            }
        }
        i += 1;
    }
    let list: Vec<String> = set.iter().map(|n| n.quoted()).collect();
    c.batch_execute(&format!("TRUNCATE ONLY {}", list.join(", ")))
        .await
        .map_err(|e| {
            Error::Runtime(anyhow!(
                "emptying target tables {}: {}",
                list.join(", "),
                describe_pg(&e)
            ))
        })?;
    Ok(())
}

/// A worker's pair of sessions, source (in the run's snapshot) and target.
async fn open_worker(ctx: &Ctx) -> anyhow::Result<(Session, Session)> {
    open_pair(&ctx.settings, ctx.snapshot.as_deref()).await
}

/// A worker's pair of sessions: source (in `snapshot`) and target.
async fn open_pair(s: &CopySettings, snapshot: Option<&str>) -> anyhow::Result<(Session, Session)> {
    tokio::try_join!(join_snapshot(&s.source, snapshot), open_target(s))
}

/// Workers' sessions being opened (see `open_pairs`).
type Opening = tokio::task::JoinHandle<anyhow::Result<Vec<(Session, Session)>>>;

/// `n` workers' sessions, opened in the background while the coordinator
/// still prepares (on a distant target a connection costs several round
/// trips the first load need not wait for).
fn open_pairs(s: &CopySettings, snapshot: Option<String>, n: usize) -> Opening {
    let s = s.clone();
    tokio::spawn(async move {
        let opened = (0..n).map(|_| open_pair(&s, snapshot.as_deref()));
        futures_util::future::try_join_all(opened).await
    })
}

/// A source session in a read-only transaction that sees `snapshot`
/// (exported by the coordinator), or its own when there is none.
pub async fn join_snapshot(ep: &conn::Endpoint, snapshot: Option<&str>) -> anyhow::Result<Session> {
    let s = conn::connect(ep, Role::Source).await?;
    s.client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .pg_context(|| "starting a source transaction".into())?;
    if let Some(id) = snapshot {
        s.client
            .batch_execute(&format!("SET TRANSACTION SNAPSHOT {}", quote_literal(id)))
            .await
            .map_err(|e| {
                anyhow!(
                    "a worker could not join the source snapshot: {}\n{SNAPSHOT_HELP}",
                    describe_pg(&e)
                )
            })?;
    }
    Ok(s)
}

/// Begin the coordinator's read-only transaction on the source and
/// export its snapshot for the workers (none with `no_snapshot`).
pub async fn export_snapshot(src: &Session, no_snapshot: bool) -> anyhow::Result<Option<String>> {
    src.client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .pg_context(|| "starting the source transaction".into())?;
    if no_snapshot {
        return Ok(None);
    }
    let row = src
        .client
        .query_one("SELECT pg_catalog.pg_export_snapshot()", &[])
        .await
        .map_err(|e| {
            anyhow!(
                "the source cannot export a snapshot: {}\n{SNAPSHOT_HELP}",
                describe_pg(&e)
            )
        })?;
    Ok(Some(row.get::<_, String>(0)))
}

/// Fresh sessions for a retry, trying for `RECONNECT_WINDOW` (a server
/// that restarts or fails over takes a while to accept connections).
async fn reconnect(ctx: &Ctx) -> anyhow::Result<(Session, Session)> {
    within_reconnect_window(|| open_worker(ctx)).await
}

/// A fresh target session, trying for up to the reconnect window.
pub async fn reconnect_target(target: &conn::Endpoint) -> anyhow::Result<Session> {
    within_reconnect_window(|| conn::connect(target, Role::Target)).await
}

/// Try `attempt` every 2 s until it succeeds, the reconnect window (a
/// restarting or failing-over server) is over, or a stop is requested.
async fn within_reconnect_window<T, F, Fut>(mut attempt: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let until = Instant::now() + RECONNECT_WINDOW;
    loop {
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= until || stop::requested() => return Err(e),
            Err(_) => {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = stop::wait() => {}
                }
            }
        }
    }
}

async fn open_target(settings: &CopySettings) -> anyhow::Result<Session> {
    let s = conn::connect(&settings.target, Role::Target).await?;
    if settings.disable_triggers {
        s.client
            .batch_execute("SET session_replication_role = replica")
            .await
            .pg_context(|| "disabling triggers on the target".into())?;
    }
    Ok(s)
}

/// Run the loads on `jobs` workers, with the sessions `opened` early
/// (see `open_pairs`) and as many more as they need.
async fn run_workers(ctx: Arc<Ctx>, opened: Option<Opening>) -> Result<()> {
    let n = ctx.settings.jobs.min(ctx.ordering.jobs.len()).max(1);
    // Open every session before the first load: a refused connection
    // should stop the run before any row moves.
    let mut sessions = match opened {
        Some(h) => h.await.map_err(|e| anyhow!("worker start: {e}"))??,
        None => Vec::new(),
    };
    sessions.truncate(n);
    let mut opening = JoinSet::new();
    for _ in sessions.len()..n {
        let c = ctx.clone();
        opening.spawn(async move { open_worker(&c).await });
    }
    while let Some(r) = opening.join_next().await {
        sessions.push(r.map_err(|e| anyhow!("worker start: {e}"))??);
    }
    let mut workers = JoinSet::new();
    for (src, dst) in sessions {
        workers.spawn(worker(ctx.clone(), src, dst));
    }
    while let Some(r) = workers.join_next().await {
        r.map_err(|e| anyhow!("worker: {e}"))?;
    }
    Ok(())
}

async fn worker(ctx: Arc<Ctx>, mut src: Session, mut dst: Session) {
    'work: loop {
        // A stop request ends the wait for work, and the load in flight:
        // dropping it abandons the COPY and the target rolls its
        // transaction back, so the table is left as it was.
        let next = tokio::select! {
            j = ctx.sched.next() => j,
            _ = stop::wait() => None,
        };
        let Some(j) = next else { break };
        // Small tables go many to a transaction: over a distant link a
        // table's own BEGIN, COMMIT and record cost more than its rows.
        let mut jobs = vec![j];
        if small_job(&ctx, j) {
            jobs.extend(ctx.sched.take_ready(TOGETHER - 1, |k| small_job(&ctx, k)));
        }
        if jobs.len() > 1 {
            if load_together(&ctx, &src, &mut dst, &jobs).await {
                continue;
            }
            if stop::requested() {
                not_run(
                    &ctx,
                    &jobs,
                    "interrupted",
                    "rolled back: the run was interrupted",
                );
                break;
            }
            // Nothing of them stayed: each is loaded alone now, so a table
            // that fails fails alone (and one cut off is retried), on
            // fresh sessions (a failed COPY leaves them mid-protocol).
            match open_worker(&ctx).await {
                Ok((s, d)) => {
                    // A cut link may leave the old sessions alive at the
                    // servers, holding the undone load's locks: end them.
                    s.end_stale(&src).await;
                    d.end_stale(&dst).await;
                    src = s;
                    dst = d;
                }
                Err(e) => {
                    ctx.progress
                        .println(&format!("a worker stopped: cannot reconnect: {e:#}"));
                    let why = format!("not loaded: cannot reconnect: {e:#}");
                    not_run(&ctx, &jobs, "failed", &why);
                    return;
                }
            }
            // Their commit may have landed with its answer lost.
            jobs = without_landed(&ctx, &dst, jobs).await;
        }
        for (i, &j) in jobs.iter().enumerate() {
            match run_job(&ctx, &mut src, &mut dst, j).await {
                Flow::Next => {}
                Flow::Stop => {
                    let why = "not started: the run was interrupted";
                    not_run(&ctx, &jobs[i + 1..], "not-run", why);
                    break 'work;
                }
                Flow::Quit => {
                    let why = "not loaded: the worker lost its servers";
                    not_run(&ctx, &jobs[i + 1..], "failed", why);
                    return;
                }
            }
        }
    }
    // Mark what will never run (its parents failed).
    let states = ctx.sched.states();
    let mut out = ctx.outcomes.lock().unwrap_or_else(|p| p.into_inner());
    for (j, st) in states.iter().enumerate() {
        if *st == JobState::Skipped || (*st == JobState::Waiting && stop::requested()) {
            for &u in &ctx.ordering.jobs[j].units {
                if stop::requested() {
                    out[u].status = "not-run".into();
                    out[u].error = Some("not started: the run was interrupted".into());
                } else {
                    out[u].status = "skipped".into();
                    out[u].error = Some("a table it references failed to load".into());
                }
            }
        }
    }
}

/// Jobs taken from the scheduler that will not run: their status, and
/// done with (failed) so nothing waits for them.
fn not_run(ctx: &Ctx, jobs: &[usize], status: &str, why: &str) {
    let mut out = ctx.outcomes.lock().unwrap_or_else(|p| p.into_inner());
    for &k in jobs {
        for &u in &ctx.ordering.jobs[k].units {
            out[u].status = status.into();
            out[u].error = Some(why.into());
        }
        ctx.sched.complete(k, false);
    }
}

/// What a worker does after a job.
enum Flow {
    Next,
    /// A stop was requested.
    Stop,
    /// The servers are gone.
    Quit,
}

/// The jobs (of one unit each) whose rows the target has not recorded as
/// loaded by this run. A commit whose answer was lost (a link cut or
/// stalled after it was sent) may have landed: the run's record commits
/// with the rows and says so, and a table loaded again would get its rows
/// twice where the load may not empty it first (a referenced table). The
/// others are reported loaded, as the record says.
async fn without_landed(ctx: &Ctx, dst: &Session, jobs: Vec<usize>) -> Vec<usize> {
    let units: Vec<usize> = jobs
        .iter()
        .flat_map(|&k| ctx.ordering.jobs[k].units.clone())
        .collect();
    let landed = landed(ctx, dst, &units).await;
    if landed.is_empty() {
        return jobs;
    }
    let mut left = Vec::new();
    for k in jobs {
        let job = &ctx.ordering.jobs[k];
        if !job.units.iter().all(|u| landed.contains_key(u)) {
            left.push(k);
            continue;
        }
        report_landed(ctx, &job.units, &landed);
        send_early(ctx, &job.units);
        ctx.sched.complete(k, true);
    }
    left
}

/// Of `units`, those this run's record on the target says are loaded:
/// unit -> (rows, bytes). Empty without a record, or when it cannot be
/// read (then a load that landed fails again as it would have, named).
async fn landed(ctx: &Ctx, dst: &Session, units: &[usize]) -> HashMap<usize, (u64, u64)> {
    let Some(state) = &ctx.state else {
        return HashMap::new();
    };
    let names: Vec<String> = units
        .iter()
        .map(|&u| ctx.units[u].target.to_string())
        .collect();
    let Ok(found) = state.loaded_among(&dst.client, &names).await else {
        return HashMap::new();
    };
    units
        .iter()
        .zip(&names)
        .filter_map(|(&u, n)| found.get(n).map(|&v| (u, v)))
        .collect()
}

/// Report units as loaded by a commit whose answer was lost.
fn report_landed(ctx: &Ctx, units: &[usize], landed: &HashMap<usize, (u64, u64)>) {
    let mut done = Vec::new();
    for &u in units {
        let unit = &ctx.units[u];
        let (rows, bytes) = landed.get(&u).copied().unwrap_or_default();
        let tp = ctx
            .progress
            .start_table(&unit.target.to_string(), unit.est_rows, unit.est_bytes);
        tp.add(bytes, rows);
        ctx.progress.finish_table(
            &tp,
            "copied (its commit landed, the answer was lost; not loaded again)",
        );
        done.push((u, stream::Copied { rows, bytes }, 0.0, tp));
    }
    record_loaded(ctx, done);
}

/// Load job `j` alone, retrying what a lost connection interrupted, and
/// record its outcome.
async fn run_job(ctx: &Arc<Ctx>, src: &mut Session, dst: &mut Session, j: usize) -> Flow {
    let job = ctx.ordering.jobs[j].clone();
    let mut attempt = 0;
    let result = loop {
        // load_job ends itself on a stop request (but lets a commit
        // already sent finish, so the report matches the target).
        let result = load_job(ctx, src, dst, j, &job, false).await;
        let Err((unit, e)) = &result else {
            break result;
        };
        if stop::requested()
            || attempt == RETRY_PAUSES.len()
            || !conn::transient(e, &[&*src, &*dst])
        {
            break result;
        }
        // The job's transaction died with its session: load it again
        // from the start, in a fresh transaction on fresh sessions.
        let why = format!("{e:#}");
        let pause = RETRY_PAUSES[attempt];
        attempt += 1;
        ctx.progress.println(&format!(
            "retrying {} in {pause} s (attempt {} of {}): {}",
            ctx.units[*unit].target,
            attempt + 1,
            RETRY_PAUSES.len() + 1,
            why.lines().next().unwrap_or_default()
        ));
        {
            let mut out = ctx.outcomes.lock().unwrap_or_else(|p| p.into_inner());
            for &u in &job.units {
                out[u].retries.push(why.clone());
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(pause)) => {}
            _ = stop::wait() => break result,
        }
        match reconnect(ctx).await {
            Ok((s, d)) => {
                // The old sessions may live on at the servers, holding
                // the failed load's locks: end them.
                s.end_stale(src).await;
                d.end_stale(dst).await;
                *src = s;
                *dst = d;
                // Its commit may have landed with its answer lost.
                let landed = landed(ctx, dst, &job.units).await;
                if job.units.iter().all(|u| landed.contains_key(u)) {
                    report_landed(ctx, &job.units, &landed);
                    break Ok(());
                }
            }
            Err(e2) => {
                break Err((
                    *unit,
                    anyhow!(
                        "{why}\nretry: cannot reconnect within {} s: {e2:#}",
                        RECONNECT_WINDOW.as_secs()
                    ),
                ))
            }
        }
    };
    let ok = result.is_ok();
    if let Err((unit, e)) = result {
        let msg = format!("{e:#}");
        let interrupted = stop::requested();
        let mut out = ctx.outcomes.lock().unwrap_or_else(|p| p.into_inner());
        for &u in &job.units {
            out[u].rows = 0;
            if interrupted {
                out[u].status = "interrupted".into();
                out[u].error = Some("rolled back: the run was interrupted".into());
                continue;
            }
            out[u].status = "failed".into();
            out[u].error = Some(if u == unit {
                msg.clone()
            } else {
                format!("rolled back with {}", ctx.units[unit].target)
            });
        }
    }
    if ok {
        send_early(ctx, &job.units);
    }
    ctx.sched.complete(j, ok);
    if stop::requested() {
        return Flow::Stop;
    }
    if !ok {
        // A failed COPY can leave either session mid-protocol: start
        // afresh, or stop this worker if the servers are gone.
        match open_worker(ctx).await {
            Ok((s, d)) => {
                *src = s;
                *dst = d;
            }
            Err(e) => {
                ctx.progress
                    .println(&format!("a worker stopped: cannot reconnect: {e:#}"));
                return Flow::Quit;
            }
        }
    }
    Flow::Next
}

/// Loaded rows of one unit: (unit, what moved, seconds, its progress).
type LoadedUnit = (
    usize,
    stream::Copied,
    f64,
    Arc<crate::progress::TableProgress>,
);

/// More than this much COPY text from a "small" table (its estimate was
/// stale) sends the tables loading together back to one COPY each.
const INSERT_READ_LIMIT: usize = 4 << 20;
/// SQL sent to the target in one go while small tables load by INSERT.
const INSERT_FLUSH: usize = 1 << 20;

/// Small tables loading together in one transaction, by INSERT: each
/// table's rows read as COPY text from the source and sent as one INSERT
/// (see `values`), with its run record, many tables to a round trip. The
/// transaction's BEGIN goes with the first statements and its COMMIT with
/// the last, so a group that fits in one send (`INSERT_FLUSH`) costs one
/// round trip in all. Only for tables that load by text and have no rules
/// on the target (`insert_ok`). An error undoes them all (the session is
/// left in its failed transaction: the caller opens fresh sessions and
/// loads each alone).
async fn load_by_insert(
    ctx: &Ctx,
    src: &Session,
    dst: &Session,
    job: &order::Job,
) -> std::result::Result<(), (usize, anyhow::Error)> {
    let first = job.units[0];
    let pid = dst.pid;
    let mut done: Vec<LoadedUnit> = Vec::new();
    let mut sql = String::from("BEGIN;\n");
    // A table that was empty needs no TRUNCATE: its load is atomic.
    let emptied = |unit: &Unit| unit.truncate && !unit.empty_at_start;
    let loading = async {
        for &u in &job.units {
            let unit = &ctx.units[u];
            let tp =
                ctx.progress
                    .start_table(&unit.target.to_string(), unit.est_rows, unit.est_bytes);
            let t0 = Instant::now();
            done.push((u, stream::Copied { rows: 0, bytes: 0 }, 0.0, tp.clone()));
            let data = stream::read_text(&src.client, unit, INSERT_READ_LIMIT)
                .await
                .map_err(|e| (u, e))?;
            if emptied(unit) {
                sql.push_str(&format!("TRUNCATE ONLY {}\n;\n", unit.target.quoted()));
            }
            let insert = values::insert_sql(&unit.target.quoted(), &unit.columns, &data)
                .map_err(|e| (u, anyhow!("source {}: {e}", unit.source)))?;
            let rows = insert.as_ref().map_or(0, |(_, r)| *r);
            if let Some((insert, _)) = insert {
                sql.push_str(&insert);
                sql.push_str("\n;\n");
            }
            let bytes = data.len() as u64;
            if let Some(state) = &ctx.state {
                // The record commits with the rows: never one without the other.
                sql.push_str(&state.unit_done_sql(&unit.target.to_string(), rows, bytes));
                sql.push_str("\n;\n");
            }
            tp.add(bytes, rows);
            if let Some(last) = done.last_mut() {
                last.1 = stream::Copied { rows, bytes };
                last.2 = t0.elapsed().as_secs_f64();
            }
            if sql.len() >= INSERT_FLUSH {
                send_inserts(dst, pid, &sql).await.map_err(|e| (u, e))?;
                sql.clear();
            }
        }
        Ok(())
    };
    let loaded = tokio::select! {
        r = loading => r,
        _ = stop::wait() => Err((first, anyhow!("interrupted"))),
    };
    // The last send holds the COMMIT: once sent, it is waited for even
    // after a stop request (briefly), so what the target committed is
    // reported as loaded, as its run state says.
    let commit_sent = loaded.is_ok();
    let committed = match loaded {
        Err(e) => Err(e),
        Ok(()) => {
            sql.push_str("COMMIT");
            tokio::select! {
                r = send_inserts(dst, pid, &sql) => r.map_err(|e| (first, e)),
                _ = async {
                    stop::wait().await;
                    tokio::time::sleep(COMMIT_GRACE).await;
                } => Err((first, anyhow!("interrupted while committing"))),
            }
        }
    };
    if let Err((u, e)) = committed {
        // Each is loaded again alone (see `worker`): one line says so.
        for (_, _, _, tp) in &done {
            ctx.progress.abandon_table(tp);
        }
        let why = format!("{e:#}");
        let why = why.lines().next().unwrap_or_default();
        if stop::requested() {
        } else if commit_sent {
            // Refused, or its answer lost: `without_landed` tells which.
            ctx.progress.println(&format!(
                "{} small tables loading together: their commit failed or its answer was lost \
                 ({why}); loading again each that the target has not recorded as loaded",
                job.units.len(),
            ));
        } else {
            ctx.progress.println(&format!(
                "{} small tables loading together were rolled back ({}: {why}); loading each alone",
                job.units.len(),
                ctx.units[u].target,
            ));
        }
        return Err((u, e));
    }
    for (_, _, _, tp) in &done {
        ctx.progress.finish_table(tp, "copied");
    }
    record_loaded(ctx, done);
    Ok(())
}

/// Whether small tables may load by INSERT (`load_by_insert`): none has
/// rules on the target (`Unit::ruled`: an INSERT would go through them
/// where COPY does not), nor was given binary COPY (a fast link, or
/// `--format binary`); those load by COPY, prepared together.
fn insert_ok(ctx: &Ctx, units: &[usize]) -> bool {
    !units
        .iter()
        .any(|&u| ctx.units[u].binary || ctx.units[u].ruled)
}

/// Send a group's INSERTs, watched like any statement for being lost on
/// the way (`conn::locks::working`).
async fn send_inserts(dst: &Session, pid: i32, sql: &str) -> anyhow::Result<()> {
    conn::locks::working(
        pid,
        || "loading small tables together".to_string(),
        dst.client.batch_execute(sql),
    )
    .await?
    .map_err(|e| anyhow!("target: {}", describe_pg(&e)))
}

/// Record the outcome of units whose rows were committed.
fn record_loaded(ctx: &Ctx, done: Vec<LoadedUnit>) {
    let mut out = ctx.outcomes.lock().unwrap_or_else(|p| p.into_inner());
    for (u, c, secs, _) in done {
        out[u] = Outcome {
            status: "ok".into(),
            rows: c.rows,
            bytes: c.bytes,
            seconds: secs,
            error: None,
            retries: std::mem::take(&mut out[u].retries),
        };
    }
}

/// Tables at most this large (estimated) may load many to a transaction.
const SMALL_LOAD_BYTES: u64 = 1 << 20;
/// How many small tables at most share a transaction.
const TOGETHER: usize = 64;

/// A job that may load with others: one small table, no deferred keys,
/// no foreign keys to drop and add back.
fn small_job(ctx: &Ctx, k: usize) -> bool {
    let job = &ctx.ordering.jobs[k];
    job.units.len() == 1
        && !job.deferred
        && ctx.rebuild[k].is_empty()
        && ctx.units[job.units[0]].est_bytes < SMALL_LOAD_BYTES
}

/// Load the small jobs `jobs` in one transaction. True when all were
/// committed (and completed); false when none was (a stop, or a failure:
/// the caller loads each alone, so a failing table fails alone).
async fn load_together(ctx: &Arc<Ctx>, src: &Session, dst: &mut Session, jobs: &[usize]) -> bool {
    let job = order::Job {
        units: jobs
            .iter()
            .map(|&k| ctx.ordering.jobs[k].units[0])
            .collect(),
        deps: Vec::new(),
        deferred: false,
    };
    let loaded = match insert_ok(ctx, &job.units) {
        true => load_by_insert(ctx, src, dst, &job).await,
        false => load_job(ctx, src, dst, jobs[0], &job, true).await,
    };
    if loaded.is_err() {
        return false;
    }
    send_early(ctx, &job.units);
    for &k in jobs {
        ctx.sched.complete(k, true);
    }
    true
}

/// Hand the builders the keys, indexes and statistics of loaded units.
fn send_early(ctx: &Ctx, units: &[usize]) {
    let mut early = ctx.early.lock().unwrap_or_else(|p| p.into_inner());
    let builders = ctx.builders.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(b) = builders.as_ref() {
        for &u in units {
            let unit = &ctx.units[u];
            b.send_table(
                early.remove(&unit.target).unwrap_or_default(),
                unit.est_bytes,
            );
        }
    }
}

/// How long a commit already sent may finish after a stop request.
const COMMIT_GRACE: Duration = Duration::from_secs(10);

/// Load one job in one target transaction (small tables by COPY when
/// `together`). On error, names the unit.
///
/// Round trips: what needs no answer before the next send goes in one
/// (pipelined, each statement still answering for itself): the BEGIN
/// with a table's TRUNCATE, its foreign keys' drop and its COPY's
/// preparation; the run records with the COMMIT. The transaction is the
/// session's (no `Transaction` guard): on an error or a stop the caller
/// leaves the session (a failed load gets fresh ones), and the target
/// rolls back what it did not commit.
async fn load_job(
    ctx: &Ctx,
    src: &Session,
    dst: &mut Session,
    job_index: usize,
    job: &order::Job,
    together: bool,
) -> std::result::Result<(), (usize, anyhow::Error)> {
    let first = job.units[0];
    let (c, pid) = (&dst.client, dst.pid);
    let begin = match job.deferred {
        true => "BEGIN; SET CONSTRAINTS ALL DEFERRED",
        false => "BEGIN",
    };
    let keys = &ctx.rebuild[job_index];
    // A stop request abandons the load in flight: dropping it abandons the
    // COPY and the target rolls the transaction back.
    // `together` (small tables sharing the transaction): a table that
    // was empty needs no TRUNCATE (its load is atomic, so it still is),
    // and every COPY is prepared up front, all in one round trip.
    let emptied = |unit: &Unit| unit.truncate && !(together && unit.empty_at_start);
    let started = |r: std::result::Result<(), tokio_postgres::Error>| {
        r.map_err(|e| (first, anyhow!("target: {}", describe_pg(&e))))
    };
    let loading = async {
        let prepared: Vec<tokio_postgres::Statement> = if together {
            let sqls: Vec<String> = job
                .units
                .iter()
                .map(|&u| stream::copy_in_sql(&ctx.units[u], emptied(&ctx.units[u])))
                .collect();
            let (began, answers) = tokio::join!(
                c.batch_execute(begin),
                futures_util::future::join_all(sqls.iter().map(|q| c.prepare(q)))
            );
            started(began)?;
            let mut out = Vec::new();
            for (k, a) in answers.into_iter().enumerate() {
                let u = job.units[k];
                out.push(a.map_err(|e| {
                    (
                        u,
                        anyhow!("target {}: {}", ctx.units[u].target, describe_pg(&e)),
                    )
                })?);
            }
            out
        } else {
            Vec::new()
        };
        let mut begin = (!together).then_some(begin);
        let mut done = Vec::new();
        let mut records = Vec::new();
        for (k, &u) in job.units.iter().enumerate() {
            let unit = &ctx.units[u];
            let tp =
                ctx.progress
                    .start_table(&unit.target.to_string(), unit.est_rows, unit.est_bytes);
            let t0 = Instant::now();
            let r = async {
                // The BEGIN (first table), the TRUNCATE, the keys' drop and
                // the COPY's preparation (unless prepared with the others):
                // one round trip.
                let truncate =
                    emptied(unit).then(|| format!("TRUNCATE ONLY {}", unit.target.quoted()));
                let drop = (!keys.is_empty()).then(|| drop_keys_sql(&unit.target, keys));
                let maybe = |sql: Option<String>| async move {
                    match sql {
                        Some(q) => c.batch_execute(&q).await,
                        None => Ok(()),
                    }
                };
                let copy = stream::copy_in_sql(unit, emptied(unit));
                let ready = prepared.get(k).cloned();
                let (began, truncated, dropped, st) = conn::locks::working(
                    pid,
                    || format!("starting the load of target {}", unit.target),
                    async {
                        tokio::join!(
                            maybe(begin.take().map(str::to_string)),
                            maybe(truncate),
                            maybe(drop),
                            async {
                                match ready {
                                    Some(st) => Ok(st),
                                    None => c.prepare(&copy).await,
                                }
                            }
                        )
                    },
                )
                .await?;
                began.map_err(|e| anyhow!("target: {}", describe_pg(&e)))?;
                truncated
                    .map_err(|e| anyhow!("emptying target {}: {}", unit.target, describe_pg(&e)))?;
                dropped.map_err(|e| {
                    anyhow!(
                        "dropping the foreign keys of target {} for the load: {}",
                        unit.target,
                        describe_pg(&e)
                    )
                })?;
                let statement =
                    st.map_err(|e| anyhow!("target {}: {}", unit.target, describe_pg(&e)))?;
                let copied = stream::copy_unit(&src.client, c, unit, &statement, &tp).await?;
                if !keys.is_empty() {
                    conn::locks::working(
                        pid,
                        || format!("checking the foreign keys of target {}", unit.target),
                        c.batch_execute(&add_keys_sql(&unit.target, keys)),
                    )
                    .await?
                    .map_err(|e| {
                        anyhow!(
                            "checking the foreign keys of target {} after the load: {}",
                            unit.target,
                            describe_pg(&e)
                        )
                    })?;
                }
                Ok(copied)
            }
            .await;
            if r.is_err() && together {
                // Each is loaded again alone (see `worker`): one line says so.
                ctx.progress.abandon_table(&tp);
                for (_, _, _, earlier) in &done {
                    ctx.progress.abandon_table(earlier);
                }
                let why = r
                    .as_ref()
                    .err()
                    .map(|e| format!("{e:#}"))
                    .unwrap_or_default();
                ctx.progress.println(&format!(
                    "{} small tables loading together were rolled back ({}: {}); loading each \
                     alone",
                    job.units.len(),
                    unit.target,
                    why.lines().next().unwrap_or_default()
                ));
            } else if r.is_err() {
                ctx.progress.finish_table(&tp, "FAILED");
                for (_, _, _, earlier) in &done {
                    ctx.progress.finish_table(earlier, "rolled back");
                }
            }
            let copied = r.map_err(|e| (u, e))?;
            if let Some(state) = &ctx.state {
                records.push(state.unit_done_sql(
                    &unit.target.to_string(),
                    copied.rows,
                    copied.bytes,
                ));
            }
            done.push((u, copied, t0.elapsed().as_secs_f64(), tp));
        }
        Ok((done, records))
    };
    let (done, records) = tokio::select! {
        r = loading => r?,
        _ = stop::wait() => return Err((first, anyhow!("interrupted"))),
    };
    // "copied" only once the rows are committed. The records go with the
    // COMMIT (they commit with the rows: never one without the other). A
    // commit that was sent is waited for even after a stop request
    // (briefly): what the target committed is reported as loaded, as its
    // run state says.
    let commit = async {
        let record = async {
            match records.is_empty() {
                true => Ok(()),
                false => c.batch_execute(&records.join(";\n")).await,
            }
        };
        let (recorded, committed) = conn::locks::working(
            pid,
            || format!("committing {}", ctx.units[first].target),
            async { tokio::join!(record, c.batch_execute("COMMIT")) },
        )
        .await?;
        recorded.map_err(|e| {
            anyhow!(
                "recording {} as loaded: {}",
                ctx.units[first].target,
                describe_pg(&e)
            )
        })?;
        // COMMIT in a transaction an error ended is a ROLLBACK: the error
        // above is the one to report.
        committed.map_err(|e| {
            anyhow!(
                "committing {}: {}",
                ctx.units[first].target,
                describe_pg(&e)
            )
        })
    };
    let committed = tokio::select! {
        r = commit => r,
        _ = async {
            stop::wait().await;
            tokio::time::sleep(COMMIT_GRACE).await;
        } => return Err((first, anyhow!("interrupted while committing"))),
    };
    for (_, _, _, tp) in &done {
        match (&committed, together) {
            (Ok(_), _) => ctx.progress.finish_table(tp, "copied"),
            // Loaded again alone (see `worker`).
            (Err(_), true) => ctx.progress.abandon_table(tp),
            (Err(_), false) => ctx.progress.finish_table(tp, "FAILED"),
        }
    }
    committed.map_err(|e| (first, e))?;
    record_loaded(ctx, done);
    Ok(())
}

fn drop_keys_sql(table: &QualName, keys: &[catalog::ForeignKey]) -> String {
    let drops: Vec<String> = keys
        .iter()
        .map(|k| format!("DROP CONSTRAINT {}", catalog::quote_ident(&k.name)))
        .collect();
    format!("ALTER TABLE ONLY {} {}", table.quoted(), drops.join(", "))
}

/// Add the keys back exactly as they were (definition, then comment).
/// One ALTER TABLE validates them all in one pass over the table.
fn add_keys_sql(table: &QualName, keys: &[catalog::ForeignKey]) -> String {
    let mut adds = Vec::new();
    let mut comments = Vec::new();
    for k in keys {
        let Some(r) = &k.rebuild else { continue };
        let name = catalog::quote_ident(&k.name);
        adds.push(format!("ADD CONSTRAINT {name} {}", r.definition));
        if let Some(c) = &r.comment {
            comments.push(format!(
                "COMMENT ON CONSTRAINT {name} ON {} IS {}",
                table.quoted(),
                quote_literal(c)
            ));
        }
    }
    let mut sql = format!("ALTER TABLE ONLY {} {}", table.quoted(), adds.join(", "));
    for c in comments {
        sql.push_str("; ");
        sql.push_str(&c);
    }
    sql
}

/// Carry sequence positions over, so new rows on the target do not collide
/// with copied ones. The target's sequence is found through its column.
/// Each side is asked all at once (a round trip, not one per sequence);
/// when the target refuses the set, each sequence is asked alone, so the
/// error names it.
async fn set_sequences(
    src: &Session,
    dst: &Session,
    seqs: &[(catalog::OwnedSequence, QualName)],
    warnings: &mut Vec<String>,
) -> anyhow::Result<Vec<SequenceReport>> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let reads: Vec<String> = seqs
        .iter()
        .map(|(o, _)| format!("SELECT last_value, is_called FROM {}", o.sequence.quoted()))
        .collect();
    let states =
        futures_util::future::join_all(reads.iter().map(|sql| src.client.query_typed(sql, &[])))
            .await;
    let tables: Vec<String> = seqs.iter().map(|(_, t)| t.quoted()).collect();
    let columns: Vec<&str> = seqs.iter().map(|(o, _)| o.column.as_str()).collect();
    let found = dst
        .client
        .query_typed(
            "SELECT pg_catalog.pg_get_serial_sequence(t, c) \
               FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[])) \
                    WITH ORDINALITY AS u(t, c, i) ORDER BY i",
            &[(&tables, Type::TEXT_ARRAY), (&columns, Type::TEXT_ARRAY)],
        )
        .await
        .ok()
        .filter(|rows| rows.len() == seqs.len());
    let mut targets: Vec<Option<String>> = Vec::with_capacity(seqs.len());
    for (k, (o, target_table)) in seqs.iter().enumerate() {
        targets.push(match &found {
            Some(rows) => rows[k].get(0),
            None => dst
                .client
                .query_typed_one(
                    "SELECT pg_catalog.pg_get_serial_sequence($1, $2)",
                    &[(&tables[k], Type::TEXT), (&o.column, Type::TEXT)],
                )
                .await
                .pg_context(|| format!("finding the sequence of {target_table}.{}", o.column))?
                .get(0),
        });
    }
    let mut out = Vec::new();
    for (((o, target_table), state), target_seq) in seqs.iter().zip(states).zip(targets) {
        let row = match state.map(|rows| rows.into_iter().next()) {
            Ok(Some(r)) => r,
            Ok(None) => {
                warnings.push(format!(
                    "sequence {} not carried over: the source answered no state for it",
                    o.sequence
                ));
                continue;
            }
            Err(e) => {
                warnings.push(format!(
                    "sequence {} not carried over: cannot read it on the source: {}",
                    o.sequence,
                    describe_pg(&e)
                ));
                continue;
            }
        };
        let Some(target_seq) = target_seq else {
            warnings.push(format!(
                "sequence {} not carried over: column \"{}\" of target {target_table} has no sequence",
                o.sequence, o.column
            ));
            continue;
        };
        out.push(SequenceReport {
            source: o.sequence.to_string(),
            target: target_seq,
            last_value: row.get(0),
            is_called: row.get(1),
        });
    }
    if out.is_empty() {
        return Ok(out);
    }
    let names: Vec<&str> = out.iter().map(|r| r.target.as_str()).collect();
    let values: Vec<i64> = out.iter().map(|r| r.last_value).collect();
    let called: Vec<bool> = out.iter().map(|r| r.is_called).collect();
    let all = dst
        .client
        .query_typed(
            "SELECT pg_catalog.setval(s::regclass, v, c) \
               FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::int8[]), \
                               pg_catalog.unnest($3::bool[])) AS u(s, v, c)",
            &[
                (&names, Type::TEXT_ARRAY),
                (&values, Type::INT8_ARRAY),
                (&called, Type::BOOL_ARRAY),
            ],
        )
        .await;
    if all.is_err() {
        for r in &out {
            dst.client
                .query_typed_one(
                    "SELECT pg_catalog.setval($1::text::regclass, $2, $3)",
                    &[
                        (&r.target, Type::TEXT),
                        (&r.last_value, Type::INT8),
                        (&r.is_called, Type::BOOL),
                    ],
                )
                .await
                .pg_context(|| format!("setting sequence {}", r.target))?;
        }
    }
    Ok(out)
}

/// SQL that forgets earlier unfinished runs of `command` (this run
/// replaces what they made).
fn forget_others(command: &str, run: &RunState) -> String {
    format!(
        ";\nDELETE FROM {}.runs WHERE command = {} AND run_id <> {}",
        runstate::SCHEMA,
        quote_literal(command),
        quote_literal(&run.id)
    )
}

/// What decides a copy's work, fingerprinted: a resume must do the same.
fn copy_digest(
    s: &CopySettings,
    command: &str,
    plan: Option<&catalog::model::SchemaPlan>,
) -> String {
    runstate::plan_digest(
        &[
            command.to_string(),
            format!("{:?}", s.patterns),
            format!("{:?}", s.schema_map),
        ],
        plan,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalog::{FkRebuild, ForeignKey};

    fn key(name: &str, comment: Option<&str>) -> ForeignKey {
        ForeignKey {
            name: name.into(),
            child: QualName::new("app", "Child"),
            parent: QualName::new("app", "parent"),
            deferrable: false,
            rebuild: Some(FkRebuild {
                definition: "FOREIGN KEY (p) REFERENCES app.parent(id) ON DELETE CASCADE".into(),
                comment: comment.map(String::from),
            }),
        }
    }

    #[test]
    fn foreign_keys_are_dropped_and_added_back_exactly() {
        let t = QualName::new("app", "Child");
        let keys = [key("Child→parent", Some("it's")), key("k2", None)];
        assert_eq!(
            drop_keys_sql(&t, &keys),
            "ALTER TABLE ONLY \"app\".\"Child\" DROP CONSTRAINT \"Child→parent\", DROP CONSTRAINT \"k2\""
        );
        assert_eq!(
            add_keys_sql(&t, &keys),
            "ALTER TABLE ONLY \"app\".\"Child\" \
             ADD CONSTRAINT \"Child→parent\" FOREIGN KEY (p) REFERENCES app.parent(id) ON DELETE CASCADE, \
             ADD CONSTRAINT \"k2\" FOREIGN KEY (p) REFERENCES app.parent(id) ON DELETE CASCADE; \
             COMMENT ON CONSTRAINT \"Child→parent\" ON \"app\".\"Child\" IS 'it''s'"
        );
    }
}
