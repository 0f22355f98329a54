//! `copy` without `--data-only`: create the selected schema on the target
//! before the rows, and build what belongs after the data once they are in.
//!
//! Pre-data runs in one target transaction (several, for a schema larger
//! than the target's lock table holds), after a conflict check that
//! refuses to touch existing objects. Post-data builds keys and indexes
//! in parallel, then foreign keys, triggers, rules, policies, refreshes,
//! sequence values and ANALYZE. If anything fails after the pre-data
//! commit, the objects this run created are dropped again, so a failed
//! run leaves the target as it found it.

use std::collections::{HashMap, HashSet};

use anyhow::anyhow;
use tokio::task::JoinSet;
use tokio_postgres::types::Type;

use crate::catalog::model::ObjectKind;
use crate::catalog::{self, model, QualName};
use crate::conn::{self, Role, Session};
use crate::error::{describe_pg, PgContext};
use crate::runstate::RunState;
use crate::select;
use crate::settings::CopySettings;
use crate::{Error, Result};

pub use model::SchemaPlan;

/// What decides the schema plan besides the source catalog.
pub struct PlanOptions<'a> {
    pub patterns: &'a select::Patterns,
    pub schema_map: &'a [(String, String)],
    pub rewrite_function_bodies: bool,
    pub no_owner: bool,
    pub no_privileges: bool,
    pub extension_schema: Option<&'a str>,
    /// Keep every object name in the plan, for renaming it later (dumps).
    pub record_names: bool,
    /// Carry large objects (copies with rows, dumps).
    pub large_objects: bool,
}

impl CopySettings {
    pub fn plan_options(&self) -> PlanOptions<'_> {
        PlanOptions {
            patterns: &self.patterns,
            schema_map: &self.schema_map,
            rewrite_function_bodies: self.rewrite_function_bodies,
            no_owner: self.no_owner,
            no_privileges: self.no_privileges,
            extension_schema: self.extension_schema.as_deref(),
            record_names: false,
            large_objects: !self.schema_only,
        }
    }
}

/// Read the source catalog (inside the snapshot) into a plan, and check
/// the schema map.
pub async fn plan(o: &PlanOptions<'_>, src: &Session) -> Result<SchemaPlan> {
    let c = &src.client;
    let tables = catalog::read_tables(c).await?;
    let schemas = catalog::read_schema_names(c).await?;
    plan_with(o, src, None, &tables, &schemas).await
}

/// [`plan`] for a caller that has read the source's tables and schema
/// names already; `helper`, a second source session in the same snapshot,
/// reads part of the catalog beside `src`.
pub async fn plan_with(
    o: &PlanOptions<'_>,
    src: &Session,
    helper: Option<&Session>,
    tables: &[catalog::Table],
    schemas: &[String],
) -> Result<SchemaPlan> {
    let c = &src.client;
    let chosen = select::select(tables, schemas, o.patterns).map_err(Error::Usage)?;
    let chosen_tables: Vec<QualName> = chosen
        .iter()
        .map(|c| tables[c.index].name.clone())
        .filter(|n| !tables.iter().any(|t| &t.name == n && t.extension_member))
        .collect();
    // Schemas that come along whole: those of the selected tables, those
    // named by --schema, and without --table every schema the selection
    // keeps, also one that holds no table (functions only, or nothing).
    let mut selected: Vec<String> = chosen_tables.iter().map(|t| t.schema.clone()).collect();
    selected.extend(select::named_schemas(schemas, o.patterns).map_err(Error::Usage)?);
    if o.patterns.table.is_empty() {
        // Every target has a `public`: an empty one (or one holding only
        // extensions' objects) is nothing to copy, and a map onto it
        // stays possible.
        let kept = select::kept_schemas(schemas, o.patterns).map_err(Error::Usage)?;
        let public_used =
            kept.iter().any(|s| s == "public") && catalog::holds_own_objects(c, "public").await?;
        selected.extend(kept.into_iter().filter(|s| s != "public" || public_used));
    }
    selected.sort();
    selected.dedup();
    // A map whose source is not copied would be ignored: a typo would
    // send the copy to the old name. Refuse it.
    for (from, to) in o.schema_map {
        if !selected.contains(from) {
            return Err(Error::usage(if schemas.contains(from) {
                format!(
                    "--schema-map {from}={to}: schema \"{from}\" is not in the selection; add \
                     --schema {from} or leave the map out"
                )
            } else {
                format!(
                    "--schema-map {from}={to}: the source has no schema \"{from}\" (it has {})",
                    schemas.join(", ")
                )
            }));
        }
    }
    check_map(o.schema_map, &selected)?;
    let large_objects_left_out = o.patterns.leave_out.iter().any(|k| k == "large-object");
    let mut plan = model::read(
        c,
        helper.map(|h| &h.client),
        &model::Options {
            schema_map: o.schema_map,
            schemas: &selected,
            tables: &chosen_tables,
            tables_only: !o.patterns.table.is_empty(),
            rewrite_function_bodies: o.rewrite_function_bodies,
            no_owner: o.no_owner,
            no_privileges: o.no_privileges,
            extension_schema: o.extension_schema,
            record_names: o.record_names,
            // Left out by choice: named as such by leave_out below.
            large_objects: o.large_objects && !large_objects_left_out,
            large_objects_left_out,
        },
    )
    .await?;
    plan.leave_out(&o.patterns.leave_out)
        .map_err(Error::Usage)?;
    Ok(plan)
}

/// Two source schemas onto one target, or a map onto a schema that is
/// itself copied, would merge objects silently: refuse.
pub fn check_map(schema_map: &[(String, String)], selected: &[String]) -> Result<()> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (from, to) in schema_map {
        if let Some(other) = seen.insert(to, from) {
            return Err(Error::usage(format!(
                "--schema-map maps both \"{other}\" and \"{from}\" onto \"{to}\"; each target schema can take one source schema"
            )));
        }
        if selected.iter().any(|x| x == to) && !schema_map.iter().any(|(f, _)| f == to) {
            return Err(Error::usage(format!(
                "--schema-map {from}={to}: schema \"{to}\" is itself copied; leave it out \
                 (--exclude-schema {to}) or map it elsewhere"
            )));
        }
    }
    Ok(())
}

/// A text[] literal's element, quoted: any text survives.
fn array_item(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Objects of the plan that already exist on the target: (label, DROP).
pub async fn conflicts(dst: &Session, plan: &SchemaPlan) -> Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    // Large objects, which may be many: one query.
    if !plan.large_objects.is_empty() {
        for r in dst
            .client
            .query_typed(
                "SELECT oid FROM pg_catalog.pg_largeobject_metadata WHERE oid = ANY($1) ORDER BY 1",
                &[(&plan.large_objects, Type::OID_ARRAY)],
            )
            .await
            .pg_context(|| "looking for large objects on the target".into())?
        {
            let oid: u32 = r.get(0);
            found.push((
                format!("large object {oid}"),
                format!(
                    "SELECT pg_catalog.lo_unlink(m.oid) FROM pg_catalog.pg_largeobject_metadata m \
                      WHERE m.oid = {oid}"
                ),
            ));
        }
    }
    let checks: Vec<(&model::Created, &str, String)> = plan
        .created
        .iter()
        .filter(|c| c.kind != ObjectKind::LargeObject)
        .map(|c| {
            let (sql, arg) = existence_check(c);
            (c, sql, arg)
        })
        .collect();
    let answers = exist_on_target(dst, &checks).await;
    for ((c, _, _), exists) in checks.iter().zip(answers) {
        if exists {
            let label = match &c.args {
                Some(a)
                    if matches!(
                        c.kind,
                        ObjectKind::OperatorClass | ObjectKind::OperatorFamily
                    ) =>
                {
                    format!("{} {} using {a}", c.kind, c.name)
                }
                Some(a) => format!("{} {}({a})", c.kind, c.name),
                None if matches!(c.kind, ObjectKind::Publication | ObjectKind::EventTrigger) => {
                    format!("{} {}", c.kind, c.name.name)
                }
                None if c.kind == ObjectKind::Cast => {
                    format!("cast ({} AS {})", c.name.schema, c.name.name)
                }
                None if c.kind == ObjectKind::Transform => {
                    format!("transform for {} language {}", c.name.schema, c.name.name)
                }
                None => format!("{} {}", c.kind, c.name),
            };
            let Some(sql) = drop_sql(c, false) else {
                return Err(Error::usage(format!(
                    "{label} already exists on the target, and its description in the plan \
                     is not a plain name: drop it yourself"
                )));
            };
            found.push((label, sql));
        }
    }
    Ok(found)
}

/// Whether each object of `checks` (with its question and the question's
/// argument, see `existence_check`) exists on the target. One query per
/// kind of question over all its arguments, the queries sent together
/// (the client pipelines them): one round trip, and the server's work on
/// thousands of objects a few set-based scans instead of a statement
/// each. A kind the target cannot answer as a whole (an argument it
/// cannot parse, such as a type in a schema it lacks, is an error before
/// PostgreSQL 16) is asked again one object at a time, where such an
/// object does not exist.
async fn exist_on_target(dst: &Session, checks: &[(&model::Created, &str, String)]) -> Vec<bool> {
    let mut kinds: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (_, sql, _)) in checks.iter().enumerate() {
        kinds.entry(*sql).or_default().push(i);
    }
    let asked = futures_util::future::join_all(kinds.iter().map(|(sql, at)| async move {
        let args: Vec<&str> = at.iter().map(|&i| checks[i].2.as_str()).collect();
        let all = format!(
            "SELECT ({}) FROM pg_catalog.unnest($1::pg_catalog.text[]) WITH ORDINALITY AS u(x, i) \
              ORDER BY u.i",
            sql.replace("$1", "u.x")
        );
        if let Ok(rows) = dst
            .client
            .query_typed(&all, &[(&args, Type::TEXT_ARRAY)])
            .await
        {
            if rows.len() == at.len() {
                let answers = rows
                    .iter()
                    .map(|r| r.get::<_, Option<bool>>(0) == Some(true));
                return answers.collect::<Vec<_>>();
            }
        }
        futures_util::future::join_all(args.iter().map(|arg| async move {
            let arg: &(dyn tokio_postgres::types::ToSql + Sync) = arg;
            match dst.client.query_typed(sql, &[(arg, Type::TEXT)]).await {
                Ok(rows) => rows.first().is_some_and(|r| r.get::<_, bool>(0)),
                Err(_) => false,
            }
        }))
        .await
    }))
    .await;
    let mut exists = vec![false; checks.len()];
    for ((_, at), answers) in kinds.iter().zip(asked) {
        for (&i, answer) in at.iter().zip(answers) {
            exists[i] = answer;
        }
    }
    exists
}

