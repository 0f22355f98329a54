//! `verify --source --target`: does the target hold what the source holds?
//!
//! Each side is read in one REPEATABLE READ transaction, so every count
//! and checksum of a side is from one moment. Per selected table: exact
//! row counts, and with `--checksums` an order-independent content
//! checksum computed by each server: the sum, as numeric (nothing
//! overflows), of a 64-bit hash of each row's text form. The hash is
//! `hashtextextended`, the one hash partitioning relies on staying the
//! same across versions; it is twice as fast as md5 here, and the text
//! form of the row dominates the cost anyway. Then schema parity for
//! the selected tables: columns and types, constraints present and
//! validated, indexes present and valid, triggers and policies present,
//! views present, sequences not behind the source nor the data, and no
//! orphan rows under the target's foreign keys.

use std::collections::{HashMap, HashSet};

use anyhow::anyhow;
use serde::Serialize;
use tokio_postgres::Client;

use crate::catalog::model::{Kind, Statement};
use crate::catalog::{self, quote_ident, QualName, Table};
use crate::conn::{self, Role};
use crate::error::PgContext;
use crate::report::EndpointReport;
use crate::select;
use crate::settings::VerifySettings;
use crate::transfer::framing::{copy_statement, Direction};
use crate::{Error, Result};

#[derive(Debug, Default, Serialize)]
pub struct TableCheck {
    pub source: String,
    pub target: String,
    pub source_rows: Option<i64>,
    pub target_rows: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_checksum: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_checksum: Option<String>,
    /// `ok` or `differs`.
    pub status: String,
    pub problems: Vec<String>,
    /// A partitioned table: its rows are its partitions' (not counted
    /// among the tables in the summary, as copy and dump count).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partitioned: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct VerifyReport {
    pub tool: String,
    pub version: String,
    pub command: String,
    /// `verify --input`: the dump the target is compared with (`source`
    /// is then the server the dump was taken from).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    pub source: EndpointReport,
    pub target: EndpointReport,
    pub checksums: bool,
    pub tables: Vec<TableCheck>,
    /// Problems not tied to one table (views, sequences).
    pub problems: Vec<String>,
    pub ok: bool,
}

pub async fn verify(s: &VerifySettings) -> Result<VerifyReport> {
    let (src, dst) = tokio::try_join!(
        conn::connect(&s.source, Role::Source),
        conn::connect(&s.target, Role::Target)
    )?;
    let (si, di) = tokio::try_join!(src.server_info(), dst.server_info())?;
    for c in [&src.client, &dst.client] {
        c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .pg_context(|| "starting a read-only transaction".into())?;
    }
    let (a, b) = (&src.client, &dst.client);
    let (src_tables, dst_tables) =
        tokio::try_join!(catalog::read_tables(a), catalog::read_tables(b))?;
    let all_schemas = catalog::read_schema_names(a).await?;
    let chosen = select::select(&src_tables, &all_schemas, &s.patterns).map_err(Error::Usage)?;
    let dst_by_name: HashMap<&QualName, &Table> = dst_tables.iter().map(|t| (&t.name, t)).collect();

    let mut checks = Vec::new();
    for c in &chosen {
        let st = &src_tables[c.index];
        let target = QualName::new(s.map_schema(&st.name.schema), st.name.name.clone());
        let (mut check, dt) = start_check(&st.name, &target, &dst_by_name);
        check.partitioned = !st.has_storage();
        let Some(dt) = dt else {
            checks.push(check);
            continue;
        };
        let mut cols = Vec::new();
        for col in &st.columns {
            match dt.columns.iter().find(|d| d.name == col.name) {
                None => check
                    .problems
                    .push(format!("column \"{}\" is missing on the target", col.name)),
                Some(d) => {
                    let want = crate::ddl::lexer::rename_type(&col.type_name, &s.schema_map);
                    let relocated = s.extension_schema.as_deref().is_some_and(|x| {
                        col.type_name
                            .split_once('.')
                            .is_some_and(|(_, rest)| d.type_name == format!("{x}.{rest}"))
                    });
                    if want != d.type_name && !relocated {
                        check.problems.push(format!(
                            "column \"{}\" is {} on the source and {} on the target",
                            col.name, col.type_name, d.type_name
                        ));
                    }
                    cols.push(quote_ident(&col.name));
                }
            }
        }
        if st.has_storage() && dt.has_storage() {
            let (x, y) = tokio::try_join!(
                table_sum(a, &st.name, &cols, s.checksums, None),
                table_sum(b, &target, &cols, s.checksums, None)
            )?;
            if x.rows != y.rows {
                check.problems.push(format!(
                    "{} rows on the source, {} on the target",
                    x.rows, y.rows
                ));
            } else if x.sum != y.sum {
                check
                    .problems
                    .push("content differs (same row count, different checksum)".into());
            }
            // Only a table that differs pays for locating it: a second
            // scan per side (same snapshots) sums per key range.
            let differs = x.sum != y.sum || x.rows != y.rows;
            let chunks = if s.checksums && differs {
                chunking(a, &st.name).await?
            } else {
                None
            };
            if let Some(c) = chunks {
                let (xb, yb) = tokio::try_join!(
                    table_sum(a, &st.name, &cols, true, Some(&c)),
                    table_sum(b, &target, &cols, true, Some(&c))
                )?;
                let ranges = differing_ranges(&c, &xb.buckets, &yb.buckets);
                if !ranges.is_empty() {
                    check.problems.push(format!(
                        "rows differ where {} is in {}",
                        c.column,
                        ranges.join(", ")
                    ));
                }
            }
            check.source_rows = Some(x.rows);
            check.target_rows = Some(y.rows);
            check.source_checksum = x.sum;
            check.target_checksum = y.sum;
        }
        checks.push(check);
    }
    let pairs: Vec<(QualName, QualName)> = chosen
        .iter()
        .map(|c| {
            let n = &src_tables[c.index].name;
            (
                n.clone(),
                QualName::new(s.map_schema(&n.schema), n.name.clone()),
            )
        })
        .filter(|(_, t)| dst_by_name.contains_key(t))
        .collect();
    // Views come along with whole schemas, not with --table picks.
    let mut found = parity(a, b, &pairs, s.patterns.table.is_empty()).await?;
    if s.patterns.table.is_empty() {
        found.extend(inventory_gaps(a, b, s, &all_schemas).await?);
    }
    let (loose, ok) = settle(&mut checks, found);
    Ok(VerifyReport {
        tool: "pgbarge".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        command: "verify".into(),
        input: None,
        source: EndpointReport {
            url: s.source.redacted(),
            server_version: si.version.clone(),
            tls: si.tls,
        },
        target: EndpointReport {
            url: s.target.redacted(),
            server_version: di.version.clone(),
            tls: di.tls,
        },
        checksums: s.checksums,
        tables: checks,
        problems: loose,
        ok,
    })
}

