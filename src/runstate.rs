//! A run's state, kept on its target so that `--resume` can continue an
//! interrupted or failed run from what is durably done.
//!
//! Why on the target and not in a local file: the target is where the
//! work is done, so the record of it commits in the same transaction as
//! the work (a table's rows and its "done" row go in together, as does a
//! built index and its step row) and can never disagree with it; it
//! survives the loss of the machine pgbarge ran on; and any machine that
//! can reach the target can resume. One row per unit also lets several
//! processes share a run later by claiming units with `FOR UPDATE SKIP
//! LOCKED`: PostgreSQL is the coordinator.
//!
//! The state lives in schema `_pgbarge` of the target database: `runs`
//! (one row per run: what it was, what it created), `units` (one row per
//! table to load: `pending` or `done`) and `steps` (statements after the
//! rows that ran: keys, indexes, triggers...). A run that completes
//! deletes its rows, and the schema goes with the last run.

use std::collections::{HashMap, HashSet};

use anyhow::{anyhow, Context as _};
use tokio_postgres::types::Type;
use tokio_postgres::Client;

use crate::catalog::model::Created;
use crate::ddl::quote::quote_literal;

/// The schema holding the state.
pub const SCHEMA: &str = "_pgbarge";

/// A run being recorded.
#[derive(Debug, Clone)]
pub struct RunState {
    pub id: String,
}

/// A run found on the target.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub id: String,
    /// `copy`, `copy --data-only`, `restore`.
    pub command: String,
    /// Where the rows came from (a redacted URL or a dump path).
    pub source: String,
    pub started: String,
    /// Fingerprint of what the run does: a resume must do the same.
    pub digest: String,
    /// Objects it created (for `pgbarge clean`), newest last.
    pub created: Vec<Created>,
    pub created_schemas: Vec<String>,
    /// Units done: name -> (rows, bytes).
    pub done: HashMap<String, (u64, u64)>,
    pub units: usize,
    /// Parts of split tables loaded side by side (see `part_unit`).
    pub parts: HashSet<String>,
    pub steps: HashSet<String>,
}

impl Recorded {
    /// One line for messages: command, start, progress. Read from the
    /// target, so made safe for a terminal.
    pub fn describe(&self) -> String {
        crate::ddl::quote::terminal_text(&format!(
            "{} from {} started {} ({} of {} tables loaded)",
            self.command,
            self.source,
            self.started,
            self.done.len(),
            self.units
        ))
    }
}

impl RunState {
    /// A new run id: start time and process, unique on one target.
    pub fn new() -> Self {
        RunState {
            id: format!("{}-{}", crate::report::unix_now(), std::process::id()),
        }
    }

    /// The statements that create the state tables (if missing) and record
    /// this run; meant to run in the transaction that does the run's first
    /// durable work, so the record exists exactly when the work does.
    pub fn begin_sql(
        &self,
        command: &str,
        source: &str,
        digest: &str,
        created: &[Created],
        created_schemas: &[String],
    ) -> String {
        let created = serde_json::to_string(created).unwrap_or_else(|_| "[]".into());
        let schemas = serde_json::to_string(created_schemas).unwrap_or_else(|_| "[]".into());
        format!(
            "CREATE SCHEMA IF NOT EXISTS {SCHEMA};\n\
             COMMENT ON SCHEMA {SCHEMA} IS 'state of unfinished pgbarge runs: --resume continues them, pgbarge clean removes them';\n\
             CREATE TABLE IF NOT EXISTS {SCHEMA}.runs (\n\
               run_id text PRIMARY KEY,\n\
               command text NOT NULL,\n\
               source text NOT NULL,\n\
               digest text NOT NULL,\n\
               started timestamptz NOT NULL DEFAULT pg_catalog.now(),\n\
               created jsonb NOT NULL,\n\
               created_schemas jsonb NOT NULL);\n\
             CREATE TABLE IF NOT EXISTS {SCHEMA}.units (\n\
               run_id text NOT NULL REFERENCES {SCHEMA}.runs ON DELETE CASCADE,\n\
               unit text NOT NULL,\n\
               status text NOT NULL DEFAULT 'pending',\n\
               rows bigint, bytes bigint, finished timestamptz,\n\
               PRIMARY KEY (run_id, unit));\n\
             CREATE TABLE IF NOT EXISTS {SCHEMA}.steps (\n\
               run_id text NOT NULL REFERENCES {SCHEMA}.runs ON DELETE CASCADE,\n\
               step text NOT NULL,\n\
               PRIMARY KEY (run_id, step));\n\
             INSERT INTO {SCHEMA}.runs (run_id, command, source, digest, created, created_schemas) \
             VALUES ({}, {}, {}, {}, {}, {})",
            quote_literal(&self.id),
            quote_literal(command),
            quote_literal(source),
            quote_literal(digest),
            quote_literal(&created),
            quote_literal(&schemas),
        )
    }

