//! `copy` without `--data-only`: create the selected schema on the target
//! before the rows, and build what belongs after the data once they are in.
//!
//! Pre-data runs in one target transaction, after a conflict check that
//! refuses to touch existing objects. Post-data builds keys and indexes
//! in parallel, then foreign keys, triggers, rules, policies, refreshes,
//! sequence values and ANALYZE. If anything fails after the pre-data
//! commit, the objects this run created are dropped again, so a failed
//! run leaves the target as it found it.

use std::collections::{HashMap, HashSet};

use anyhow::anyhow;
use tokio::task::JoinSet;

use crate::catalog::{self, model, QualName};
use crate::conn::{self, Role, Session};
use crate::error::{describe_pg, PgContext};
use crate::select;
use crate::settings::CopySettings;
use crate::{Error, Result};

pub use model::SchemaPlan;

/// Read the source catalog (inside the snapshot) into a plan, and check
/// the schema map.
pub async fn plan(s: &CopySettings, src: &Session) -> Result<SchemaPlan> {
    let c = &src.client;
    let tables = catalog::read_tables(c).await?;
    let schemas = catalog::read_schema_names(c).await?;
    let chosen = select::select(&tables, &schemas, &s.patterns).map_err(Error::Usage)?;
    let chosen_tables: Vec<QualName> = chosen
        .iter()
        .map(|c| tables[c.index].name.clone())
        .filter(|n| !tables.iter().any(|t| &t.name == n && t.extension_member))
        .collect();
    // Schemas that come along whole: those of the selected tables, and
    // those named by --schema even when they hold no table.
    let mut selected: Vec<String> = chosen_tables.iter().map(|t| t.schema.clone()).collect();
    selected.extend(select::named_schemas(&schemas, &s.patterns).map_err(Error::Usage)?);
    selected.sort();
    selected.dedup();
    check_map(s, &selected)?;
    let plan = model::read(
        c,
        &model::Options {
            schema_map: &s.schema_map,
            schemas: &selected,
            tables: &chosen_tables,
            tables_only: !s.patterns.table.is_empty(),
            rewrite_function_bodies: s.rewrite_function_bodies,
            no_owner: s.no_owner,
            no_privileges: s.no_privileges,
            extension_schema: s.extension_schema.as_deref(),
        },
    )
    .await?;
    Ok(plan)
}

/// Two source schemas onto one target, or a map onto a schema that is
/// itself copied, would merge objects silently: refuse.
fn check_map(s: &CopySettings, selected: &[String]) -> Result<()> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (from, to) in &s.schema_map {
        if let Some(other) = seen.insert(to, from) {
            return Err(Error::usage(format!(
                "--schema-map maps both \"{other}\" and \"{from}\" onto \"{to}\"; each target schema can take one source schema"
            )));
        }
        if selected.iter().any(|x| x == to) && !s.schema_map.iter().any(|(f, _)| f == to) {
            return Err(Error::usage(format!(
                "--schema-map {from}={to}: schema \"{to}\" is itself copied; leave it out \
                 (--exclude-schema {to}) or map it elsewhere"
            )));
        }
    }
    Ok(())
}

/// Objects of the plan that already exist on the target: (label, DROP).
pub async fn conflicts(dst: &Session, plan: &SchemaPlan) -> Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    for c in &plan.created {
        let (sql, arg) = match c.kind {
            "publication" => (
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1)",
                c.name.name.clone(),
            ),
            "type" => (
                "SELECT pg_catalog.to_regtype($1) IS NOT NULL",
                c.name.quoted(),
            ),
            "function" => (
                "SELECT pg_catalog.to_regprocedure($1) IS NOT NULL",
                format!(
                    "{}({})",
                    c.name.quoted(),
                    c.args.clone().unwrap_or_default()
                ),
            ),
            _ => (
                "SELECT pg_catalog.to_regclass($1) IS NOT NULL",
                c.name.quoted(),
            ),
        };
        // A type whose argument list the target cannot parse (its schema
        // does not exist yet) does not exist either.
        let exists = match dst.client.query_one(sql, &[&arg]).await {
            Ok(r) => r.get::<_, bool>(0),
            Err(_) => false,
        };
        if exists {
            let label = match &c.args {
                Some(a) => format!("{} {}({a})", c.kind, c.name),
                None if c.kind == "publication" => format!("publication {}", c.name.name),
                None => format!("{} {}", c.kind, c.name),
            };
            found.push((label, drop_sql(c, false)));
        }
    }
    Ok(found)
}