/// Objects of the selected schemas (beyond tables and views) that the
/// target lacks: a schema, a routine, a cast, a rule, a comment, ...
async fn inventory_gaps(
    a: &Client,
    b: &Client,
    s: &VerifySettings,
    all_schemas: &[String],
) -> Result<Vec<(Option<QualName>, String)>> {
    let mut schemas = select::kept_schemas(all_schemas, &s.patterns).map_err(Error::Usage)?;
    // An empty public is not copied (every target has one).
    if schemas.iter().any(|x| x == "public") && !catalog::holds_own_objects(a, "public").await? {
        schemas.retain(|x| x != "public");
    }
    let mapped: Vec<String> = schemas
        .iter()
        .map(|x| s.map_schema(x).to_string())
        .collect();
    let (mut src, mut dst) = tokio::try_join!(
        crate::inventory::read(a, &schemas),
        crate::inventory::read(b, &mapped)
    )?;
    let (src_access, dst_access) = tokio::try_join!(
        crate::inventory::read_access(a, &schemas, s.owners, s.privileges),
        crate::inventory::read_access(b, &mapped, s.owners, s.privileges)
    )?;
    src.extend(src_access);
    dst.extend(dst_access);
    if s.large_objects {
        let (a_lo, b_lo) = tokio::try_join!(
            crate::inventory::read_large_objects(a),
            crate::inventory::read_large_objects(b)
        )?;
        src.extend(a_lo);
        dst.extend(b_lo);
    }
    // Under a preset, extensions live in their own schema on the target.
    let src: Vec<(String, String)> = src
        .into_iter()
        .filter(|(k, _)| !(k == "extension" && s.extension_schema.is_some()))
        .collect();
    Ok(crate::inventory::missing(&src, &dst, &s.schema_map)
        .into_iter()
        .map(|m| (None, m))
        .collect())
}

/// File the problems found beyond the per-table checks under their
/// table (the rest stay loose), set each table's status, and say whether
/// everything matched: (loose problems, ok).
fn settle(
    checks: &mut [TableCheck],
    found: Vec<(Option<QualName>, String)>,
) -> (Vec<String>, bool) {
    let by_target: HashMap<String, usize> = checks
        .iter()
        .enumerate()
        .map(|(i, c)| (c.target.clone(), i))
        .collect();
    let mut loose = Vec::new();
    for (table, problem) in found {
        match table.and_then(|t| by_target.get(&t.to_string())) {
            Some(&i) => checks[i].problems.push(problem),
            None => loose.push(problem),
        }
    }
    for c in checks.iter_mut() {
        c.status = if c.problems.is_empty() {
            "ok"
        } else {
            "differs"
        }
        .into();
    }
    let ok = checks.iter().all(|c| c.problems.is_empty()) && loose.is_empty();
    (loose, ok)
}