/// The query (one text parameter, one boolean answer) that tells whether
/// `c` exists on the target, and its argument.
fn existence_check(c: &model::Created) -> (&'static str, String) {
    {
        match c.kind {
            ObjectKind::Publication => (
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1)",
                c.name.name.clone(),
            ),
            ObjectKind::EventTrigger => (
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = $1)",
                c.name.name.clone(),
            ),
            ObjectKind::Type => (
                "SELECT pg_catalog.to_regtype($1) IS NOT NULL",
                c.name.quoted(),
            ),
            ObjectKind::Collation => (
                "SELECT pg_catalog.to_regcollation($1) IS NOT NULL",
                c.name.quoted(),
            ),
            ObjectKind::Operator => (
                "SELECT pg_catalog.to_regoperator($1) IS NOT NULL",
                format!(
                    "{}.{}({})",
                    catalog::quote_ident(&c.name.schema),
                    c.name.name,
                    c.args.clone().unwrap_or_default()
                ),
            ),
            kind @ (ObjectKind::TextSearchDictionary
            | ObjectKind::TextSearchConfiguration
            | ObjectKind::TextSearchTemplate
            | ObjectKind::TextSearchParser
            | ObjectKind::Conversion) => (
                if kind == ObjectKind::Conversion {
                    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_conversion x \
                       JOIN pg_catalog.pg_namespace n ON n.oid = x.connamespace \
                      WHERE n.nspname = ($1::text::text[])[1] AND x.conname = ($1::text::text[])[2])"
                } else if kind == ObjectKind::TextSearchTemplate {
                    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_ts_template x \
                       JOIN pg_catalog.pg_namespace n ON n.oid = x.tmplnamespace \
                      WHERE n.nspname = ($1::text::text[])[1] AND x.tmplname = ($1::text::text[])[2])"
                } else if kind == ObjectKind::TextSearchParser {
                    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_ts_parser x \
                       JOIN pg_catalog.pg_namespace n ON n.oid = x.prsnamespace \
                      WHERE n.nspname = ($1::text::text[])[1] AND x.prsname = ($1::text::text[])[2])"
                } else if kind == ObjectKind::TextSearchDictionary {
                    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_ts_dict x \
                       JOIN pg_catalog.pg_namespace n ON n.oid = x.dictnamespace \
                      WHERE n.nspname = ($1::text::text[])[1] AND x.dictname = ($1::text::text[])[2])"
                } else {
                    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_ts_config x \
                       JOIN pg_catalog.pg_namespace n ON n.oid = x.cfgnamespace \
                      WHERE n.nspname = ($1::text::text[])[1] AND x.cfgname = ($1::text::text[])[2])"
                },
                format!(
                    "{{{},{}}}",
                    array_item(&c.name.schema),
                    array_item(&c.name.name)
                ),
            ),
            kind @ (ObjectKind::OperatorClass | ObjectKind::OperatorFamily) => (
                if kind == ObjectKind::OperatorClass {
                    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_opclass x \
                       JOIN pg_catalog.pg_namespace n ON n.oid = x.opcnamespace \
                       JOIN pg_catalog.pg_am a ON a.oid = x.opcmethod \
                      WHERE n.nspname = ($1::text::text[])[1] AND x.opcname = ($1::text::text[])[2] \
                        AND a.amname = ($1::text::text[])[3])"
                } else {
                    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_opfamily x \
                       JOIN pg_catalog.pg_namespace n ON n.oid = x.opfnamespace \
                       JOIN pg_catalog.pg_am a ON a.oid = x.opfmethod \
                      WHERE n.nspname = ($1::text::text[])[1] AND x.opfname = ($1::text::text[])[2] \
                        AND a.amname = ($1::text::text[])[3])"
                },
                format!(
                    "{{{},{},{}}}",
                    array_item(&c.name.schema),
                    array_item(&c.name.name),
                    array_item(c.args.as_deref().unwrap_or_default())
                ),
            ),
            // (type, language) in the name's two halves.
            ObjectKind::Transform => (
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_transform x \
                   JOIN pg_catalog.pg_language l ON l.oid = x.trflang \
                  WHERE x.trftype = pg_catalog.to_regtype(($1::text::text[])[1]) \
                    AND l.lanname = ($1::text::text[])[2])",
                format!(
                    "{{{},{}}}",
                    array_item(&c.name.schema),
                    array_item(&c.name.name)
                ),
            ),
            // (source type, target type) in the name's two halves.
            ObjectKind::Cast => (
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_cast \
                  WHERE castsource = pg_catalog.to_regtype(($1::text::text[])[1]) \
                    AND casttarget = pg_catalog.to_regtype(($1::text::text[])[2]))",
                format!(
                    "{{{},{}}}",
                    array_item(&c.name.schema),
                    array_item(&c.name.name)
                ),
            ),
            ObjectKind::Function => (
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
        }
    }
}