    /// Record the units the run will load (as pending).
    pub fn units_sql(&self, units: &[String]) -> String {
        if units.is_empty() {
            return String::new();
        }
        let values: Vec<String> = units
            .iter()
            .map(|u| format!("({}, {})", quote_literal(&self.id), quote_literal(u)))
            .collect();
        format!(
            "INSERT INTO {SCHEMA}.units (run_id, unit) VALUES {} ON CONFLICT DO NOTHING",
            values.join(", ")
        )
    }

    /// Mark a unit done: run inside the unit's load transaction.
    pub fn unit_done_sql(&self, unit: &str, rows: u64, bytes: u64) -> String {
        format!(
            "INSERT INTO {SCHEMA}.units AS u (run_id, unit, status, rows, bytes, finished) \
             VALUES ({}, {}, 'done', {rows}, {bytes}, pg_catalog.now()) \
             ON CONFLICT (run_id, unit) DO UPDATE SET status = 'done', rows = excluded.rows, \
             bytes = excluded.bytes, finished = excluded.finished",
            quote_literal(&self.id),
            quote_literal(unit)
        )
    }

    /// Mark one part of a split table done (inside the part's load
    /// transaction). A table is done when all its parts are.
    pub fn part_done_sql(&self, table: &str, part: usize, rows: u64) -> String {
        format!(
            "INSERT INTO {SCHEMA}.units (run_id, unit, status, rows, finished) \
             VALUES ({}, {}, 'part', {rows}, pg_catalog.now()) ON CONFLICT (run_id, unit) DO NOTHING",
            quote_literal(&self.id),
            quote_literal(&part_unit(table, part))
        )
    }

    /// Forget the parts of `table` (emptied again because not all of
    /// its parts loaded).
    pub fn forget_parts_sql(&self, table: &str, parts: usize) -> String {
        let names: Vec<String> = (0..parts)
            .map(|k| quote_literal(&part_unit(table, k)))
            .collect();
        format!(
            "DELETE FROM {SCHEMA}.units WHERE run_id = {} AND unit IN ({})",
            quote_literal(&self.id),
            names.join(", ")
        )
    }

    /// `sql` followed by the record that it ran, as one simple query (one
    /// implicit transaction: both or neither).
    pub fn with_step(&self, sql: &str) -> String {
        format!(
            "{sql}\n;\nINSERT INTO {SCHEMA}.steps (run_id, step) VALUES ({}, {}) ON CONFLICT DO NOTHING",
            quote_literal(&self.id),
            quote_literal(&step_key(sql))
        )
    }

    /// Recorded with the first of the transactions a large schema is
    /// created in: the schema is unfinished until [`Self::schema_done_sql`]
    /// commits with the last.
    pub fn schema_pending_sql(&self) -> String {
        format!(
            "INSERT INTO {SCHEMA}.steps (run_id, step) VALUES ({}, {}) ON CONFLICT DO NOTHING",
            quote_literal(&self.id),
            quote_literal(SCHEMA_PENDING)
        )
    }

    /// Recorded with the schema: the tables whose keys and indexes were
    /// built with it (see `SchemaPlan::build_with_tables`), so that a
    /// resumed run, which reads table sizes anew, builds the same way.
    pub fn built_with_schema_sql(&self, tables: &[String]) -> String {
        if tables.is_empty() {
            return String::new();
        }
        let id = quote_literal(&self.id);
        let rows: Vec<String> = tables
            .iter()
            .map(|t| {
                format!(
                    "({id}, {})",
                    quote_literal(&format!("{BUILT_WITH_SCHEMA}{t}"))
                )
            })
            .collect();
        format!(
            "INSERT INTO {SCHEMA}.steps (run_id, step) VALUES {} ON CONFLICT DO NOTHING",
            rows.join(", ")
        )
    }

    pub fn schema_done_sql(&self) -> String {
        format!(
            "DELETE FROM {SCHEMA}.steps WHERE run_id = {} AND step = {}",
            quote_literal(&self.id),
            quote_literal(SCHEMA_PENDING)
        )
    }