/// How a table's checksum is split into ranges of its integer primary
/// key, so a difference can be located: `CHUNKS` buckets at most, one
/// more scan per side (only for a table whose sums differ: grouping costs
/// about 60% more than the plain sum), the per-bucket sums returned (a few
/// kB at most).
struct Chunks {
    column: String,
    min: i64,
    width: i64,
}

const CHUNKS: i64 = 1000;

/// A single-column integer primary key and its range on the source.
async fn chunking(c: &Client, t: &QualName) -> anyhow::Result<Option<Chunks>> {
    let row = c
        .query_opt(
            "SELECT a.attname::text FROM pg_catalog.pg_index i \
               JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
              WHERE i.indrelid = $1::text::pg_catalog.regclass AND i.indisprimary AND i.indnatts = 1 \
                AND a.atttypid IN ('int2'::pg_catalog.regtype, 'int4'::pg_catalog.regtype, 'int8'::pg_catalog.regtype)",
            &[&t.quoted()],
        )
        .await
        .pg_context(|| format!("reading the primary key of {t}"))?;
    let Some(row) = row else { return Ok(None) };
    let column: String = row.get(0);
    let q = quote_ident(&column);
    let r = c
        .query_one(
            &format!(
                "SELECT min({q})::int8, max({q})::int8 FROM ONLY {}",
                t.quoted()
            ),
            &[],
        )
        .await
        .pg_context(|| format!("reading the key range of {t}"))?;
    let (Some(min), Some(max)): (Option<i64>, Option<i64>) = (r.get(0), r.get(1)) else {
        return Ok(None);
    };
    let span = (max as i128 - min as i128 + 1).max(1);
    let width = ((span + CHUNKS as i128 - 1) / CHUNKS as i128).clamp(1, i64::MAX as i128) as i64;
    Ok(Some(Chunks { column, min, width }))
}

struct Sum {
    rows: i64,
    sum: Option<String>,
    /// Per key bucket: (rows, checksum), when chunked.
    buckets: HashMap<i64, (i64, String)>,
}

/// Row count and, with `checksums`, the order-independent content sum
/// (per key bucket when `chunks` is given).
async fn table_sum(
    c: &Client,
    t: &QualName,
    cols: &[String],
    checksums: bool,
    chunks: Option<&Chunks>,
) -> anyhow::Result<Sum> {
    let hash = format!(
        "pg_catalog.hashtextextended(ROW({})::text, 0)",
        if cols.is_empty() {
            "NULL".to_string()
        } else {
            cols.join(", ")
        }
    );
    if let (true, Some(ch)) = (checksums, chunks) {
        let key = quote_ident(&ch.column);
        let rows = c
            .query(
                &format!(
                    "SELECT CASE WHEN {key} < {min} THEN -1 ELSE ({key}::int8 - {min}) / {width} END AS b, count(*)::int8, \
                            coalesce(sum({hash}), 0)::text \
                       FROM ONLY {} GROUP BY 1",
                    t.quoted(),
                    min = ch.min,
                    width = ch.width,
                ),
                &[],
            )
            .await
            .pg_context(|| format!("checksumming {t}"))?;
        let mut out = Sum {
            rows: 0,
            sum: None,
            buckets: HashMap::new(),
        };
        let mut total = 0i128;
        let mut exact = true;
        for r in rows {
            let (b, n, sum): (i64, i64, String) = (r.get(0), r.get(1), r.get(2));
            out.rows += n;
            match sum.parse::<i128>() {
                Ok(v) => total = total.wrapping_add(v),
                Err(_) => exact = false,
            }
            out.buckets.insert(b, (n, sum));
        }
        // The bucket sums add up to the whole-table sum (i128 holds the sum
        // of 2^64 hashes of 64 bits and more).
        out.sum = Some(if exact { total.to_string() } else { "?".into() });
        return Ok(out);
    }
    let sum = if checksums {
        format!("coalesce(sum({hash}), 0)::text")
    } else {
        "NULL::text".into()
    };
    let row = c
        .query_one(
            &format!("SELECT count(*)::int8, {sum} FROM ONLY {}", t.quoted()),
            &[],
        )
        .await
        .pg_context(|| format!("counting {t}"))?;
    Ok(Sum {
        rows: row.get(0),
        sum: row.get(1),
        buckets: HashMap::new(),
    })
}

