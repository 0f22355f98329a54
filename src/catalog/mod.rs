//! Read what pgbarge needs from a server's catalog.
//!
//! Here: tables (with partitions), their columns, the facts about column
//! types that decide whether binary COPY is portable, foreign keys and
//! owned sequences; `model` reads the selected schemas into a schema plan
//! (`plan`, data only), rendering through `crate::ddl`. Reads only;
//! never writes. Queries use
//! schema-qualified catalog names because sessions run with an empty
//! search_path.

pub mod model;
pub mod plan;
pub mod statement;
pub mod stats;
pub mod types;

use std::collections::HashMap;

use anyhow::Result;
use tokio_postgres::types::Type;
use tokio_postgres::Client;

use crate::error::PgContext;
pub use types::TypeCatalog;

/// A schema-qualified relation name, unquoted.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct QualName {
    pub schema: String,
    pub name: String,
}

impl QualName {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QualName {
            schema: schema.into(),
            name: name.into(),
        }
    }

    /// `"schema"."name"`, safe to splice into SQL.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }
}

impl std::fmt::Display for QualName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

pub use crate::ddl::quote::{quote_ident, quote_literal};

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub type_oid: u32,
    /// `format_type` output, schema-qualified for non-catalog types.
    pub type_name: String,
    pub generated: bool,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub oid: u32,
    pub name: QualName,
    /// `r` ordinary table, `p` partitioned table.
    pub relkind: char,
    /// For a partition: the top of its partition tree.
    pub partition_root: Option<QualName>,
    pub est_rows: i64,
    /// On-disk size including TOAST; an estimate of the work.
    pub bytes: i64,
    /// Belongs to an extension: its rows are the extension's business.
    pub extension_member: bool,
    pub columns: Vec<Column>,
}

impl Table {
    /// Holds rows of its own (partitioned parents do not).
    pub fn has_storage(&self) -> bool {
        self.relkind == 'r'
    }
}