    /// Which of `units` (tables, or parts named by `part_unit`) this run
    /// has recorded as loaded, with their rows and bytes: the record
    /// commits with the rows, so after a commit whose answer was lost it
    /// says whether the rows are in.
    pub async fn loaded_among(
        &self,
        c: &Client,
        units: &[String],
    ) -> anyhow::Result<HashMap<String, (u64, u64)>> {
        let rows = c
            .query_typed(
                &format!(
                    "SELECT unit, coalesce(rows, 0), coalesce(bytes, 0) FROM {SCHEMA}.units \
                     WHERE run_id = $1 AND status IN ('done', 'part') AND unit = ANY ($2)"
                ),
                &[(&self.id, Type::TEXT), (&units, Type::TEXT_ARRAY)],
            )
            .await
            .context("reading which tables this run has loaded")?;
        Ok(rows
            .iter()
            .map(|r| {
                let n = |i: usize| u64::try_from(r.get::<_, i64>(i)).unwrap_or(0);
                (r.get(0), (n(1), n(2)))
            })
            .collect())
    }

    /// The run completed: forget it, and the schema with the last run.
    pub async fn finish(&self, c: &Client) -> anyhow::Result<()> {
        c.execute(
            &format!("DELETE FROM {SCHEMA}.runs WHERE run_id = $1"),
            &[&self.id],
        )
        .await
        .context("removing the finished run's state from the target")?;
        forget_if_empty(c).await
    }
}

impl Default for RunState {
    fn default() -> Self {
        Self::new()
    }
}

/// Drop the state schema when no run is left in it.
pub async fn forget_if_empty(c: &Client) -> anyhow::Result<()> {
    let left: i64 = c
        .query_one(&format!("SELECT count(*) FROM {SCHEMA}.runs"), &[])
        .await
        .context("reading the run state on the target")?
        .get(0);
    if left == 0 {
        c.batch_execute(&format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            .await
            .context("removing schema _pgbarge (run state) from the target")?;
    }
    Ok(())
}

/// The unit name of part `part` (from 0) of `table`.
pub fn part_unit(table: &str, part: usize) -> String {
    format!("{table} part {}", part + 1)
}

/// The key a statement is recorded under.
pub fn step_key(sql: &str) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(sql.as_bytes()))
}

/// A fingerprint of what a run does, from the parts that decide it.
pub fn digest<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(&[0]);
    }
    format!("{:016x}", h.digest())
}

/// May the target's role record state (create schema `_pgbarge`, or use
/// it when it exists)?
pub async fn may_record(c: &Client) -> anyhow::Result<bool> {
    let row = c
        .query_typed_one(
            "SELECT CASE WHEN n.oid IS NULL \
                    THEN pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE') \
                    ELSE pg_catalog.has_schema_privilege(n.oid, 'CREATE, USAGE') END \
               FROM (SELECT 1) AS one \
               LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = $1",
            &[(&SCHEMA, Type::TEXT)],
        )
        .await
        .context("checking whether the target role may record run state")?;
    Ok(row.get(0))
}