/// Key ranges whose bucket differs between the sides, at most a few.
fn differing_ranges(
    c: &Chunks,
    a: &HashMap<i64, (i64, String)>,
    b: &HashMap<i64, (i64, String)>,
) -> Vec<String> {
    let mut keys: Vec<i64> = a.keys().chain(b.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let differing: Vec<i64> = keys.into_iter().filter(|k| a.get(k) != b.get(k)).collect();
    let mut out: Vec<String> = differing
        .iter()
        .take(5)
        .map(|&k| {
            let lo = c.min as i128 + k as i128 * c.width as i128;
            let hi = lo + c.width as i128 - 1;
            if lo == hi {
                format!("[{lo}]")
            } else {
                format!("[{lo}, {hi}]")
            }
        })
        .collect();
    if differing.len() > 5 {
        out.push(format!("and {} more ranges", differing.len() - 5));
    }
    out
}

/// Objects per table: kind, table (schema.name as text), object name,
/// and whether it is in working order (validated / valid / enabled).
///
/// NOT NULL is compared per column (`attnotnull`), never as a constraint:
/// PostgreSQL 18 records it in pg_constraint (contype 'n'), older servers
/// do not, and a copy between the two must still compare equal.
const OBJECTS: &str = "SELECT 'constraint', n.nspname || '.' || t.relname, k.conname::text, k.convalidated \
           FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class t ON t.oid = k.conrelid \
           JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
          WHERE k.contype <> 'n' AND t.oid IN (SELECT pg_catalog.unnest($1::text[])::pg_catalog.regclass) \
         UNION ALL SELECT 'NOT NULL on column', n.nspname || '.' || t.relname, a.attname::text, true \
           FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class t ON t.oid = a.attrelid \
           JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
          WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull \
            AND t.oid IN (SELECT pg_catalog.unnest($1::text[])::pg_catalog.regclass) \
         UNION ALL SELECT 'index', n.nspname || '.' || t.relname, i.relname::text, x.indisvalid \
           FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid \
           JOIN pg_catalog.pg_class t ON t.oid = x.indrelid JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
          WHERE t.oid IN (SELECT pg_catalog.unnest($1::text[])::pg_catalog.regclass) \
         UNION ALL SELECT 'trigger', n.nspname || '.' || t.relname, g.tgname::text, g.tgenabled <> 'D' \
           FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_class t ON t.oid = g.tgrelid \
           JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
          WHERE NOT g.tgisinternal AND t.oid IN (SELECT pg_catalog.unnest($1::text[])::pg_catalog.regclass) \
         UNION ALL SELECT 'policy', n.nspname || '.' || t.relname, p.polname::text, true \
           FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class t ON t.oid = p.polrelid \
           JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
          WHERE t.oid IN (SELECT pg_catalog.unnest($1::text[])::pg_catalog.regclass)";

/// Schema parity of the selected tables: (target table, problem).
async fn parity(
    a: &Client,
    b: &Client,
    pairs: &[(QualName, QualName)],
    views: bool,
) -> anyhow::Result<Vec<(Option<QualName>, String)>> {
    let mut out = Vec::new();
    let src_names: Vec<String> = pairs.iter().map(|p| p.0.quoted()).collect();
    let dst_names: Vec<String> = pairs.iter().map(|p| p.1.quoted()).collect();
    let to_target: HashMap<String, QualName> = pairs
        .iter()
        .map(|(s, t)| (s.to_string(), t.clone()))
        .collect();
    let sp: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&src_names];
    let dp: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&dst_names];
    let (sx, dx) = tokio::try_join!(a.query(OBJECTS, &sp), b.query(OBJECTS, &dp)).map_err(|e| {
        anyhow!(
            "reading constraints and indexes: {}",
            crate::error::describe_pg(&e)
        )
    })?;
    let dst_objs: HashMap<(String, String, String), bool> = dx
        .iter()
        .map(|r| ((r.get(0), r.get(1), r.get(2)), r.get(3)))
        .collect();
    for r in &sx {
        let (kind, table, name, good): (String, String, String, bool) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        let Some(target) = to_target.get(&table) else {
            continue;
        };
        match dst_objs.get(&(kind.clone(), target.to_string(), name.clone())) {
            None => out.push((
                Some(target.clone()),
                format!("{kind} \"{name}\" is missing on the target"),
            )),
            Some(false) if good => out.push((
                Some(target.clone()),
                match kind.as_str() {
                    "constraint" => format!("constraint \"{name}\" is NOT VALID on the target"),
                    "index" => {
                        format!("index \"{name}\" is not valid on the target (a failed build?)")
                    }
                    _ => format!("{kind} \"{name}\" is disabled on the target"),
                },
            )),
            _ => {}
        }
    }
    if views {
        out.extend(view_parity(a, b, pairs).await?);
    }
    out.extend(orphans(b, &dst_names, pairs.iter().map(|p| &p.1)).await?);
    // Sequences that feed the selected tables: not behind the source, and
    // past the largest value in their column.
    let owned_src = catalog::read_owned_sequences(a).await?;
    for o in owned_src
        .iter()
        .filter(|o| to_target.contains_key(&o.table.to_string()))
    {
        let target = &to_target[&o.table.to_string()];
        let Ok(src_next) = next_value(a, &o.sequence.quoted()).await else {
            continue;
        };
        let Some((dseq, dst_next, max)) = feeding(b, target, &o.column).await? else {
            out.push((
                Some(target.clone()),
                format!("column \"{}\" has no sequence on the target", o.column),
            ));
            continue;
        };
        if dst_next < src_next {
            out.push((
                Some(target.clone()),
                format!(
                    "sequence {dseq} would hand out {dst_next}, behind the source's {src_next}"
                ),
            ));
        } else if max.is_some_and(|m| dst_next <= m && src_next > m) {
            // (A source whose own sequence is behind its column, as when
            // rows were inserted with explicit ids, is copied faithfully:
            // only a target worse than its source is a difference.)
            out.push((
                Some(target.clone()),
                format!(
                    "sequence {dseq} would hand out {dst_next}, but column \"{}\" already holds {}",
                    o.column,
                    max.unwrap_or_default()
                ),
            ));
        }
    }
    Ok(out)
}