/// Extensions the target already has in another schema than the source
/// (objects that name them qualified may then fail), as warnings.
pub async fn misplaced_extensions(dst: &Session, plan: &SchemaPlan) -> Result<Vec<String>> {
    let rows = dst
        .client
        .query(
            "SELECT e.extname::text, n.nspname::text FROM pg_catalog.pg_extension e \
               JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = ANY($1)",
            &[&plan.extension_names],
        )
        .await
        .pg_context(|| "reading the target's extensions".into())?;
    let mut out = Vec::new();
    for r in rows {
        let (name, schema): (String, String) = (r.get(0), r.get(1));
        if let Some(i) = plan.extension_names.iter().position(|n| n == &name) {
            let want = &plan.extension_schemas[i];
            if want != &schema {
                out.push(format!(
                    "extension {name} is installed in schema \"{schema}\" on the target but the copied \
                     objects expect it in \"{want}\"; references such as {want}.<function or type> \
                     will fail until they match (e.g. --schema-map or ALTER EXTENSION {name} SET SCHEMA)"
                ));
            }
        }
    }
    Ok(out)
}

/// Which of `names` the target has, by a query taking them as `$1`.
async fn present(
    dst: &Session,
    sql: &str,
    names: &[String],
    what: &str,
) -> Result<HashSet<String>> {
    Ok(dst
        .client
        .query(sql, &[&names])
        .await
        .pg_context(|| format!("reading the target's {what}"))?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Extensions the objects use that the target neither has nor offers.
pub async fn missing_extensions(dst: &Session, plan: &SchemaPlan) -> Result<Vec<String>> {
    let present = present(
        dst,
        "SELECT name::text FROM pg_catalog.pg_available_extensions WHERE name = ANY($1)",
        &plan.extension_names,
        "available extensions",
    )
    .await?;
    Ok(plan
        .extension_names
        .iter()
        .filter(|e| !present.contains(*e))
        .cloned()
        .collect())
}

/// Roles that owners and grants name but the target lacks.
pub async fn missing_roles(dst: &Session, plan: &SchemaPlan) -> Result<Vec<String>> {
    let wanted: Vec<String> = plan.roles.iter().cloned().collect();
    let present = present(
        dst,
        "SELECT rolname::text FROM pg_catalog.pg_roles WHERE rolname = ANY($1)",
        &wanted,
        "roles",
    )
    .await?;
    Ok(wanted
        .into_iter()
        .filter(|r| !present.contains(r))
        .collect())
}

fn drop_sql(c: &model::Created, cascade: bool) -> String {
    let tail = if cascade { " CASCADE" } else { "" };
    match c.kind {
        "publication" => format!(
            "DROP PUBLICATION IF EXISTS {}{tail}",
            catalog::quote_ident(&c.name.name)
        ),
        "function" => format!(
            "DROP ROUTINE IF EXISTS {}({}){tail}",
            c.name.quoted(),
            c.args.clone().unwrap_or_default()
        ),
        kind => format!(
            "DROP {} IF EXISTS {}{tail}",
            kind.to_uppercase(),
            c.name.quoted()
        ),
    }
}

/// Create schemas, extensions and the pre-data objects in one
/// transaction, after dropping `drops` (`--clean`) in the same
/// transaction. Returns the schemas this run created.
pub async fn apply_pre(
    dst: &mut Session,
    plan: &SchemaPlan,
    drops: &[(String, String)],
) -> Result<Vec<String>> {
    let existing = present(
        dst,
        "SELECT nspname::text FROM pg_catalog.pg_namespace WHERE nspname = ANY($1)",
        &plan.schemas,
        "schemas",
    )
    .await?;
    let created: Vec<String> = plan
        .schemas
        .iter()
        .filter(|s| !existing.contains(*s))
        .cloned()
        .collect();
    let tx = dst
        .client
        .transaction()
        .await
        .pg_context(|| "starting the schema transaction".into())?;
    tx.batch_execute("SET LOCAL check_function_bodies = off")
        .await
        .pg_context(|| "preparing the schema transaction".into())?;
    // Newest first; without CASCADE, so nothing outside the plan goes.
    for (label, sql) in drops.iter().rev() {
        tx.batch_execute(sql).await.map_err(|e| {
            Error::Runtime(anyhow!(
                "--clean: dropping {label} on the target: {}\nNothing was changed.",
                describe_pg(&e)
            ))
        })?;
    }
    for sch in &created {
        tx.batch_execute(&format!("CREATE SCHEMA {}", catalog::quote_ident(sch)))
            .await
            .map_err(|e| {
                Error::Runtime(anyhow!(
                    "creating schema \"{sch}\" on the target: {}",
                    describe_pg(&e)
                ))
            })?;
    }
    for st in plan.extensions.iter().chain(&plan.pre) {
        tx.batch_execute(&st.sql)
            .await
            .map_err(|e| statement_failed("creating", st, &e))?;
    }
    tx.commit()
        .await
        .pg_context(|| "committing the schema".into())?;
    Ok(created)
}

/// The error for a failed DDL statement: what it was for, the server's
/// words, and the statement's first line.
fn statement_failed(verb: &str, st: &model::Statement, e: &tokio_postgres::Error) -> Error {
    Error::Runtime(anyhow!(
        "{verb} {} on the target: {}\n  statement: {}",
        st.what,
        describe_pg(e),
        first_line(&st.sql)
    ))
}

fn first_line(sql: &str) -> String {
    let l = sql.lines().next().unwrap_or("");
    if l.len() < sql.len() {
        format!("{l} ...")
    } else {
        l.to_string()
    }
}

/// Sessions that build keys and indexes from a queue, so a table's
/// indexes can start as soon as its rows are committed while other tables
/// still load. `finish` closes the queue and waits; the first failure
/// stops the others after their current statement.
pub struct Builders {
    tx: Option<tokio::sync::mpsc::UnboundedSender<model::Statement>>,
    set: JoinSet<Result<()>>,
}

impl Builders {
    pub fn spawn(target: &conn::Endpoint, n: usize) -> Self {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<model::Statement>();
        let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
        let failed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut set = JoinSet::new();
        for _ in 0..n.max(1) {
            let (rx, failed, target) = (rx.clone(), failed.clone(), target.clone());
            set.spawn(async move {
                let dst = conn::connect(&target, Role::Target)
                    .await
                    .map_err(Error::Runtime)?;
                loop {
                    let next = rx.lock().await.recv().await;
                    let Some(st) = next else { break };
                    if failed.load(std::sync::atomic::Ordering::Relaxed) {
                        continue;
                    }
                    if let Err(e) = dst.client.batch_execute(&st.sql).await {
                        failed.store(true, std::sync::atomic::Ordering::Relaxed);
                        return Err(statement_failed("building", &st, &e));
                    }
                }
                Ok(())
            });
        }
        Builders { tx: Some(tx), set }
    }

    pub fn send(&self, st: model::Statement) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(st);
        }
    }

    pub async fn finish(mut self) -> Result<()> {
        self.tx = None;
        let mut first_err = None;
        while let Some(r) = self.set.join_next().await {
            let r = r
                .map_err(|e| Error::Runtime(anyhow!("index builder: {e}")))
                .and_then(|r| r);
            if let (Err(e), None) = (r, &first_err) {
                first_err = Some(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// Keys and indexes not built yet (`remaining`) in parallel, then the rest
/// in order, then sequence values from the source snapshot, owners and
/// grants, publications (tables were analyzed as their loads finished).
/// Returns warnings (publications that could not be created).
pub async fn apply_post(
    s: &CopySettings,
    src: &Session,
    plan: &SchemaPlan,
    builders: Builders,
    remaining: Vec<model::Statement>,
) -> Result<Vec<String>> {
    for st in remaining {
        builders.send(st);
    }
    builders.finish().await?;
    let dst = conn::connect(&s.target, Role::Target).await?;
    for st in &plan.post {
        dst.client
            .batch_execute(&st.sql)
            .await
            .map_err(|e| statement_failed("creating", st, &e))?;
    }
    let checkers = Builders::spawn(&s.target, s.jobs.min(plan.validations.len()));
    for st in &plan.validations {
        checkers.send(st.clone());
    }
    checkers.finish().await?;
    for (from, to) in &plan.sequences {
        let row = src
            .client
            .query_one(
                &format!("SELECT last_value, is_called FROM {}", from.quoted()),
                &[],
            )
            .await
            .pg_context(|| format!("reading sequence {from} on the source"))?;
        let (last, called): (i64, bool) = (row.get(0), row.get(1));
        dst.client
            .query_one(
                "SELECT pg_catalog.setval($1::text::regclass, $2, $3)",
                &[&to.quoted(), &last, &called],
            )
            .await
            .pg_context(|| format!("setting sequence {to} on the target"))?;
    }
    for st in &plan.access {
        dst.client
            .batch_execute(&st.sql)
            .await
            .map_err(|e| statement_failed("setting", st, &e))?;
    }
    let mut warnings = Vec::new();
    for st in &plan.publications {
        if let Err(e) = dst.client.batch_execute(&st.sql).await {
            warnings.push(format!("{} was not created: {}", st.what, describe_pg(&e)));
        }
    }
    Ok(warnings)
}

/// Drop what this run created (after a failure), newest first.
pub async fn undo(s: &CopySettings, plan: &SchemaPlan, schemas: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let dst = match conn::connect(&s.target, Role::Target).await {
        Ok(d) => d,
        Err(e) => return vec![format!("cannot reconnect to clean up: {e:#}")],
    };
    for c in plan.created.iter().rev() {
        let sql = drop_sql(c, true);
        if let Err(e) = dst.client.batch_execute(&sql).await {
            problems.push(format!("{sql}: {}", describe_pg(&e)));
        }
    }
    for sch in schemas.iter().rev() {
        let sql = format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            catalog::quote_ident(sch)
        );
        if let Err(e) = dst.client.batch_execute(&sql).await {
            problems.push(format!("{sql}: {}", describe_pg(&e)));
        }
    }
    problems
}

/// `--clean` asks before dropping: on a terminal it prompts, elsewhere it
/// needs `--yes`.
pub fn confirm_clean(s: &CopySettings, found: &[(String, String)]) -> Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    if s.yes {
        return Ok(());
    }
    let list = found
        .iter()
        .map(|(l, _)| format!("  - {l}"))
        .collect::<Vec<_>>()
        .join("\n");
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Error::usage(format!(
            "--clean would drop and recreate these objects on target {}:\n{list}\n\
             Pass --yes to confirm without a terminal",
            s.target
        )));
    }
    eprint!(
        "--clean drops and recreates these objects on target {}:\n{list}\nProceed? [y/N] ",
        s.target
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::usage(format!("reading the answer: {e}")))?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(Error::usage("--clean not confirmed; nothing was changed"))
    }
}