/// Every run recorded on the target whose command is one of `commands`
/// (all runs when empty), oldest first.
pub async fn find(c: &Client, commands: &[&str]) -> anyhow::Result<Vec<Recorded>> {
    let exists: bool = c
        .query_typed_one(
            "SELECT pg_catalog.to_regclass($1) IS NOT NULL",
            &[(&format!("{SCHEMA}.runs"), Type::TEXT)],
        )
        .await
        .context("looking for run state on the target")?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    let rows = c
        .query_typed(
            &format!(
                "SELECT r.run_id, r.command, r.source, r.digest, \
                        pg_catalog.to_char(r.started, 'YYYY-MM-DD HH24:MI:SS TZ'), \
                        r.created::text, r.created_schemas::text, \
                        (SELECT count(*) FROM {SCHEMA}.units u \
                          WHERE u.run_id = r.run_id AND u.status <> 'part') \
                   FROM {SCHEMA}.runs r ORDER BY r.started, r.run_id"
            ),
            &[],
        )
        .await
        .context("reading run state on the target")?;
    let mut out = Vec::new();
    for r in rows {
        let command: String = r.get(1);
        if !commands.is_empty() && !commands.contains(&command.as_str()) {
            continue;
        }
        let id: String = r.get(0);
        // The state is read from a server: untrusted, so parse failures
        // are errors that name it, never panics.
        let created: Vec<Created> = serde_json::from_str(r.get::<_, &str>(5))
            .map_err(|e| anyhow!("run state {id} on the target is damaged (created): {e}"))?;
        let created_schemas: Vec<String> = serde_json::from_str(r.get::<_, &str>(6))
            .map_err(|e| anyhow!("run state {id} on the target is damaged (schemas): {e}"))?;
        let units: i64 = r.get(7);
        let mut done = HashMap::new();
        let mut parts = HashSet::new();
        for r in c
            .query(
                &format!(
                    "SELECT unit, status, coalesce(rows, 0), coalesce(bytes, 0) \
                       FROM {SCHEMA}.units WHERE run_id = $1 AND status IN ('done', 'part')"
                ),
                &[&id],
            )
            .await
            .context("reading run state on the target")?
        {
            let (unit, status): (String, &str) = (r.get(0), r.get(1));
            let (rows, bytes): (i64, i64) = (r.get(2), r.get(3));
            if status == "part" {
                parts.insert(unit);
            } else {
                done.insert(unit, (rows.max(0) as u64, bytes.max(0) as u64));
            }
        }
        let steps = c
            .query(
                &format!("SELECT step FROM {SCHEMA}.steps WHERE run_id = $1"),
                &[&id],
            )
            .await
            .context("reading run state on the target")?
            .into_iter()
            .map(|r| r.get::<_, String>(0))
            .collect();
        out.push(Recorded {
            id,
            command,
            source: r.get(2),
            digest: r.get(3),
            started: r.get(4),
            created,
            created_schemas,
            done,
            units: units.max(0) as usize,
            parts,
            steps,
        });
    }
    Ok(out)
}

/// Hold the run for this session: a second process resuming the same run
/// at the same time is refused. Session-level, so no transaction stays
/// open for the length of the run.
pub async fn claim(c: &Client, id: &str) -> anyhow::Result<bool> {
    let key = xxhash_rust::xxh3::xxh3_64(format!("pgbarge run {id}").as_bytes()) as i64;
    Ok(c.query_typed_one(
        "SELECT pg_catalog.pg_try_advisory_lock($1)",
        &[(&key, Type::INT8)],
    )
    .await
    .context("claiming the run on the target")?
    .get(0))
}

/// The unfinished run of `command` recorded on the target, when
/// resuming. Without `resume`, such a run stops a new one (its objects
/// and rows are there) unless the new one `replaces` what it made
/// (`--clean`, or rows-only with `--truncate`).
pub async fn resumable(
    c: &Client,
    command: &str,
    resume: bool,
    replaces: bool,
    target: &crate::conn::Endpoint,
    mode: crate::progress::Mode,
) -> crate::Result<Option<Recorded>> {
    let last = find(c, &[command]).await?.into_iter().last();
    match last {
        Some(r) if resume => Ok(Some(r)),
        None if resume => {
            mode.say(&format!(
                "--resume: no unfinished {command} is recorded on the target; starting from the \
                 beginning"
            ));
            Ok(None)
        }
        Some(r) if !replaces => Err(crate::Error::usage(format!(
            "the target holds an unfinished pgbarge {}.\nContinue it with the same command and \
             --resume, or remove what it made with `pgbarge clean --target {target}`",
            r.describe()
        ))),
        _ => Ok(None),
    }
}

/// Name this run and say whether it can be recorded (the target role
/// may create schema `_pgbarge`): a resumed run keeps its id; without a
/// record, `--resume` is refused and a plain run says that a failure
/// undoes it. A recorded run is claimed, so that a second process cannot
/// work on the same run at once.
pub async fn start(
    c: &Client,
    command: &str,
    resumed: Option<&Recorded>,
    resume: bool,
    target: &crate::conn::Endpoint,
    mode: crate::progress::Mode,
) -> crate::Result<(RunState, bool)> {
    let run = RunState {
        id: resumed.map_or_else(|| RunState::new().id, |r| r.id.clone()),
    };
    // Asked together (one round trip); a claim of a run that cannot be
    // recorded is harmless (it ends with the session).
    let (recordable, claimed) = tokio::try_join!(may_record(c), claim(c, &run.id))?;
    if !recordable {
        if resume {
            return Err(crate::Error::usage(format!(
                "--resume: the target role may not create schema {SCHEMA} in this database, so \
                 no run state was recorded; grant it CREATE on the database, or start over"
            )));
        }
        mode.say(&format!(
            "note: the target role may not create schema {SCHEMA} (run state), so this {command} \
             cannot be resumed: a failure undoes it"
        ));
    }
    if recordable && !claimed {
        return Err(crate::Error::usage(format!(
            "another pgbarge process is running this {command} into {target} right now"
        )));
    }
    Ok((run, recordable))
}