/// Rows under the target's foreign keys (of the `targets`, quoted in
/// `dst_names`) without the row they reference.
async fn orphans(
    b: &Client,
    dst_names: &[String],
    targets: impl Iterator<Item = &QualName>,
) -> anyhow::Result<Vec<(Option<QualName>, String)>> {
    let mut out = Vec::new();
    let fks = b
        .query(
            "SELECT k.conname::text, pg_catalog.format('%I.%I', cn.nspname, c.relname), \
                    pg_catalog.format('%I.%I', pn.nspname, p.relname), n.nspname || '.' || c.relname, \
                    (SELECT pg_catalog.array_agg(pg_catalog.quote_ident(a.attname) ORDER BY u.i) \
                       FROM pg_catalog.unnest(k.conkey) WITH ORDINALITY AS u(att, i) \
                       JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.att), \
                    (SELECT pg_catalog.array_agg(pg_catalog.quote_ident(a.attname) ORDER BY u.i) \
                       FROM pg_catalog.unnest(k.confkey) WITH ORDINALITY AS u(att, i) \
                       JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.att) \
               FROM pg_catalog.pg_constraint k \
               JOIN pg_catalog.pg_class c ON c.oid = k.conrelid JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
               JOIN pg_catalog.pg_class p ON p.oid = k.confrelid JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace \
              WHERE k.contype = 'f' AND k.conparentid = 0 \
                AND c.oid IN (SELECT pg_catalog.unnest($1::text[])::pg_catalog.regclass)",
            &[&dst_names],
        )
        .await
        .pg_context(|| "reading the target's foreign keys".into())?;
    let dst_set: HashSet<String> = targets.map(|t| t.to_string()).collect();
    for r in fks {
        let (name, child, parent, label): (String, String, String, String) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        let (ck, pk): (Vec<String>, Vec<String>) = (r.get(4), r.get(5));
        let not_null: Vec<String> = ck.iter().map(|c| format!("c.{c} IS NOT NULL")).collect();
        let join: Vec<String> = ck
            .iter()
            .zip(&pk)
            .map(|(c, p)| format!("p.{p} = c.{c}"))
            .collect();
        let sql = format!(
            "SELECT count(*)::int8 FROM {child} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {})",
            not_null.join(" AND "),
            join.join(" AND ")
        );
        let orphans: i64 = b
            .query_one(&sql, &[])
            .await
            .pg_context(|| format!("checking foreign key {name}"))?
            .get(0);
        if orphans > 0 {
            let t = dst_set
                .get(&label)
                .and_then(|l| l.split_once('.'))
                .map(|(s, n)| QualName::new(s, n));
            out.push((
                t,
                format!(
                    "{orphans} row(s) violate foreign key \"{name}\" (no matching row in {parent})"
                ),
            ));
        }
    }
    Ok(out)
}