/// Everything that must hold before the first write of a schema copy or
/// restore: no existing objects unless `--clean` (confirmed), the
/// extensions and roles the plan needs. Returns the objects `--clean`
/// drops.
pub async fn check_target(
    dst: &Session,
    plan: &SchemaPlan,
    clean: bool,
    yes: bool,
    target: &conn::Endpoint,
) -> Result<Vec<(String, String)>> {
    // Four reads, sent together (the client pipelines them): one round
    // trip to a distant target instead of several; checked in order.
    let (found, absent, missing, outside) = tokio::try_join!(
        conflicts(dst, plan),
        missing_extensions(dst, plan),
        missing_roles(dst, plan),
        missing_outside(dst, plan)
    )?;
    if !found.is_empty() && !clean {
        return Err(Error::usage(format!(
            "these objects already exist on the target:\n  - {}\nDrop them first, map the \
             schema elsewhere (--schema-map), replace them with --clean, or load rows into \
             existing tables with --data-only",
            found
                .iter()
                .map(|(l, _)| l.as_str())
                .collect::<Vec<_>>()
                .join("\n  - ")
        )));
    }
    if !absent.is_empty() {
        return Err(Error::usage(format!(
            "the objects use extension(s) {} which the target server does not offer \
             (not in pg_available_extensions); install them on the target server or leave out \
             the objects that use them",
            absent.join(", ")
        )));
    }
    if !missing.is_empty() {
        return Err(Error::usage(format!(
            "the target has no role {}, which owns or is granted objects on the source. Create \
             the role(s) on the target, or pass --no-owner (objects then belong to the role you \
             connect as) and/or --no-privileges (no grants are copied)",
            missing
                .iter()
                .map(|r| format!("\"{r}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if !outside.is_empty() {
        return Err(Error::usage(format!(
            "the selection needs objects it leaves out:\n  - {}\nNothing was written.",
            outside.join("\n  - ")
        )));
    }
    if !found.is_empty() {
        confirm_clean(yes, target, &found)?;
    }
    Ok(found)
}

/// The objects outside the plan (`SchemaPlan::outside`) that the target
/// lacks, each as a message naming what needs it and the fix.
pub async fn missing_outside(dst: &Session, plan: &SchemaPlan) -> Result<Vec<String>> {
    let wanted: Vec<(&str, &str)> = plan
        .outside
        .iter()
        .map(|o| (o.kind.as_str(), o.name.as_str()))
        .collect();
    let present = present_on_target(dst, &wanted).await?;
    Ok(plan
        .outside
        .iter()
        .zip(present)
        .filter(|(_, here)| !here)
        .map(|(o, _)| o.missing())
        .collect())
}

/// Whether the target has each (kind, name): a `type`, a `function`
/// (name with its argument types) or a relation (any other kind), in
/// one query.
pub async fn present_on_target(dst: &Session, objects: &[(&str, &str)]) -> Result<Vec<bool>> {
    if objects.is_empty() {
        return Ok(Vec::new());
    }
    let (kinds, names): (Vec<&str>, Vec<&str>) = objects.iter().copied().unzip();
    Ok(dst
        .client
        .query_typed(
            "SELECT CASE k WHEN 'type' THEN pg_catalog.to_regtype(n) IS NOT NULL \
                           WHEN 'function' THEN pg_catalog.to_regprocedure(n) IS NOT NULL \
                           WHEN 'operator' THEN pg_catalog.to_regoperator(n) IS NOT NULL \
                           WHEN 'operator class' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_opclass x \
                             JOIN pg_catalog.pg_namespace s ON s.oid = x.opcnamespace \
                             JOIN pg_catalog.pg_am a ON a.oid = x.opcmethod \
                            WHERE pg_catalog.format('%I.%I USING %I', s.nspname, x.opcname, a.amname) = n) \
                           WHEN 'operator family' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_opfamily x \
                             JOIN pg_catalog.pg_namespace s ON s.oid = x.opfnamespace \
                             JOIN pg_catalog.pg_am a ON a.oid = x.opfmethod \
                            WHERE pg_catalog.format('%I.%I USING %I', s.nspname, x.opfname, a.amname) = n) \
                           WHEN 'server' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_foreign_server x \
                            WHERE pg_catalog.quote_ident(x.srvname) = n) \
                           WHEN 'foreign-data wrapper' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_foreign_data_wrapper x \
                            WHERE pg_catalog.quote_ident(x.fdwname) = n) \
                           ELSE pg_catalog.to_regclass(n) IS NOT NULL END \
               FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[])) \
                    WITH ORDINALITY AS u(k, n, i) \
              ORDER BY i",
            &[(&kinds, Type::TEXT_ARRAY), (&names, Type::TEXT_ARRAY)],
        )
        .await
        .pg_context(|| "looking for objects on the target".into())?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// What the schema step is about to do, for the progress line (copy and
/// restore alike).
pub fn describe_steps(plan: &SchemaPlan) -> String {
    format!(
        "creating the schema: {} statements, then {} keys and indexes and {} other statements after the data",
        plan.extensions.len() + plan.pre.len(),
        plan.indexes.len(),
        plan.post.len()
    )
}

/// The report of the schema step once the pre-data is in, `started` when
/// it began; the time after the rows is filled in later.
pub fn report_before_rows(
    plan: &SchemaPlan,
    sequences_set: usize,
    started: std::time::Instant,
) -> crate::report::SchemaReport {
    crate::report::SchemaReport {
        statements_before_rows: plan.extensions.len() + plan.pre.len(),
        keys_and_indexes: plan.indexes.len(),
        statements_after_rows: plan.post.len(),
        access_statements: plan.access.len(),
        sequences_set,
        seconds_before_rows: crate::report::round3(started.elapsed().as_secs_f64()),
        seconds_after_rows: 0.0,
        large_objects: 0,
        large_object_bytes: 0,
    }
}

/// Keys and indexes of each loading table, to build as soon as its rows
/// are committed (then its statistics: carried from the source where
/// `stats` has them, else ANALYZE), and the ones that wait for all rows.
#[allow(clippy::type_complexity)]
pub fn split_early(
    plan: &SchemaPlan,
    loading: &HashSet<&QualName>,
    stats: &HashMap<QualName, String>,
) -> (
    HashMap<QualName, Vec<model::Statement>>,
    Vec<model::Statement>,
) {
    let mut early: HashMap<QualName, Vec<model::Statement>> = HashMap::new();
    let mut remaining = Vec::new();
    for (st, table) in plan.indexes.iter().zip(&plan.index_tables) {
        match table {
            Some(t) if loading.contains(t) => early.entry(t.clone()).or_default().push(st.clone()),
            _ => remaining.push(st.clone()),
        }
    }
    for t in loading {
        if plan.no_analyze.contains(t) && !stats.contains_key(*t) {
            continue;
        }
        early
            .entry((*t).clone())
            .or_default()
            .push(match stats.get(*t) {
                Some(sql) => model::Statement::new(
                    model::Kind::TableStatistics,
                    format!("statistics of {t} (carried from the source)"),
                    sql.clone(),
                ),
                None => model::Statement::new(
                    model::Kind::TableStatistics,
                    format!("statistics (ANALYZE) of {t}"),
                    format!("ANALYZE {}", t.quoted()),
                ),
            });
    }
    (early, remaining)
}

/// Extensions the target already has in another schema than the source
/// (objects that name them qualified may then fail), as warnings.
pub async fn misplaced_extensions(dst: &Session, plan: &SchemaPlan) -> Result<Vec<String>> {
    let rows = dst
        .client
        .query_typed(
            "SELECT e.extname::text, n.nspname::text FROM pg_catalog.pg_extension e \
               JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = ANY($1)",
            &[(&plan.extension_names, Type::TEXT_ARRAY)],
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
        .query_typed(sql, &[(&names, Type::TEXT_ARRAY)])
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

/// Extensions the objects use that the target offers but has not
/// installed, where the connected role is not a superuser and either the
/// extension is not marked trusted (PostgreSQL 13+) or the role may not
/// create in the database: creating them will likely be refused. Managed
/// platforms often allow a list of extensions through other means, so
/// this is a caution, not a certainty.
pub async fn restricted_extensions(dst: &Session, plan: &SchemaPlan) -> Result<Vec<String>> {
    if plan.extension_names.is_empty() {
        return Ok(Vec::new());
    }
    let trusted = if dst.server_info().await?.major() >= 13 {
        "COALESCE((SELECT pg_catalog.bool_or(v.trusted) FROM pg_catalog.pg_available_extension_versions v \
                    WHERE v.name = a.name AND v.version = a.default_version), false)"
    } else {
        "false"
    };
    let sql = format!(
        "SELECT a.name::text FROM pg_catalog.pg_available_extensions a \
          WHERE a.name = ANY($1) \
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = a.name) \
            AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) \
            AND NOT ({trusted} AND pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE')) \
          ORDER BY 1"
    );
    Ok(dst
        .client
        .query_typed(&sql, &[(&plan.extension_names, Type::TEXT_ARRAY)])
        .await
        .pg_context(|| "reading the target's extension rights".into())?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Adjust a plan to what the target's version offers, before anything
/// checks or applies it. PostgreSQL 14 brought the predefined role
/// `pg_database_owner` (the owner of `public` from 15 on); an older
/// target has none, and what the source grants it goes to the role that
/// owns the target database, which is what the role stands for.
pub async fn fit_to_target(dst: &Session, plan: &mut SchemaPlan) -> Result<()> {
    const DB_OWNER: &str = "pg_database_owner";
    let named = plan.owners.contains(DB_OWNER) || plan.grantees.contains(DB_OWNER);
    if !named
        || !missing_roles(dst, plan)
            .await?
            .iter()
            .any(|r| r == DB_OWNER)
    {
        return Ok(());
    }
    let owner: String = dst
        .client
        .query_typed_one(
            "SELECT pg_catalog.pg_get_userbyid(datdba)::text FROM pg_catalog.pg_database \
              WHERE datname = pg_catalog.current_database()",
            &[],
        )
        .await
        .pg_context(|| "reading the target database's owner".into())?
        .get(0);
    for st in &mut plan.access {
        st.sql = crate::ddl::lexer::rename_role(&st.sql, DB_OWNER, &owner);
    }
    for set in [&mut plan.owners, &mut plan.grantees] {
        if set.remove(DB_OWNER) {
            set.insert(owner.clone());
        }
    }
    plan.warnings.push(format!(
        "the target's PostgreSQL has no role {DB_OWNER} (it came with 14): what the source grants \
         it goes to \"{owner}\", the owner of the target database"
    ));
    Ok(())
}

/// Roles that owners and grants name but the target lacks.
pub async fn missing_roles(dst: &Session, plan: &SchemaPlan) -> Result<Vec<String>> {
    let wanted: Vec<String> = plan.owners.union(&plan.grantees).cloned().collect();
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

/// The statement that drops a created object; None when the object's
/// description cannot be trusted to be only a name (it comes from a dump
/// or from run state on a target): an unknown kind, or type text that
/// could end the statement.
fn drop_sql(c: &model::Created, cascade: bool) -> Option<String> {
    // Type lists (a routine's arguments, a cast's types) are spliced in
    // as text: only what a type list may hold outside quoted names.
    let plain_types = |t: &str| {
        let mut quoted = false;
        t.chars().all(|ch| {
            if ch == '"' {
                quoted = !quoted;
            }
            !ch.is_control() && (quoted || !matches!(ch, ';' | '\'' | '$' | '-' | '/' | '\\'))
        }) && !quoted
    };
    let safe = match c.kind {
        // An oid: digits only.
        ObjectKind::LargeObject => {
            !c.name.name.is_empty() && c.name.name.chars().all(|ch| ch.is_ascii_digit())
        }
        ObjectKind::Cast => plain_types(&c.name.schema) && plain_types(&c.name.name),
        ObjectKind::Transform => plain_types(&c.name.schema),
        ObjectKind::Function => c.args.as_deref().is_none_or(plain_types),
        // The access method: a plain name.
        ObjectKind::OperatorClass | ObjectKind::OperatorFamily => {
            c.args.as_deref().is_some_and(|a| {
                !a.is_empty() && a.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            })
        }
        // An operator's name is symbols only.
        ObjectKind::Operator => {
            c.args.as_deref().is_some_and(plain_types) && model::operator_name(&c.name.name)
        }
        _ => true,
    };
    if !safe {
        return None;
    }
    let tail = if cascade { " CASCADE" } else { "" };
    Some(match c.kind {
        ObjectKind::Publication => format!(
            "DROP PUBLICATION IF EXISTS {}{tail}",
            catalog::quote_ident(&c.name.name)
        ),
        ObjectKind::LargeObject => format!(
            "SELECT pg_catalog.lo_unlink(m.oid) FROM pg_catalog.pg_largeobject_metadata m \
              WHERE m.oid = {}",
            c.name.name
        ),
        ObjectKind::EventTrigger => format!(
            "DROP EVENT TRIGGER IF EXISTS {}{tail}",
            catalog::quote_ident(&c.name.name)
        ),
        ObjectKind::Cast => format!(
            "DROP CAST IF EXISTS ({} AS {}){tail}",
            c.name.schema, c.name.name
        ),
        ObjectKind::Transform => format!(
            "DROP TRANSFORM IF EXISTS FOR {} LANGUAGE {}{tail}",
            c.name.schema,
            catalog::quote_ident(&c.name.name)
        ),
        ObjectKind::Operator => format!(
            "DROP OPERATOR IF EXISTS {}.{} ({}){tail}",
            catalog::quote_ident(&c.name.schema),
            c.name.name,
            c.args.clone().unwrap_or_default()
        ),
        kind @ (ObjectKind::OperatorClass | ObjectKind::OperatorFamily) => format!(
            "DROP {} IF EXISTS {} USING {}{tail}",
            kind.word().to_uppercase(),
            c.name.quoted(),
            c.args.clone().unwrap_or_default()
        ),
        ObjectKind::Function => format!(
            "DROP ROUTINE IF EXISTS {}({}){tail}",
            c.name.quoted(),
            c.args.clone().unwrap_or_default()
        ),
        kind => format!(
            "DROP {} IF EXISTS {}{tail}",
            kind.word().to_uppercase(),
            c.name.quoted()
        ),
    })
}

/// Locks one transaction of the schema may hold on the target: half of
/// the target's shared lock table (`max_locks_per_transaction` times the
/// sessions it is sized for), the rest left to everyone else. A schema of
/// thousands of tables takes more than that in one transaction ("out of
/// shared memory"); see [`lock_chunks`].
async fn lock_budget(dst: &Session) -> Result<usize> {
    let row = dst
        .client
        .query_typed_one(
            "SELECT pg_catalog.current_setting('max_locks_per_transaction')::int8 \
                  * (pg_catalog.current_setting('max_connections')::int8 \
                     + pg_catalog.current_setting('max_prepared_transactions')::int8)",
            &[],
        )
        .await
        .pg_context(|| "reading the target's lock table size".into())?;
    let capacity: i64 = row.get(0);
    Ok(usize::try_from(capacity / 2).unwrap_or(0).max(64))
}

/// How the statements before the rows go when the schema is created in
/// parts: see [`pre_steps`].
#[derive(Debug, PartialEq)]
enum PreStep {
    /// In order, on the session of the schema, in transactions sized to
    /// the target's lock table.
    Alone(std::ops::Range<usize>),
    /// The units of one wave, each its statements (indexes into `pre`) in
    /// order: side by side on several sessions.
    Beside(Vec<Vec<usize>>),
}

/// A wave with fewer statements than this goes in order: spreading it
/// would cost more round trips than it saves.
const MIN_BESIDE: usize = 64;

/// `pre` (the statements before the rows, in order) as steps run one
/// after the other: each wave (consecutive statements of one
/// [`model::Slot::wave`]) of at least [`MIN_BESIDE`] statements and
/// several units goes side by side when `jobs` allows; everything else
/// (statements without a slot, small waves) in order.
fn pre_steps(pre: &[&model::Statement], jobs: usize) -> Vec<PreStep> {
    let mut out = Vec::new();
    let mut alone: Option<usize> = None;
    let mut i = 0;
    while i < pre.len() {
        let Some(wave) = pre[i].slot.map(|s| s.wave) else {
            alone.get_or_insert(i);
            i += 1;
            continue;
        };
        let start = i;
        let mut units: Vec<Vec<usize>> = Vec::new();
        let mut unit_at: HashMap<u32, usize> = HashMap::new();
        while let Some(slot) = pre.get(i).and_then(|st| st.slot).filter(|s| s.wave == wave) {
            let at = *unit_at.entry(slot.unit).or_insert_with(|| {
                units.push(Vec::new());
                units.len() - 1
            });
            units[at].push(i);
            i += 1;
        }
        if jobs > 1 && i - start >= MIN_BESIDE && units.len() > 1 {
            if let Some(a) = alone.take() {
                out.push(PreStep::Alone(a..start));
            }
            out.push(PreStep::Beside(units));
        } else {
            alone.get_or_insert(start);
        }
    }
    if let Some(a) = alone {
        out.push(PreStep::Alone(a..pre.len()));
    }
    out
}

/// The units of a wave (each its statements, in order) packed into takes
/// (a transaction, one round trip each) shared evenly by `n` sessions:
/// as few takes as the limits allow (a batch's statements and bytes,
/// `lock_limit` locks; `cost` gives a statement's locks and bytes), at
/// least `n` so that every session has work. A unit is never split; one
/// over a limit goes alone.
fn even_takes(
    units: &[Vec<usize>],
    cost: impl Fn(usize) -> (usize, usize),
    n: usize,
    lock_limit: usize,
) -> Vec<Vec<usize>> {
    // What a take may hold: the batch's limits, a margin left for the
    // BEGIN and COMMIT around it.
    let max_statements = super::batch::MAX_STATEMENTS - 2;
    let max_bytes = super::batch::MAX_BYTES - 64;
    let (mut statements, mut locks, mut bytes) = (0usize, 0usize, 0usize);
    for &i in units.iter().flatten() {
        let (l, b) = cost(i);
        statements += 1;
        locks += l;
        bytes += b;
    }
    let takes = n
        .max(statements.div_ceil(max_statements))
        .max(locks.div_ceil(lock_limit.max(1)))
        .max(bytes.div_ceil(max_bytes))
        .max(1);
    let aim = statements.div_ceil(takes);
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut take: Vec<usize> = Vec::new();
    let (mut locks, mut bytes) = (0, 0);
    for unit in units {
        let (l, b) = unit
            .iter()
            .map(|&i| cost(i))
            .fold((0, 0), |(l, b), (x, y)| (l + x, b + y));
        let over = take.len() + unit.len() > max_statements
            || locks + l > lock_limit
            || bytes + b > max_bytes;
        if !take.is_empty() && (over || take.len() >= aim) {
            out.push(std::mem::take(&mut take));
            (locks, bytes) = (0, 0);
        }
        take.extend(unit);
        locks += l;
        bytes += b;
    }
    if !take.is_empty() {
        out.push(take);
    }
    out
}

/// The locks a statement adds to its transaction, at most: a table its
/// own, its TOAST table's and that one's index; an index or key its own
/// and its table's; anything else one (what it creates, or a table made
/// by an earlier transaction that it uses).
fn lock_cost(st: &model::Statement) -> usize {
    match st.kind {
        model::Kind::Table | model::Kind::View => 3,
        // The index it builds and its table (perhaps made by an earlier
        // transaction).
        model::Kind::Index | model::Kind::ConstraintIndex | model::Kind::Constraint => 2,
        _ => 1,
    }
}

/// `sts` as runs of consecutive statements of at most `budget` locks each
/// (a statement costing more goes alone), for transactions of their own.
pub fn lock_chunks(sts: &[&model::Statement], budget: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, st) in sts.iter().enumerate() {
        let cost = lock_cost(st);
        if i > start && used + cost > budget {
            out.push(start..i);
            (start, used) = (i, 0);
        }
        used += cost;
    }
    if start < sts.len() || out.is_empty() {
        out.push(start..sts.len());
    }
    out
}

/// A statement the target refused for want of room in its lock table.
#[derive(Debug)]
struct LockTableFull(String);

impl std::fmt::Display for LockTableFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LockTableFull {}

fn out_of_locks(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::OUT_OF_MEMORY)
}

fn is_lock_table_full(e: &Error) -> bool {
    matches!(e, Error::Runtime(e) if e.downcast_ref::<LockTableFull>().is_some())
}

/// What `apply_pre` did.
pub struct Applied {
    /// The schemas this run created.
    pub created: Vec<String>,
    /// Said to the user: the statements after the rows could not all be
    /// tried beforehand.
    pub warnings: Vec<String>,
}

/// Create schemas, extensions and the pre-data objects, after dropping
/// `drops` (`--clean`), and try every statement that runs after the rows;
/// `record` gives SQL (given the schemas created) that commits with the
/// first of them: the run's state (`run`, when recorded). Returns the
/// schemas this run created.
///
/// One transaction when the target's lock table holds it all. A larger
/// schema goes in several, one after the other (each within
/// [`lock_budget`]), with the trial in one more: a failure then drops what
/// the earlier ones made, and until the last one commits the run's record
/// says the schema is unfinished (a `--resume` then refuses to build on
/// it).
pub async fn apply_pre(
    dst: &mut Session,
    jobs: usize,
    plan: &SchemaPlan,
    drops: &[(String, String)],
    run: Option<&RunState>,
    record: impl FnOnce(&[String]) -> String,
) -> Result<Applied> {
    let (existing, budget) = tokio::try_join!(
        present(
            dst,
            "SELECT nspname::text FROM pg_catalog.pg_namespace WHERE nspname = ANY($1)",
            &plan.schemas,
            "schemas",
        ),
        lock_budget(dst)
    )?;
    let created: Vec<String> = plan
        .schemas
        .iter()
        .filter(|s| !existing.contains(*s))
        .cloned()
        .collect();
    let pre: Vec<&model::Statement> = plan.extensions.iter().chain(&plan.pre).collect();
    let after_cost = after_rows(plan).into_iter().map(lock_cost).sum::<usize>();
    let pre_cost = pre.iter().map(|st| lock_cost(st)).sum::<usize>();
    // All of it in one transaction when it fits; else the parts, and the
    // trial in a transaction of its own.
    let whole = pre_cost + after_cost <= budget;
    let pid = dst.pid;
    let mut warnings = Vec::new();
    {
        let tx = schema_transaction(dst).await?;
        drop_replaced(&tx, plan, drops).await?;
        let mut record = record(&created);
        if !whole && !record.is_empty() {
            if let Some(run) = run {
                record.push_str(";\n");
                record.push_str(&run.schema_pending_sql());
            }
        }
        // The schemas, then (whole) the statements before the rows, many
        // to a round trip; the record of the run goes with the last batch
        // (after the trial when whole).
        let creating: Vec<String> = created
            .iter()
            .map(|sch| format!("CREATE SCHEMA {}", catalog::quote_ident(sch)))
            .collect();
        let whats: Vec<String> = created
            .iter()
            .map(|sch| format!("schema \"{sch}\""))
            .collect();
        let recording = format!(
            "the record of the run in schema {}",
            crate::runstate::SCHEMA
        );
        let mut items: Vec<super::batch::Item> = creating
            .iter()
            .zip(&whats)
            .map(|(sql, what)| super::batch::Item {
                what,
                sql: sql.as_str().into(),
            })
            .collect();
        let first = if whole { pre.as_slice() } else { &[] };
        items.extend(first.iter().map(|st| super::batch::Item {
            what: &st.what,
            sql: st.sql.as_str().into(),
        }));
        if !whole && !record.is_empty() {
            items.push(super::batch::Item {
                what: &recording,
                sql: record.as_str().into(),
            });
        }
        let schemas = created.len();
        super::batch::run(&tx, pid, true, &items, |i, e| {
            if i < schemas {
                Error::Runtime(anyhow!(
                    "creating schema \"{}\" on the target: {}",
                    created[i],
                    describe_pg(&e)
                ))
            } else if i < schemas + first.len() {
                create_failed(first[i - schemas], &e)
            } else {
                Error::Runtime(anyhow!(
                    "recording the run in schema {} on the target: {}",
                    crate::runstate::SCHEMA,
                    describe_pg(&e)
                ))
            }
        })
        .await?;
        if whole {
            warnings.extend(try_after_rows(&tx, pid, plan, &record).await?);
        }
        tx.commit()
            .await
            .pg_context(|| "committing the schema".into())?;
    }
    if whole {
        return Ok(Applied { created, warnings });
    }
    // The rest, each part committed; a failure drops what the parts before
    // it made (and the run's record with them). What needs nothing of
    // each other (the tables of a wave, their views, small tables' keys)
    // goes on `jobs` sessions side by side, each take of statements one
    // transaction within its share of the lock table (one refused runs
    // again a statement at a time, naming it), on sessions kept from one
    // wave to the next.
    let pool = SessionPool::default();
    let rest = async {
        for step in pre_steps(&pre, jobs) {
            match step {
                PreStep::Alone(part) => {
                    for range in lock_chunks(&pre[part.clone()], budget) {
                        let range = part.start + range.start..part.start + range.end;
                        let tx = schema_transaction(dst).await?;
                        exec_all(&tx, pid, true, &pre[range], create_failed).await?;
                        tx.commit()
                            .await
                            .pg_context(|| "committing part of the schema".into())?;
                    }
                }
                PreStep::Beside(units) => {
                    let side = Builders::spawn_with(
                        &dst.endpoint,
                        jobs.min(units.len()),
                        None,
                        "creating",
                        Some(budget),
                        Some(pool.clone()),
                    );
                    let n = jobs.min(units.len());
                    let takes = even_takes(
                        &units,
                        |i| (lock_cost(pre[i]), pre[i].sql.len()),
                        n,
                        (budget / n.max(1)).max(1),
                    );
                    for take in takes {
                        side.send_group(take.iter().map(|&i| pre[i].clone()).collect(), false);
                    }
                    side.finish().await?;
                }
            }
        }
        let tx = schema_transaction(dst).await?;
        let done = run.map(|r| r.schema_done_sql()).unwrap_or_default();
        let warnings = try_after_rows(&tx, pid, plan, &done).await?;
        tx.commit()
            .await
            .pg_context(|| "committing the schema".into())?;
        Ok::<_, Error>(warnings)
    }
    .await;
    match rest {
        Ok(w) => {
            warnings.extend(w);
            Ok(Applied { created, warnings })
        }
        Err(e) => {
            let mut problems = undo(&dst.endpoint, &plan.created, &created).await;
            if let Some(run) = run {
                if let Err(f) = run.finish(&dst.client).await {
                    problems.push(format!("{f:#}"));
                }
            }
            // --clean's drops committed with the first part: say so.
            let dropped = if drops.is_empty() {
                String::new()
            } else {
                format!(
                    "\nThe schema was too large for the target's lock table to go in one \
                     transaction, and --clean's drops ({} objects it replaces) committed with \
                     its first part: they are gone.",
                    drops.len()
                )
            };
            if problems.is_empty() && dropped.is_empty() {
                return Err(e);
            }
            let undone = if problems.is_empty() {
                String::new()
            } else {
                format!(
                    "\nThe schema was created in parts; dropping what the earlier parts made \
                     failed: {}",
                    problems.join("; ")
                )
            };
            Err(Error::Runtime(anyhow!(
                "{}{dropped}{undone}",
                match e {
                    Error::Runtime(e) => format!("{e:#}"),
                    other => other.to_string(),
                }
            )))
        }
    }
}

/// A transaction of the schema (function bodies are left unchecked on
/// every target session: they may name what comes later).
async fn schema_transaction(dst: &mut Session) -> Result<tokio_postgres::Transaction<'_>> {
    Ok(dst
        .client
        .transaction()
        .await
        .pg_context(|| "starting the schema transaction".into())?)
}

fn create_failed(st: &model::Statement, e: &tokio_postgres::Error) -> Error {
    if out_of_locks(e) {
        return Error::Runtime(anyhow!(
            "the target ran out of room in its lock table creating {} ({}), although pgbarge \
             creates the schema in parts sized to it; nothing was written. Ask for a larger \
             max_locks_per_transaction on the target, or copy fewer schemas at a time",
            st.what,
            describe_pg(e)
        ));
    }
    statement_failed("creating", st, e)
}

/// `--clean`: drop what the run replaces, inside `tx`.
async fn drop_replaced(
    tx: &tokio_postgres::Transaction<'_>,
    plan: &SchemaPlan,
    drops: &[(String, String)],
) -> Result<()> {
    // Foreign keys among the tables being replaced go first (they would go
    // with their tables, but block dropping the tables they reference);
    // one from a table outside the plan still stops the drop below.
    if !drops.is_empty() {
        let tables: Vec<String> = plan
            .created
            .iter()
            .filter(|c| c.kind == ObjectKind::Table)
            .map(|c| c.name.quoted())
            .collect();
        let rows = tx
            .query(
                "WITH t AS (SELECT pg_catalog.to_regclass(n) AS oid FROM pg_catalog.unnest($1::text[]) AS n) \
                 SELECT pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::pg_catalog.regclass, c.conname) \
                   FROM pg_catalog.pg_constraint c \
                  WHERE c.contype = 'f' AND c.conparentid = 0 \
                    AND c.conrelid IN (SELECT oid FROM t) AND c.confrelid IN (SELECT oid FROM t)",
                &[&tables],
            )
            .await
            .pg_context(|| "--clean: reading the foreign keys among the replaced tables".into())?;
        for r in rows {
            let sql: String = r.get(0);
            tx.batch_execute(&sql).await.map_err(|e| {
                Error::Runtime(anyhow!(
                    "--clean: {sql}: {}\nNothing was changed.",
                    describe_pg(&e)
                ))
            })?;
        }
    }
    // Newest first; without CASCADE, so nothing outside the plan goes.
    for (label, sql) in drops.iter().rev() {
        tx.batch_execute(sql).await.map_err(|e| {
            Error::Runtime(anyhow!(
                "--clean: dropping {label} on the target: {}\nNothing was changed.",
                describe_pg(&e)
            ))
        })?;
    }
    Ok(())
}

/// Every statement that runs after the rows, in order; publications are
/// left out (their failure is a warning, not a stop).
fn after_rows(plan: &SchemaPlan) -> Vec<&model::Statement> {
    plan.indexes
        .iter()
        .chain(&plan.post)
        .chain(&plan.validations)
        .chain(&plan.access)
        .collect()
}

/// Every statement that runs after the rows (keys and indexes, foreign
/// keys, triggers, views defined late and the rest, validations, owners
/// and grants), tried inside `tx` on the still empty tables and undone:
/// a statement this target refuses stops the run here, before any row
/// moves, instead of after an hour of loading. (What only the rows can
/// break, a unique index over duplicates, still shows at the end.)
/// When the target's lock table cannot hold them all in one transaction,
/// the trial is given up: the warning returned says so. `then` (SQL, may
/// be empty) runs after the trial is undone, in the same round trip.
async fn try_after_rows(
    tx: &tokio_postgres::Transaction<'_>,
    pid: i32,
    plan: &SchemaPlan,
    then: &str,
) -> Result<Option<String>> {
    // The savepoint is sent with the statements, not before them (the
    // client pipelines what is asked together, in order): one round trip
    // fewer. Should it fail, the statements fail too, and its error is
    // the one told.
    let savepoint = async {
        tx.batch_execute("SAVEPOINT pgbarge_after_rows")
            .await
            .pg_context(|| "trying the statements after the rows".into())
            .map_err(Error::Runtime)
    };
    let after = after_rows(plan);
    let tried = async {
        // The large objects exist (empty) for their owners, grants and
        // comments to apply to.
        if !plan.large_objects.is_empty() {
            tx.execute(
                "SELECT pg_catalog.lo_create(o) FROM pg_catalog.unnest($1::pg_catalog.oid[]) AS o",
                &[&plan.large_objects],
            )
            .await
            .map_err(|e| {
                Error::Runtime(anyhow::anyhow!(
                    "the target refuses to create the source's large objects (found before any \
                     row moved; nothing was written): {}",
                    describe_pg(&e)
                ))
            })?;
        }
        let tried: Vec<std::borrow::Cow<model::Statement>> =
            after.iter().map(|st| as_tried(plan, st)).collect();
        let tried: Vec<&model::Statement> = tried.iter().map(|st| st.as_ref()).collect();
        Ok::<_, Error>(exec_all(tx, pid, true, &tried, refused_early).await)
    };
    let ((), tried) = tokio::try_join!(savepoint, tried)?;
    let warning = match tried {
        Ok(()) => None,
        Err(e) if is_lock_table_full(&e) => Some(format!(
            "the target's lock table (max_locks_per_transaction) is too small to try the {} \
             statements after the rows in one transaction before any row moves; they run after \
             the rows, and one the target refuses then undoes the run",
            after.len()
        )),
        Err(e) => return Err(e),
    };
    let mut undo = String::from("ROLLBACK TO SAVEPOINT pgbarge_after_rows");
    if !then.is_empty() {
        undo.push_str(";\n");
        undo.push_str(then);
    }
    tx.batch_execute(&undo).await.pg_context(|| {
        "undoing the trial of the statements after the rows (and recording the run)".into()
    })?;
    Ok(warning)
}

/// `st` as tried on the still empty tables: a foreign key added valid at
/// once is tried `NOT VALID` (the same checks of its columns, key and
/// rights; only the query over the rows, none yet, is left out).
fn as_tried<'a>(
    plan: &SchemaPlan,
    st: &'a model::Statement,
) -> std::borrow::Cow<'a, model::Statement> {
    let at_once = st.kind == model::Kind::Constraint
        && st
            .part
            .as_ref()
            .is_some_and(|p| plan.valid_at_once.contains(p));
    if at_once && !st.sql.ends_with(" NOT VALID") {
        let mut tried = st.clone();
        tried.sql.push_str(" NOT VALID");
        std::borrow::Cow::Owned(tried)
    } else {
        std::borrow::Cow::Borrowed(st)
    }
}

/// Run `sts` on `c` (the session with backend `pid`) many to a round trip
/// (see `batch`); a statement the server refuses goes through `refused`.
async fn exec_all<C: tokio_postgres::GenericClient + Sync>(
    c: &C,
    pid: i32,
    in_transaction: bool,
    sts: &[&model::Statement],
    refused: impl Fn(&model::Statement, &tokio_postgres::Error) -> Error,
) -> Result<()> {
    let items: Vec<super::batch::Item> = sts
        .iter()
        .map(|st| super::batch::Item {
            what: &st.what,
            sql: st.sql.as_str().into(),
        })
        .collect();
    super::batch::run(c, pid, in_transaction, &items, |i, e| refused(sts[i], &e)).await
}

fn refused_early(st: &model::Statement, e: &tokio_postgres::Error) -> Error {
    if out_of_locks(e) {
        return Error::Runtime(anyhow::Error::new(LockTableFull(format!(
            "{}: {}",
            st.what,
            describe_pg(e)
        ))));
    }
    Error::Runtime(anyhow!(
        "the target refuses {} (found before any row moved; nothing was written): {}\n  \
         statement: {}",
        st.what,
        describe_pg(e),
        first_line(&st.sql)
    ))
}

/// What a rehearsal of the schema found.
pub enum Trial {
    /// The target takes all of it.
    Takes,
    /// The first statement the target refuses: a blocker.
    Refuses(String),
    /// The target's lock table cannot hold the schema in one transaction,
    /// so it was not (wholly) rehearsed: a warning.
    TooLarge(String),
}

/// For `plan` and dry runs: the whole schema, before and after the rows,
/// applied in a transaction that is rolled back.
pub async fn trial(dst: &mut Session, plan: &SchemaPlan) -> Result<Trial> {
    let pid = dst.pid;
    let tx = schema_transaction(dst).await?;
    for sch in &plan.schemas {
        let sql = format!("CREATE SCHEMA IF NOT EXISTS {}", catalog::quote_ident(sch));
        if let Err(e) = tx.batch_execute(&sql).await {
            return Ok(Trial::Refuses(format!(
                "the target refuses to create schema \"{sch}\": {}",
                describe_pg(&e)
            )));
        }
    }
    let pre: Vec<&model::Statement> = plan.extensions.iter().chain(&plan.pre).collect();
    let refused = exec_all(&tx, pid, true, &pre, |st, e| {
        if out_of_locks(e) {
            return Error::Runtime(anyhow::Error::new(LockTableFull(st.what.clone())));
        }
        Error::Runtime(anyhow!(
            "the target refuses {}: {}\n  statement: {}",
            st.what,
            describe_pg(e),
            first_line(&st.sql)
        ))
    })
    .await;
    let outcome = match refused {
        Err(e) if is_lock_table_full(&e) => Trial::TooLarge(format!(
            "the target's lock table (max_locks_per_transaction) cannot hold the whole schema \
             ({} statements) in one transaction, so it was not rehearsed; copy and restore \
             create it in parts",
            pre.len()
        )),
        Err(Error::Runtime(e)) => Trial::Refuses(format!("{e:#}")),
        Err(other) => return Err(other),
        Ok(()) => match try_after_rows(&tx, pid, plan, "").await {
            Ok(None) => Trial::Takes,
            Ok(Some(warning)) => Trial::TooLarge(warning),
            Err(Error::Runtime(e)) => Trial::Refuses(format!("{e:#}")),
            Err(other) => Trial::Refuses(other.to_string()),
        },
    };
    tx.rollback()
        .await
        .pg_context(|| "rolling the trial back".into())?;
    Ok(outcome)
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
///
/// Statements of a small table come as one group, and a builder takes
/// with it the small groups already queued behind it: they go to the
/// target many to a round trip (`batch`), where one at a time they would
/// cost a round trip each. A large table's statements come one by one so
/// that several sessions can build its indexes side by side.
pub struct Builders {
    tx: Option<tokio::sync::mpsc::UnboundedSender<Group>>,
    set: JoinSet<Result<()>>,
    rx: std::sync::Arc<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Group>>>,
    failed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Builders started so far (each drains its fair share of the queue).
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    target: conn::Endpoint,
    state: Option<RunState>,
    /// What a failure says they were doing ("building").
    verb: &'static str,
    /// Each take of statements in one transaction (only for statements
    /// that commit no record of the run).
    grouped: bool,
    /// The locks (see `lock_cost`) a take may hold at once: the sessions
    /// together stay within the target's lock table.
    lock_limit: usize,
    /// Where sessions come from first and go back to (see `spawn_with`).
    pool: Option<SessionPool>,
}

/// Target sessions kept between builders that run one after the other.
pub type SessionPool = std::sync::Arc<std::sync::Mutex<Vec<Session>>>;

/// Statements queued together; `small`: they may share a round trip with
/// other small groups.
struct Group {
    statements: Vec<model::Statement>,
    small: bool,
    /// The table data the statements work through (estimated).
    bytes: u64,
}

/// A table this small (estimated bytes) has its keys, indexes and
/// statistics built in one go, in a batch shared with others.
pub const SMALL_TABLE_BYTES: u64 = 16 << 20;

impl Group {
    fn locks(&self) -> usize {
        self.statements.iter().map(lock_cost).sum()
    }
}

/// The statements a builder takes at once, at most.
const GROUP_LIMIT: usize = 200;

/// ... and when each take is one transaction (schema statements before
/// the rows): as many as go in one batch, so a take is one round trip.
const GROUPED_LIMIT: usize = super::batch::MAX_STATEMENTS;

impl Builders {
    /// `n` sessions; with `state`, each statement commits with the record
    /// that it ran (so `--resume` does not run it again).
    pub fn spawn(target: &conn::Endpoint, n: usize, state: Option<RunState>) -> Self {
        Self::spawn_as(target, n, state, "building")
    }

    /// [`Builders::spawn`] for statements that a failure names as
    /// `verb`ing.
    pub fn spawn_as(
        target: &conn::Endpoint,
        n: usize,
        state: Option<RunState>,
        verb: &'static str,
    ) -> Self {
        Self::spawn_with(target, n, state, verb, None, None)
    }

    /// [`Builders::spawn_as`] with, for `grouped_within` (a lock budget
    /// shared by the `n` sessions), each take of statements in one
    /// transaction holding at most its share of that budget; with `pool`,
    /// sessions are taken from it before new ones connect, and given back
    /// to it when their work is done (for the next builders).
    fn spawn_with(
        target: &conn::Endpoint,
        n: usize,
        state: Option<RunState>,
        verb: &'static str,
        grouped_within: Option<usize>,
        pool: Option<SessionPool>,
    ) -> Self {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Group>();
        let mut b = Builders {
            tx: Some(tx),
            set: JoinSet::new(),
            rx: std::sync::Arc::new(tokio::sync::Mutex::new(rx)),
            failed: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
            count: std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            target: target.clone(),
            state,
            verb,
            grouped: grouped_within.is_some(),
            lock_limit: grouped_within.map_or(usize::MAX, |budget| (budget / n.max(1)).max(1)),
            pool,
        };
        b.widen(n);
        b
    }

    /// Up to `n` sessions in all: more join once the loads no longer need
    /// theirs, so what is queued builds side by side.
    pub fn widen(&mut self, n: usize) {
        use std::sync::atomic::Ordering;
        while self.count.load(Ordering::Relaxed) < n.max(1) {
            self.count.fetch_add(1, Ordering::Relaxed);
            let (rx, failed, target) = (self.rx.clone(), self.failed.clone(), self.target.clone());
            let (state, count, verb) = (self.state.clone(), self.count.clone(), self.verb);
            let (grouped, lock_limit, pool) = (self.grouped, self.lock_limit, self.pool.clone());
            self.set.spawn(async move {
                let reused = pool.as_ref().and_then(|p| p.lock().ok()?.pop());
                let mut dst = match reused {
                    Some(s) => s,
                    None => conn::connect(&target, Role::Target)
                        .await
                        .map_err(Error::Runtime)?,
                };
                let mut pending: Option<Group> = None;
                loop {
                    let group = match pending.take() {
                        Some(g) => g,
                        None => match rx.lock().await.recv().await {
                            Some(g) => g,
                            None => break,
                        },
                    };
                    let mut batch = group.statements;
                    let mut bytes = group.bytes;
                    let mut locks: usize = batch.iter().map(lock_cost).sum();
                    if group.small {
                        let mut q = rx.lock().await;
                        // A fair share of what waits: the other builders
                        // take the rest, so the keys and indexes of many
                        // small tables still build side by side.
                        let mut share = q.len().div_ceil(count.load(Ordering::Relaxed).max(1));
                        // And no more table data than one small table may
                        // hold: many tiny tables share a round trip, a
                        // few bigger ones (partitions) are spread.
                        let limit = if grouped { GROUPED_LIMIT } else { GROUP_LIMIT };
                        while batch.len() < limit && share > 0 && bytes < SMALL_TABLE_BYTES {
                            share -= 1;
                            match q.try_recv() {
                                Ok(g) if g.small && locks + g.locks() <= lock_limit => {
                                    bytes += g.bytes;
                                    locks += g.locks();
                                    batch.extend(g.statements)
                                }
                                Ok(g) => {
                                    pending = Some(g);
                                    break;
                                }
                                Err(_) => break,
                            }
                        }
                    }
                    if failed.load(Ordering::Relaxed) {
                        continue;
                    }
                    let whats: Vec<String> = batch
                        .iter()
                        .map(|st| format!("{verb} {}", st.what))
                        .collect();
                    let items: Vec<super::batch::Item> = batch
                        .iter()
                        .zip(&whats)
                        .map(|(st, what)| super::batch::Item {
                            what,
                            sql: match &state {
                                Some(r) => r.with_step(&st.sql).into(),
                                None => st.sql.as_str().into(),
                            },
                        })
                        .collect();
                    // A take in one transaction, when asked: one commit
                    // for many statements. Refused (or a deadlock's
                    // victim: sessions that lock the same tables in the
                    // other order), it is undone whole and runs again
                    // each statement on its own, which names the one the
                    // target refuses.
                    let together = match grouped {
                        true => in_one_transaction(&mut dst, &items).await,
                        false => None,
                    };
                    let run = match together {
                        Some(committed) => committed,
                        None => {
                            super::batch::run(&dst.client, dst.pid, false, &items, |i, e| {
                                statement_failed(verb, &batch[i], &e)
                            })
                            .await
                        }
                    };
                    if run.is_err() {
                        failed.store(true, Ordering::Relaxed);
                        return run;
                    }
                }
                if let Some(p) = &pool {
                    if let Ok(mut p) = p.lock() {
                        p.push(dst);
                    }
                }
                Ok(())
            });
        }
    }

    /// A loaded table's keys, indexes and statistics (`bytes`: its size):
    /// a small table's as one group, a large one's one by one so several
    /// builders can work on it side by side.
    pub fn send_table(&self, statements: Vec<model::Statement>, bytes: u64) {
        if bytes < SMALL_TABLE_BYTES {
            self.send_sized(statements, true, bytes);
        } else {
            for st in statements {
                self.send(st);
            }
        }
    }

    /// One statement, to run on its own (it may take long).
    pub fn send(&self, st: model::Statement) {
        self.send_group(vec![st], false);
    }

    /// Statements to run in order by one builder; `small` when they are
    /// quick (a small table's), so they may share round trips.
    pub fn send_group(&self, statements: Vec<model::Statement>, small: bool) {
        self.send_sized(statements, small, 0);
    }

    fn send_sized(&self, statements: Vec<model::Statement>, small: bool, bytes: u64) {
        if let (Some(tx), false) = (&self.tx, statements.is_empty()) {
            let _ = tx.send(Group {
                statements,
                small,
                bytes,
            });
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

/// `items` in one transaction on `dst`: Some(Ok) once committed, Some(Err)
/// when the commit itself failed after the statements went one batch at a
/// time (what ran may have committed: nothing is run again) or the
/// session was lost, None when a statement was refused or the session
/// chosen as a deadlock's victim (all undone: the caller runs them one by
/// one; so is a refused commit of a take sent whole, which undoes it).
async fn in_one_transaction(
    dst: &mut Session,
    items: &[super::batch::Item<'_>],
) -> Option<Result<()>> {
    let pid = dst.pid;
    // A take that goes as one batch goes with its BEGIN and COMMIT: one
    // round trip instead of three. Refused (the rest of it skipped, the
    // transaction aborted), it is rolled back.
    let sqls: Vec<&str> = items.iter().map(|i| i.sql.as_ref()).collect();
    if super::batch::batches(&sqls).len() == 1 {
        let sql = format!("BEGIN;\n{}\n;\nCOMMIT", super::batch::joined(items));
        let what = || super::batch::about(items);
        return match conn::locks::working(pid, what, dst.client.batch_execute(&sql)).await {
            Ok(Ok(())) => Some(Ok(())),
            Ok(Err(_)) => {
                let _ = dst.client.batch_execute("ROLLBACK").await;
                None
            }
            Err(lost) => Some(Err(Error::Runtime(lost))),
        };
    }
    let tx = dst.client.transaction().await.ok()?;
    let ran = super::batch::run(&tx, pid, true, items, |_, e| {
        Error::Runtime(anyhow!("{}", describe_pg(&e)))
    })
    .await;
    if ran.is_err() {
        let _ = tx.rollback().await;
        return None;
    }
    Some(
        tx.commit()
            .await
            .pg_context(|| {
                format!(
                    "committing {} and the {} statements after it on the target",
                    items[0].what,
                    items.len() - 1
                )
            })
            .map_err(Error::Runtime),
    )
}

/// A sequence's state, to carry over with `setval`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SequenceValue {
    /// Target name.
    pub sequence: QualName,
    pub last_value: i64,
    pub is_called: bool,
}

/// Sequences read by one query (`read_sequences`).
const SEQUENCES_PER_READ: usize = 500;

/// The state of the plan's sequences on the source (inside the snapshot):
/// many to a query (one round trip for each `SEQUENCES_PER_READ`). A
/// refusal names its sequence (PostgreSQL's message does: "permission
/// denied for sequence ...").
pub async fn read_sequences(src: &Session, plan: &SchemaPlan) -> Result<Vec<SequenceValue>> {
    let mut out = Vec::new();
    for chunk in plan.sequences.chunks(SEQUENCES_PER_READ) {
        let sql = chunk
            .iter()
            .enumerate()
            .map(|(i, (from, _))| {
                format!("SELECT {i}, last_value, is_called FROM {}", from.quoted())
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let rows = src
            .client
            .query_typed(&sql, &[])
            .await
            .pg_context(|| match chunk {
                [(one, _)] => format!("reading sequence {one} on the source"),
                _ => format!(
                    "reading {} sequences ({} ...) on the source",
                    chunk.len(),
                    chunk[0].0
                ),
            })?;
        let mut values: Vec<Option<(i64, bool)>> = vec![None; chunk.len()];
        for r in &rows {
            let i: i32 = r.get(0);
            if let Some(v) = usize::try_from(i).ok().and_then(|i| values.get_mut(i)) {
                *v = Some((r.get(1), r.get(2)));
            }
        }
        for ((from, to), v) in chunk.iter().zip(values) {
            let (last_value, is_called) = v.ok_or_else(|| {
                Error::Runtime(anyhow!("sequence {from} gave no row on the source"))
            })?;
            out.push(SequenceValue {
                sequence: to.clone(),
                last_value,
                is_called,
            });
        }
    }
    Ok(out)
}

/// The statement that sets a sequence (also written into SQL dumps).
pub fn setval_sql(v: &SequenceValue) -> String {
    format!(
        "SELECT pg_catalog.setval({}::regclass, {}, {})",
        catalog::quote_literal(&v.sequence.quoted()),
        v.last_value,
        v.is_called
    )
}

/// Keys and indexes not built yet (`remaining`) in parallel, then the rest
/// in order, then sequence values, owners and grants, publications
/// (tables were analyzed as their loads finished). With `state`, each
/// statement that cannot run twice is recorded as it runs, and those in
/// `done` (run by the interrupted run being resumed) are left out.
/// Validations of foreign keys on `small` tables share round trips.
/// Returns warnings (publications that could not be created).
#[allow(clippy::too_many_arguments)]
pub async fn apply_post(
    target: &conn::Endpoint,
    jobs: usize,
    plan: &SchemaPlan,
    builders: Builders,
    remaining: Vec<model::Statement>,
    sequences: &[SequenceValue],
    state: Option<&RunState>,
    done: &HashSet<String>,
    small: &HashSet<QualName>,
) -> Result<Vec<String>> {
    let todo = |st: &&model::Statement| !done.contains(&crate::runstate::step_key(&st.sql));
    let recorded = |st: &model::Statement| match state {
        Some(r) => r.with_step(&st.sql),
        None => st.sql.clone(),
    };
    for st in remaining {
        builders.send(st);
    }
    builders.finish().await?;
    let dst = conn::connect(target, Role::Target).await?;
    // Each statement commits with its record (`recorded`): a batch runs as
    // one implicit transaction, so a refused one leaves neither behind.
    let post: Vec<&model::Statement> = plan.post.iter().filter(todo).collect();
    let keys: HashSet<&model::Part> = plan
        .indexes
        .iter()
        .filter(|st| st.kind == model::Kind::ConstraintIndex)
        .filter_map(|st| st.part.as_ref())
        .collect();
    for step in post_steps(&post, &keys) {
        if step.len() > 1 && jobs > 1 {
            // Side by side: each statement (with its comment) commits
            // alone, so sessions wait on each other's locks no longer
            // than one statement, and a deadlock's victim runs again.
            let side = Builders::spawn_as(target, jobs.min(step.len()), state.cloned(), "creating");
            for group in step {
                side.send_group(post[group].iter().map(|st| (*st).clone()).collect(), true);
            }
            side.finish().await?;
            continue;
        }
        let range = step[0].start..step[step.len() - 1].end;
        let items: Vec<super::batch::Item> = post[range.clone()]
            .iter()
            .map(|st| super::batch::Item {
                what: &st.what,
                sql: recorded(st).into(),
            })
            .collect();
        super::batch::run(&dst.client, dst.pid, false, &items, |i, e| {
            statement_failed("creating", post[range.start + i], &e)
        })
        .await?;
    }
    let checkers = Builders::spawn(target, jobs.min(plan.validations.len()), state.cloned());
    // A small table's key is checked quickly: those share round trips.
    for st in plan.validations.iter().filter(todo) {
        let quick = st.part.as_ref().is_some_and(|p| small.contains(&p.table));
        checkers.send_group(vec![st.clone()], quick);
    }
    checkers.finish().await?;
    let setvals: Vec<(String, String)> = sequences
        .iter()
        .map(|v| (format!("sequence {}", v.sequence), setval_sql(v)))
        .collect();
    let items: Vec<super::batch::Item> = setvals
        .iter()
        .map(|(what, sql)| super::batch::Item {
            what,
            sql: sql.as_str().into(),
        })
        .collect();
    super::batch::run(&dst.client, dst.pid, false, &items, |i, e| {
        Error::Runtime(anyhow!(
            "setting {} on the target: {}",
            setvals[i].0,
            describe_pg(&e)
        ))
    })
    .await?;
    let access: Vec<&model::Statement> = plan.access.iter().collect();
    exec_all(&dst.client, dst.pid, false, &access, |st, e| {
        statement_failed("setting", st, e)
    })
    .await?;
    let mut warnings = Vec::new();
    for st in plan.publications.iter().filter(todo) {
        if let Err(e) = dst.client.batch_execute(&recorded(st)).await {
            warnings.push(format!("{} was not created: {}", st.what, describe_pg(&e)));
        }
    }
    Ok(warnings)
}

/// The statements after the rows (`post`, in order) as steps run one
/// after the other, each a list of consecutive groups. A step of several
/// groups may run side by side: a run of constraints added to their
/// tables (foreign keys, checks added `NOT VALID`), each with the comment
/// after it, where none needs another (each needs only tables and keys
/// built before, and what follows waits for the whole run). `keys`: the
/// parts of the keys built as an index first; their `ADD CONSTRAINT ..
/// USING INDEX` (which foreign keys may need) is not one of these.
fn post_steps(
    post: &[&model::Statement],
    keys: &HashSet<&model::Part>,
) -> Vec<Vec<std::ops::Range<usize>>> {
    let side = |st: &model::Statement| {
        st.kind == model::Kind::Constraint && st.part.as_ref().is_some_and(|p| !keys.contains(p))
    };
    let mut steps: Vec<Vec<std::ops::Range<usize>>> = Vec::new();
    let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
    let mut i = 0;
    while i < post.len() {
        if !side(post[i]) {
            let start = i;
            while i < post.len() && !side(post[i]) {
                i += 1;
            }
            // One group: a range, not the range's items.
            #[allow(clippy::single_range_in_vec_init)]
            steps.push(vec![start..i]);
            continue;
        }
        // A run of them, each with the comments on it that follow.
        groups.clear();
        while i < post.len() && side(post[i]) {
            let start = i;
            i += 1;
            while i < post.len()
                && post[i].kind == model::Kind::Comment
                && post[i].part.is_some()
                && post[i].part == post[start].part
            {
                i += 1;
            }
            groups.push(start..i);
        }
        steps.push(std::mem::take(&mut groups));
    }
    steps
}

/// Drop what a run created (after a failure, or `pgbarge clean`), newest
/// first, then the schemas it created.
pub async fn undo(
    target: &conn::Endpoint,
    created: &[model::Created],
    schemas: &[String],
) -> Vec<String> {
    let mut problems = Vec::new();
    let dst = match conn::connect(target, Role::Target).await {
        Ok(d) => d,
        Err(e) => return vec![format!("cannot reconnect to clean up: {e:#}")],
    };
    for c in created.iter().rev() {
        let Some(sql) = drop_sql(c, true) else {
            problems.push(format!(
                "{} {} was not dropped: its description is not a plain name",
                c.kind, c.name
            ));
            continue;
        };
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
pub fn confirm_clean(yes: bool, target: &conn::Endpoint, found: &[(String, String)]) -> Result<()> {
    let list: Vec<String> = found.iter().map(|(l, _)| l.clone()).collect();
    confirm(
        yes,
        &format!("--clean drops and recreates these objects on target {target}"),
        &list,
        "--clean not confirmed; nothing was changed",
    )
}

/// Ask before something destructive: `head` and the `items` it touches.
/// On a terminal it prompts; elsewhere it needs `--yes`.
pub fn confirm(yes: bool, head: &str, items: &[String], declined: &str) -> Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    if yes {
        return Ok(());
    }
    let list = items
        .iter()
        .map(|l| format!("  - {l}"))
        .collect::<Vec<_>>()
        .join("\n");
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Error::usage(format!(
            "{head}:\n{list}\nPass --yes to confirm without a terminal"
        )));
    }
    eprint!("{head}:\n{list}\nProceed? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::usage(format!("reading the answer: {e}")))?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(Error::usage(declined.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_wave_is_shared_evenly_in_as_few_takes_as_its_limits_allow() {
        let units = |n: usize, each: usize| -> Vec<Vec<usize>> {
            (0..n)
                .map(|u| (u * each..(u + 1) * each).collect())
                .collect()
        };
        let sizes = |t: &[Vec<usize>]| t.iter().map(Vec::len).collect::<Vec<_>>();
        // 500 one-statement units on two sessions: two takes of 250.
        let t = super::even_takes(&units(500, 1), |_| (1, 100), 2, 10_000);
        assert_eq!(sizes(&t), [250, 250]);
        // 1,000 two-statement units: the statement limit (498 with the
        // BEGIN and COMMIT) makes five, even.
        let t = super::even_takes(&units(1000, 2), |_| (1, 100), 2, 10_000);
        assert_eq!(sizes(&t), [400; 5]);
        // The lock limit: 300 units of 3 locks, 400 a take.
        let t = super::even_takes(&units(300, 1), |_| (3, 10), 2, 400);
        assert!(
            t.len() >= 3 && t.iter().all(|t| t.len() * 3 <= 400),
            "{:?}",
            sizes(&t)
        );
        // Every statement once, in order within its unit.
        let all: Vec<usize> = t.concat();
        assert_eq!(all, (0..300).collect::<Vec<_>>());
        // A unit over a limit goes alone; none is split.
        let t = super::even_takes(&[vec![0], vec![1, 2, 3], vec![4]], |_| (5, 1), 1, 6);
        assert_eq!(t, [vec![0], vec![1, 2, 3], vec![4]]);
        // Fewer units than sessions: one take each.
        let t = super::even_takes(&units(1, 4), |_| (1, 1), 2, 100);
        assert_eq!(t, [vec![0, 1, 2, 3]]);
    }

    use super::*;

    #[test]
    fn a_schema_goes_in_parts_that_fit_the_lock_budget_in_order() {
        use model::Kind;
        let st = |kind: Kind| model::Statement::new(kind, "x", "SELECT 1");
        // Tables cost three locks (their own, TOAST and its index),
        // indexes two (their own and their table's).
        let sts = [
            st(Kind::Table),
            st(Kind::Function),
            st(Kind::Table),
            st(Kind::Comment),
            st(Kind::Index),
            st(Kind::Table),
        ];
        let refs: Vec<&model::Statement> = sts.iter().collect();
        assert_eq!(lock_chunks(&refs, 100), vec![0..6]);
        assert_eq!(lock_chunks(&refs, 5), vec![0..2, 2..4, 4..6]);
        // A statement over the budget goes alone; nothing is dropped.
        assert_eq!(
            lock_chunks(&refs, 2),
            vec![0..1, 1..2, 2..3, 3..4, 4..5, 5..6]
        );
        let empty: Vec<&model::Statement> = Vec::new();
        assert_eq!(lock_chunks(&empty, 10), vec![0..0]);
    }

    #[test]
    fn big_waves_go_side_by_side_by_unit_and_the_rest_in_order() {
        use model::{Kind, Slot};
        let st = |slot: Option<(u32, u32)>| {
            let mut s = model::Statement::new(Kind::Table, "x", "SELECT 1");
            s.slot = slot.map(|(wave, unit)| Slot { wave, unit });
            s
        };
        // A statement without a slot, a small wave, then a big wave of
        // units 0..40 (two statements each, one unit's split apart).
        let mut sts = vec![st(None), st(Some((0, 0))), st(Some((0, 1)))];
        for u in 0..40 {
            sts.push(st(Some((1, u))));
        }
        for u in 1..40 {
            sts.push(st(Some((1, u))));
        }
        sts.push(st(Some((1, 0))));
        sts.push(st(None));
        let refs: Vec<&model::Statement> = sts.iter().collect();
        let steps = pre_steps(&refs, 2);
        assert_eq!(steps.len(), 3, "{steps:?}");
        assert_eq!(steps[0], PreStep::Alone(0..3));
        let PreStep::Beside(units) = &steps[1] else {
            panic!("{steps:?}")
        };
        assert_eq!(units.len(), 40);
        assert_eq!(units[0], vec![3, 82]);
        assert_eq!(units[1], vec![4, 43]);
        assert_eq!(steps[2], PreStep::Alone(83..84));
        // One job: everything in order.
        assert_eq!(pre_steps(&refs, 1), vec![PreStep::Alone(0..84)]);
    }

    #[test]
    fn constraints_after_the_rows_go_side_by_side_with_their_comments_and_keys_do_not() {
        use model::Kind;
        let t = QualName::new("app", "t");
        let of = |kind: Kind, part: &str| {
            model::Statement::new(kind, part, "SELECT 1").of_part(part, t.clone())
        };
        let post = [
            of(Kind::Constraint, "t_pkey"),
            model::Statement::new(Kind::Index, "index attach", "SELECT 1"),
            of(Kind::Constraint, "fk_a"),
            of(Kind::Comment, "fk_a"),
            of(Kind::Constraint, "fk_b"),
            of(Kind::Constraint, "check_c"),
            of(Kind::Comment, "t_pkey"),
            of(Kind::Trigger, "trg"),
            of(Kind::Constraint, "fk_d"),
        ];
        let refs: Vec<&model::Statement> = post.iter().collect();
        let key = model::Part {
            name: "t_pkey".into(),
            table: t.clone(),
        };
        let keys: HashSet<&model::Part> = [&key].into_iter().collect();
        assert_eq!(
            post_steps(&refs, &keys),
            vec![vec![0..2], vec![2..4, 4..5, 5..6], vec![6..8], vec![8..9],]
        );
        let empty: Vec<&model::Statement> = Vec::new();
        assert!(post_steps(&empty, &keys).is_empty());
    }

    #[test]
    fn drops_only_what_is_a_plain_name() {
        let made = |kind: ObjectKind, name: QualName, args: Option<&str>| model::Created {
            kind,
            name,
            args: args.map(str::to_string),
        };
        let f = made(
            ObjectKind::Function,
            QualName::new("app", "f"),
            Some("integer, \"my;type\""),
        );
        assert_eq!(
            drop_sql(&f, true).as_deref(),
            Some(r#"DROP ROUTINE IF EXISTS "app"."f"(integer, "my;type") CASCADE"#)
        );
        for bad in [
            made(
                ObjectKind::Function,
                QualName::new("a", "f"),
                Some("int); DROP TABLE x; --"),
            ),
            made(
                ObjectKind::Cast,
                QualName::new("int", "text) ; DROP TABLE x; --"),
                None,
            ),
            made(
                ObjectKind::Transform,
                QualName::new("int LANGUAGE sql; DROP TABLE x; --", "sql"),
                None,
            ),
            made(
                ObjectKind::Function,
                QualName::new("a", "f"),
                Some("int, \"unclosed"),
            ),
            made(
                ObjectKind::OperatorClass,
                QualName::new("a", "c"),
                Some("btree; DROP"),
            ),
        ] {
            assert_eq!(drop_sql(&bad, true), None, "{bad:?}");
        }
        // A kind outside the list is refused when the record is read.
        let hostile =
            r#"{"kind":"table; DROP TABLE x; --","name":{"schema":"a","name":"t"},"args":null}"#;
        assert!(serde_json::from_str::<model::Created>(hostile).is_err());
        let stored = r#"{"kind":"materialized view","name":{"schema":"a","name":"m"},"args":null}"#;
        let m: model::Created = serde_json::from_str(stored).unwrap();
        assert_eq!(m.kind, ObjectKind::MaterializedView);
        assert_eq!(
            drop_sql(&m, false).as_deref(),
            Some(r#"DROP MATERIALIZED VIEW IF EXISTS "a"."m""#)
        );
    }
}