/// The step recorded while a schema created in several transactions is
/// unfinished (not a statement's key: those are hex digits).
const SCHEMA_PENDING: &str = "schema being created";
const BUILT_WITH_SCHEMA: &str = "keys built with the schema: ";

/// The tables (as their names print) a recorded run built the keys and
/// indexes of with its schema.
pub fn built_with_schema(r: &Recorded) -> HashSet<String> {
    r.steps
        .iter()
        .filter_map(|s| s.strip_prefix(BUILT_WITH_SCHEMA))
        .map(str::to_string)
        .collect()
}

/// Refuse to resume a run that stopped while creating its schema: no row
/// had moved, and what it made is incomplete.
pub fn schema_complete(r: &Recorded, target: &impl std::fmt::Display) -> crate::Result<()> {
    if !r.steps.contains(SCHEMA_PENDING) {
        return Ok(());
    }
    Err(crate::Error::usage(format!(
        "--resume: the unfinished {} stopped while it was creating the schema, before any row \
         moved, so there is nothing to continue. Remove what it made with `pgbarge clean \
         --target {target}` and run the command again without --resume",
        r.describe()
    )))
}

/// Refuse to resume a run that did other work than this one would.
pub fn same_run(r: &Recorded, digest: &str) -> crate::Result<()> {
    if r.digest == digest {
        return Ok(());
    }
    Err(crate::Error::usage(format!(
        "--resume: the unfinished {} did other work than this command would (different \
         selection, schema map or options, or the schema changed since). Rerun it with the \
         options it had, or remove it with `pgbarge clean --target URL` and start over",
        r.describe()
    )))
}

/// A run's fingerprint from what decides it: `head` (command and
/// options) and every statement of its schema plan.
pub fn plan_digest(head: &[String], plan: Option<&crate::catalog::model::SchemaPlan>) -> String {
    let sql = plan.into_iter().flat_map(|p| {
        p.extensions
            .iter()
            .chain(&p.pre)
            .chain(&p.indexes)
            .chain(&p.post)
            .chain(&p.validations)
            .chain(&p.access)
            .chain(&p.publications)
            .map(|st| st.sql.as_str())
    });
    digest(head.iter().map(String::as_str).chain(sql))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_recorded_after_its_statement_even_behind_a_comment() {
        let r = RunState { id: "1-2".into() };
        let sql = r.with_step("CREATE INDEX i ON t (a) -- trailing comment");
        // The record must not be swallowed by the comment.
        assert!(sql.contains("-- trailing comment\n;\nINSERT INTO _pgbarge.steps"));
        assert!(sql.ends_with(&format!(
            "'{}') ON CONFLICT DO NOTHING",
            step_key("CREATE INDEX i ON t (a) -- trailing comment")
        )));
    }

    #[test]
    fn digests_change_with_any_part_and_with_part_boundaries() {
        assert_eq!(digest(["a", "b"]), digest(["a", "b"]));
        assert_ne!(digest(["a", "b"]), digest(["a", "c"]));
        assert_ne!(digest(["ab", ""]), digest(["a", "b"]));
    }

    #[test]
    fn names_with_quotes_are_literals() {
        let r = RunState { id: "1-2".into() };
        let sql = r.unit_done_sql("\"we'ird\".t", 3, 4);
        assert!(sql.contains("'\"we''ird\".t'"), "{sql}");
    }

    #[test]
    fn a_run_stopped_while_creating_its_schema_is_not_resumed() {
        let run = RunState { id: "1-2".into() };
        let mut r = Recorded {
            id: run.id.clone(),
            command: "copy".into(),
            source: "postgres://h/db".into(),
            started: "now".into(),
            digest: "d".into(),
            created: Vec::new(),
            created_schemas: Vec::new(),
            done: HashMap::new(),
            units: 0,
            parts: HashSet::new(),
            steps: HashSet::new(),
        };
        let target = "postgres://h/db";
        assert!(schema_complete(&r, &target).is_ok());
        r.steps.insert(SCHEMA_PENDING.into());
        let e = schema_complete(&r, &target).unwrap_err().to_string();
        assert!(
            e.contains("pgbarge clean") && e.contains("without --resume"),
            "{e}"
        );
        // The marker and its removal name the same step.
        assert!(run.schema_pending_sql().contains("'schema being created'"));
        assert!(run.schema_done_sql().contains("'schema being created'"));
    }
}