/// Views and materialized views of the schemas the selected tables are
/// in: present on the target under the mapped schema, of the same kind,
/// and populated where the source's are.
async fn view_parity(
    a: &Client,
    b: &Client,
    pairs: &[(QualName, QualName)],
) -> anyhow::Result<Vec<(Option<QualName>, String)>> {
    let map: HashMap<&str, &str> = pairs
        .iter()
        .map(|(s, t)| (s.schema.as_str(), t.schema.as_str()))
        .collect();
    let sql = "SELECT n.nspname::text, c.relname::text, c.relkind::text, c.relispopulated \
                 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY($1) \
                  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                                   WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                                     AND d.objid = c.oid AND d.deptype = 'e')";
    let src_schemas: Vec<String> = map.keys().map(|s| s.to_string()).collect();
    let dst_schemas: Vec<String> = map.values().map(|s| s.to_string()).collect();
    let sp: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&src_schemas];
    let dp: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&dst_schemas];
    let (sv, dv) = tokio::try_join!(a.query(sql, &sp), b.query(sql, &dp))
        .map_err(|e| anyhow!("reading views: {}", crate::error::describe_pg(&e)))?;
    let on_target: HashMap<(String, String), (String, bool)> = dv
        .iter()
        .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
        .collect();
    let mut out = Vec::new();
    for r in sv {
        let (schema, name, kind, populated): (String, String, String, bool) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        let target = QualName::new(map[schema.as_str()], name.clone());
        let label = if kind == "m" {
            "materialized view"
        } else {
            "view"
        };
        match on_target.get(&(target.schema.clone(), name)) {
            None => out.push((None, format!("{label} {target} is missing on the target"))),
            Some((k, _)) if *k != kind => {
                out.push((None, format!("{target} is a {label} on the source but not on the target")))
            }
            Some((_, false)) if populated => out.push((
                None,
                format!(
                    "{label} {target} is not populated on the target (REFRESH MATERIALIZED VIEW {})",
                    target.quoted()
                ),
            )),
            _ => {}
        }
    }
    Ok(out)
}

/// The sequence that feeds a column of the target, the value it hands
/// out next, and the column's largest value; None without a sequence.
async fn feeding(
    b: &Client,
    target: &QualName,
    column: &str,
) -> anyhow::Result<Option<(String, i64, Option<i64>)>> {
    let dseq: Option<String> = b
        .query_one(
            "SELECT pg_catalog.pg_get_serial_sequence($1, $2)",
            &[&target.quoted(), &column],
        )
        .await
        .pg_context(|| format!("finding the sequence of {target}.{column}"))?
        .get(0);
    let Some(dseq) = dseq else { return Ok(None) };
    let next = next_value(b, &dseq)
        .await
        .pg_context(|| format!("reading sequence {dseq}"))?;
    let max: Option<i64> = b
        .query_one(
            &format!(
                "SELECT max({})::int8 FROM {}",
                quote_ident(column),
                target.quoted()
            ),
            &[],
        )
        .await
        .ok()
        .and_then(|r| r.get(0));
    Ok(Some((dseq, next, max)))
}

/// The value a sequence hands out next.
async fn next_value(c: &Client, seq: &str) -> std::result::Result<i64, tokio_postgres::Error> {
    let sql = format!(
        "SELECT CASE WHEN is_called THEN last_value + (SELECT seqincrement FROM pg_catalog.pg_sequence \
                WHERE seqrelid = {}::pg_catalog.regclass) ELSE last_value END FROM {seq}",
        catalog::quote_literal(seq)
    );
    c.query_one(&sql, &[]).await.map(|r| r.get::<_, i64>(0))
}