/// Every user schema of the connected database (not pg_*, not
/// information_schema), sorted.
pub async fn read_schema_names(client: &Client) -> Result<Vec<String>> {
    Ok(client
        .query_typed(
            "SELECT n.nspname::text FROM pg_catalog.pg_namespace n \
              WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' \
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                     WHERE d.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass \
                       AND d.objid = n.oid AND d.deptype = 'e') ORDER BY 1",
            &[],
        )
        .await
        .pg_context(|| "reading schemas".into())?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Whether a schema holds an object of its own (not an extension's): a
/// relation, a type, a routine, an operator, a collation, a conversion,
/// a text search configuration.
pub async fn holds_own_objects(client: &Client, schema: &str) -> Result<bool> {
    // (Indexes, array types and row types go with what they belong to.)
    let own = |cat: &str, ns: &str, also: &str| {
        format!(
            "EXISTS (SELECT 1 FROM pg_catalog.{cat} o WHERE o.{ns} = n.oid {also} AND NOT EXISTS ( \
               SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.{cat}'::pg_catalog.regclass \
                  AND d.objid = o.oid AND d.deptype = 'e'))"
        )
    };
    let sql = format!(
        "SELECT {} FROM pg_catalog.pg_namespace n WHERE n.nspname = $1",
        [
            own("pg_class", "relnamespace", "AND o.relkind NOT IN ('i', 'I', 't')"),
            own(
                "pg_type",
                "typnamespace",
                "AND o.typrelid = 0 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = o.oid)",
            ),
            own("pg_proc", "pronamespace", ""),
            own("pg_operator", "oprnamespace", ""),
            own("pg_collation", "collnamespace", ""),
            own("pg_conversion", "connamespace", ""),
            own("pg_ts_config", "cfgnamespace", ""),
        ]
        .join(" OR ")
    );
    Ok(client
        .query_typed_opt(&sql, &[(&schema, Type::TEXT)])
        .await
        .pg_context(|| format!("reading what schema {schema} holds"))?
        .is_some_and(|r| r.get(0)))
}

/// Whether a system catalog has a column: how catalog differences
/// between server versions are told apart.
pub async fn has_column(client: &Client, catalog: &str, column: &str) -> bool {
    client
        .query_typed_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute \
              WHERE attrelid = $1::text::pg_catalog.regclass AND attname = $2)",
            &[(&catalog, Type::TEXT), (&column, Type::TEXT)],
        )
        .await
        .map(|r| r.get::<_, bool>(0))
        .unwrap_or(false)
}

/// A table's data on disk (estimated bytes): its main fork and its TOAST
/// table's (free space and visibility maps left out; a stat() or two per
/// table where pg_table_size opens a dozen files).
const TABLE_BYTES: &str = "pg_catalog.pg_relation_size(c.oid) \
     + CASE WHEN c.reltoastrelid <> 0 THEN pg_catalog.pg_relation_size(c.reltoastrelid) ELSE 0 END";

/// Every user table of the connected database.
pub async fn read_tables(client: &Client) -> Result<Vec<Table>> {
    read_tables_with(client, true).await
}

/// [`read_tables`]; without `sizes`, each table's `bytes` is 0 (see
/// [`table_sizes`]).
pub async fn read_tables_with(client: &Client, sizes: bool) -> Result<Vec<Table>> {
    // The tables and their columns, asked together (one round trip).
    const TABLES: &str = "FROM pg_catalog.pg_class c \
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
          WHERE c.relkind IN ('r', 'p') \
            AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'";
    let sql = format!(
        "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text, \
                    CASE WHEN c.relispartition THEN \
                      (SELECT rn.nspname::text FROM pg_catalog.pg_class r \
                         JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace \
                        WHERE r.oid = pg_catalog.pg_partition_root(c.oid)) END, \
                    CASE WHEN c.relispartition THEN \
                      (SELECT r.relname::text FROM pg_catalog.pg_class r \
                        WHERE r.oid = pg_catalog.pg_partition_root(c.oid)) END, \
                    greatest(c.reltuples, 0)::int8, \
                    {}, \
                    EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                             WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                               AND d.objid = c.oid AND d.deptype = 'e') \
               {TABLES} ORDER BY 2, 3",
        if sizes { TABLE_BYTES } else { "0::int8" }
    );
    let columns = format!(
        "SELECT a.attrelid, a.attname::text, a.atttypid, \
                pg_catalog.format_type(a.atttypid, a.atttypmod), a.attgenerated <> '' \
           FROM pg_catalog.pg_attribute a \
          WHERE a.attrelid IN (SELECT c.oid {TABLES}) AND a.attnum > 0 AND NOT a.attisdropped \
          ORDER BY a.attrelid, a.attnum"
    );
    let (rows, cols) = tokio::try_join!(
        async {
            client
                .query_typed(&sql, &[])
                .await
                .pg_context(|| "reading the list of tables".into())
        },
        async {
            client
                .query_typed(&columns, &[])
                .await
                .pg_context(|| "reading table columns".into())
        }
    )?;
    let mut tables: Vec<Table> = rows
        .iter()
        .map(|r| {
            let kind: String = r.get(3);
            let root = match (r.get::<_, Option<String>>(4), r.get::<_, Option<String>>(5)) {
                (Some(s), Some(n)) => Some(QualName::new(s, n)),
                _ => None,
            };
            Table {
                oid: r.get(0),
                name: QualName::new(r.get::<_, String>(1), r.get::<_, String>(2)),
                relkind: kind.chars().next().unwrap_or('r'),
                partition_root: root,
                est_rows: r.get(6),
                bytes: r.get(7),
                extension_member: r.get(8),
                columns: Vec::new(),
            }
        })
        .collect();
    let mut by_oid: HashMap<u32, Vec<Column>> = HashMap::new();
    for r in cols {
        by_oid.entry(r.get(0)).or_default().push(Column {
            name: r.get(1),
            type_oid: r.get(2),
            type_name: r.get(3),
            generated: r.get(4),
        });
    }
    for t in &mut tables {
        t.columns = by_oid.remove(&t.oid).unwrap_or_default();
    }
    Ok(tables)
}

/// Each table's estimated bytes (as [`read_tables`] gives them), by oid.
pub async fn table_sizes(client: &Client, oids: &[u32]) -> Result<HashMap<u32, i64>> {
    let sql = format!(
        "SELECT c.oid, ({TABLE_BYTES})::int8 FROM pg_catalog.pg_class c WHERE c.oid = ANY($1)"
    );
    Ok(client
        .query_typed(&sql, &[(&oids, Type::OID_ARRAY)])
        .await
        .pg_context(|| "reading the sizes of tables".into())?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// A foreign key between two storage-holding tables (partitions expanded).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ForeignKey {
    pub name: String,
    pub child: QualName,
    pub parent: QualName,
    pub deferrable: bool,
    /// Set when pgbarge may drop this key and add it back in the load
    /// transaction of `child`: a validated key declared on `child` itself
    /// (not inherited, not on a partition), referencing a plain table,
    /// with `child` owned by the current role and REFERENCES granted.
    pub rebuild: Option<FkRebuild>,
}

/// What it takes to put a dropped foreign key back exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FkRebuild {
    /// `pg_get_constraintdef`: `FOREIGN KEY (..) REFERENCES .. [ON ..] [DEFERRABLE ..]`.
    pub definition: String,
    pub comment: Option<String>,
}

/// Foreign keys, expanded so both ends are tables that hold rows: a key on
/// a partitioned table applies to each of its leaf partitions.
pub async fn read_foreign_keys(client: &Client) -> Result<Vec<ForeignKey>> {
    let rows = client
        .query_typed(
            "WITH leaves AS ( \
               SELECT c.oid AS rel, coalesce(t.relid, c.oid) AS leaf \
                 FROM pg_catalog.pg_class c \
                 LEFT JOIN LATERAL pg_catalog.pg_partition_tree(c.oid) t \
                        ON c.relkind = 'p' AND t.isleaf \
                WHERE c.relkind IN ('r', 'p')) \
             SELECT DISTINCT k.conname::text, \
                    cn.nspname::text, cc.relname::text, pn.nspname::text, pc.relname::text, \
                    k.condeferrable, \
                    k.conrelid = cc.oid AND k.confrelid = pc.oid AND NOT cc.relispartition \
                      AND k.conparentid = 0 AND k.coninhcount = 0 AND k.convalidated \
                      AND pg_catalog.pg_has_role(cc.relowner, 'USAGE') \
                      AND (SELECT pg_catalog.bool_and(pg_catalog.has_column_privilege( \
                                  k.confrelid, f.attnum, 'REFERENCES')) \
                             FROM pg_catalog.unnest(k.confkey) AS f(attnum)), \
                    pg_catalog.pg_get_constraintdef(k.oid), \
                    pg_catalog.obj_description(k.oid, 'pg_constraint') \
               FROM pg_catalog.pg_constraint k \
               JOIN leaves lc ON lc.rel = k.conrelid \
               JOIN leaves lp ON lp.rel = k.confrelid \
               JOIN pg_catalog.pg_class cc ON cc.oid = lc.leaf \
               JOIN pg_catalog.pg_namespace cn ON cn.oid = cc.relnamespace \
               JOIN pg_catalog.pg_class pc ON pc.oid = lp.leaf \
               JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace \
              WHERE k.contype = 'f' AND cc.relkind = 'r' AND pc.relkind = 'r'",
            &[],
        )
        .await
        .pg_context(|| "reading foreign keys".into())?;
    Ok(rows
        .iter()
        .map(|r| ForeignKey {
            name: r.get(0),
            child: QualName::new(r.get::<_, String>(1), r.get::<_, String>(2)),
            parent: QualName::new(r.get::<_, String>(3), r.get::<_, String>(4)),
            deferrable: r.get(5),
            rebuild: r
                .get::<_, Option<bool>>(6)
                .unwrap_or(false)
                .then(|| FkRebuild {
                    definition: r.get(7),
                    comment: r.get(8),
                }),
        })
        .collect())
}

/// A sequence that feeds a column (serial or identity), with its state.
#[derive(Debug, Clone)]
pub struct OwnedSequence {
    pub sequence: QualName,
    pub table: QualName,
    pub column: String,
}

/// Sequences owned by table columns (serial and identity).
pub async fn read_owned_sequences(client: &Client) -> Result<Vec<OwnedSequence>> {
    let rows = client
        .query_typed(
            "SELECT sn.nspname::text, s.relname::text, tn.nspname::text, t.relname::text, a.attname::text \
               FROM pg_catalog.pg_depend d \
               JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S' \
               JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace \
               JOIN pg_catalog.pg_class t ON t.oid = d.refobjid \
               JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace \
               JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid \
              WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                AND d.deptype IN ('a', 'i')",
            &[],
        )
        .await
        .pg_context(|| "reading owned sequences".into())?;
    Ok(rows
        .iter()
        .map(|r| OwnedSequence {
            sequence: QualName::new(r.get::<_, String>(0), r.get::<_, String>(1)),
            table: QualName::new(r.get::<_, String>(2), r.get::<_, String>(3)),
            column: r.get(4),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(
            QualName::new("Sch", "select").quoted(),
            "\"Sch\".\"select\""
        );
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