/// `verify --input DUMP --target URL`: does the target hold what the dump
/// held? Per table of the dump: present under the mapped schema with the
/// dump's columns, the same row count, and with `--checksums` the same
/// rows: the target's rows are read back with COPY in the dump's format
/// (binary or text, same session settings) and summed as the dump summed
/// them (`RowSum`, order-independent). Then what the target alone can
/// tell: constraints the dump creates present and validated (unless the
/// dump leaves them NOT VALID), indexes valid, no orphan rows, sequences
/// past their column's data.
pub async fn verify_archive(s: &crate::settings::ArchiveVerifySettings) -> Result<VerifyReport> {
    let a = crate::archive::Archive::open(&s.input)?;
    let dst = conn::connect(&s.target, Role::Target).await?;
    let di = dst.server_info().await?;
    let b = &dst.client;
    b.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .pg_context(|| "starting a read-only transaction".into())?;
    let dst_tables = catalog::read_tables(b).await?;
    let dst_by_name: HashMap<&QualName, &Table> = dst_tables.iter().map(|t| (&t.name, t)).collect();
    let map = |n: &QualName| {
        QualName::new(
            crate::settings::map_schema(&s.schema_map, &n.schema),
            n.name.clone(),
        )
    };
    let mut checks = Vec::new();
    let mut present = Vec::new();
    for t in &a.manifest.tables {
        let target = map(&t.name);
        let (mut check, dt) = start_check(&t.name, &target, &dst_by_name);
        let Some(dt) = dt else {
            checks.push(check);
            continue;
        };
        present.push(target.clone());
        let have: HashSet<String> = dt.columns.iter().map(|c| quote_ident(&c.name)).collect();
        let missing: Vec<String> = split_columns(&t.columns)
            .into_iter()
            .filter(|c| !have.contains(c))
            .collect();
        for c in &missing {
            check
                .problems
                .push(format!("column {c} is missing on the target"));
        }
        if t.has_data && missing.is_empty() {
            let compare = s.checksums && t.row_sum.is_some();
            let (rows, sum) = if compare {
                let (n, sum) = row_sum(b, &target, t).await?;
                (n, Some(sum))
            } else {
                let n: i64 = b
                    .query_one(
                        &format!("SELECT count(*)::int8 FROM ONLY {}", target.quoted()),
                        &[],
                    )
                    .await
                    .pg_context(|| format!("counting {target}"))?
                    .get(0);
                (n as u64, None)
            };
            if rows != t.rows {
                check
                    .problems
                    .push(format!("{} rows in the dump, {rows} on the target", t.rows));
            } else if compare && sum != t.row_sum {
                check
                    .problems
                    .push("content differs (same row count, different checksum)".into());
            }
            // (A table without columns has no rows stored, nor a sum.)
            if s.checksums && t.row_sum.is_none() && !t.columns.is_empty() {
                check.problems.push(
                    "the dump holds no row checksum for this table (written by an older pgbarge): \
                     only the row count was compared; dump again with this pgbarge to compare content"
                        .into(),
                );
            }
            check.source_rows = Some(t.rows as i64);
            check.target_rows = Some(rows as i64);
            check.source_checksum = compare.then(|| t.row_sum.clone()).flatten();
            check.target_checksum = sum;
        }
        checks.push(check);
    }
    let names: Vec<String> = present.iter().map(|t| t.quoted()).collect();
    let mut found = target_health(b, &a.plan, &names, &present).await?;
    found.extend(orphans(b, &names, present.iter()).await?);
    // The dump's large objects, by oid (their content was checked as the
    // dump's rows when they were restored).
    if !a.plan.large_objects.is_empty() {
        let lost = b
            .query(
                "SELECT o FROM pg_catalog.unnest($1::pg_catalog.oid[]) AS o \
                  WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_largeobject_metadata m \
                                     WHERE m.oid = o) ORDER BY 1",
                &[&a.plan.large_objects],
            )
            .await
            .pg_context(|| "looking for the dump's large objects on the target".into())?;
        found.extend(lost.iter().map(|r| {
            (
                None,
                format!(
                    "large object {} is missing on the target",
                    r.get::<_, u32>(0)
                ),
            )
        }));
    }
    for o in catalog::read_owned_sequences(b).await? {
        if !present.contains(&o.table) {
            continue;
        }
        if let Some((dseq, next, Some(max))) = feeding(b, &o.table, &o.column).await? {
            if next <= max {
                found.push((
                    Some(o.table.clone()),
                    format!(
                        "sequence {dseq} would hand out {next}, but column \"{}\" already holds {max}",
                        o.column
                    ),
                ));
            }
        }
    }
    let (loose, ok) = settle(&mut checks, found);
    Ok(VerifyReport {
        tool: "pgbarge".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        command: "verify".into(),
        input: Some(s.input.display().to_string()),
        source: EndpointReport {
            url: a.manifest.source.url.clone(),
            server_version: a.manifest.source.server_version.clone(),
            tls: false,
        },
        target: EndpointReport {
            url: s.target.redacted(),
            server_version: di.version.clone(),
            tls: di.tls,
        },
        checksums: s.checksums,
        tables: checks,
        problems: loose,
        ok,
    })
}

/// The quoted column names of a manifest's column list.
fn split_columns(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in list.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                cur.push(ch);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(ch),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// The target table's rows read back as the dump wrote them, summed.
async fn row_sum(
    b: &Client,
    target: &QualName,
    t: &crate::archive::TableEntry,
) -> anyhow::Result<(u64, String)> {
    use futures_util::StreamExt;
    let sql = copy_statement(&target.quoted(), &t.columns, t.binary(), Direction::Out);
    let stream = b
        .copy_out(&sql)
        .await
        .pg_context(|| format!("reading {target}"))?;
    futures_util::pin_mut!(stream);
    let mut sum = crate::transfer::framing::RowSum::new(t.binary());
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.pg_context(|| format!("reading {target}"))?;
        sum.feed(&chunk)
            .map_err(|e| anyhow!("reading {target}: {e}"))?;
    }
    sum.finish().map_err(|e| anyhow!("reading {target}: {e}"))
}

/// Constraints and indexes of the target tables: every constraint the
/// dump's DDL adds is there, validated unless the dump adds it NOT VALID
/// for good; every index is valid.
async fn target_health(
    b: &Client,
    plan: &crate::transfer::schema::SchemaPlan,
    names: &[String],
    present: &[QualName],
) -> anyhow::Result<Vec<(Option<QualName>, String)>> {
    // Constraint names are matched within the table's name (the dump's
    // schema may be mapped again).
    let key_of = |st: &Statement, kind: Kind| {
        st.part
            .as_ref()
            .filter(|_| st.kind == kind)
            .map(|p| (p.name.clone(), p.table.name.clone()))
    };
    let validated: HashSet<(String, String)> = plan
        .validations
        .iter()
        .filter_map(|v| key_of(v, Kind::KeyValidation))
        .collect();
    let mut expected: HashMap<(String, String), bool> = HashMap::new();
    for st in plan.pre.iter().chain(&plan.indexes).chain(&plan.post) {
        if let Some(key) = key_of(st, Kind::Constraint) {
            let valid = !st.sql.ends_with("NOT VALID") || validated.contains(&key);
            expected.insert(key, valid);
        }
    }
    let rows = b
        .query(OBJECTS, &[&names])
        .await
        .pg_context(|| "reading the target's constraints and indexes".into())?;
    let by_text: HashMap<String, &QualName> = present.iter().map(|p| (p.to_string(), p)).collect();
    let by_name: HashMap<&str, &QualName> = present.iter().map(|p| (p.name.as_str(), p)).collect();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for r in rows {
        let (kind, table, name, good): (String, String, String, bool) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        let Some(&t) = by_text.get(&table) else {
            continue;
        };
        let bare = table.rsplit('.').next().unwrap_or(&table).to_string();
        match kind.as_str() {
            "constraint" => {
                let key = (name.clone(), bare);
                if !good && expected.get(&key).copied().unwrap_or(true) {
                    out.push((
                        Some(t.clone()),
                        format!("constraint \"{name}\" is NOT VALID on the target"),
                    ));
                }
                seen.insert(key);
            }
            "index" if !good => out.push((
                Some(t.clone()),
                format!("index \"{name}\" is not valid on the target (a failed build?)"),
            )),
            _ => {}
        }
    }
    for ((name, table), _) in expected {
        if seen.contains(&(name.clone(), table.clone())) {
            continue;
        }
        if let Some(&t) = by_name.get(table.as_str()) {
            out.push((
                Some(t.clone()),
                format!("constraint \"{name}\" is missing on the target"),
            ));
        }
    }
    Ok(out)
}

/// A table's check, and the target's table; when the target lacks it, a
/// check that already says so, and no table.
fn start_check<'a>(
    source: &QualName,
    target: &QualName,
    dst_by_name: &HashMap<&QualName, &'a Table>,
) -> (TableCheck, Option<&'a Table>) {
    let mut check = TableCheck {
        source: source.to_string(),
        target: target.to_string(),
        ..TableCheck::default()
    };
    let dt = dst_by_name.get(target).copied();
    if dt.is_none() {
        check
            .problems
            .push(format!("table {target} is missing on the target"));
    }
    (check, dt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_column_lists_split_outside_quotes_only() {
        assert_eq!(
            split_columns(r#"id, "a,b", "x""y", "Mixed Case""#),
            [r#"id"#, r#""a,b""#, r#""x""y""#, r#""Mixed Case""#]
        );
        assert!(split_columns("").is_empty());
    }

    #[test]
    fn settle_files_problems_under_their_table_and_keeps_the_rest_loose() {
        let mut checks = vec![
            TableCheck {
                target: "app.a".into(),
                ..TableCheck::default()
            },
            TableCheck {
                target: "app.b".into(),
                ..TableCheck::default()
            },
        ];
        let found = vec![
            (
                Some(QualName::new("app", "b")),
                "index \"i\" is missing".to_string(),
            ),
            (None, "view app.v is missing".to_string()),
        ];
        let (loose, ok) = settle(&mut checks, found);
        assert!(!ok);
        assert_eq!(loose, ["view app.v is missing"]);
        assert_eq!(
            (checks[0].status.as_str(), checks[1].status.as_str()),
            ("ok", "differs")
        );
        let (loose, ok) = settle(&mut checks[..1], Vec::new());
        assert!(ok && loose.is_empty());
    }
}
