//! Planner statistics, carried from a source to a PostgreSQL 18+ target
//! instead of running ANALYZE there: the moved tables plan well at once,
//! and the load chain loses a step.
//!
//! The source side is read from `pg_class` and the `pg_stats` view (no
//! superuser needed: the view shows the columns the role may read). The
//! target side is `pg_restore_relation_stats` and
//! `pg_restore_attribute_stats` (PostgreSQL 18), called with name/value
//! pairs as pg_dump 18 does. Every value travels as its text form and is
//! cast on the target, so nothing is lost to float formatting. Values
//! come from a server or a dump: they are only ever quoted literals.

use std::collections::HashMap;

use anyhow::Result;
use tokio_postgres::Client;

use super::QualName;
use crate::ddl::quote::quote_literal;
use crate::error::PgContext;

/// A table's statistics, as text values with the type each is cast to.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TableStats {
    /// `relpages`, `reltuples`, `relallvisible` (and `relallfrozen` from 18).
    pub relation: Vec<Stat>,
    pub columns: Vec<ColumnStats>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ColumnStats {
    pub attname: String,
    pub values: Vec<Stat>,
}

/// One named statistic: the argument name, its text, and its type.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stat {
    pub name: String,
    pub text: String,
    pub cast: String,
}

/// The pg_stats columns carried, with their types (`range_*` from 17).
const COLUMN_STATS: [(&str, &str); 13] = [
    ("null_frac", "real"),
    ("avg_width", "integer"),
    ("n_distinct", "real"),
    ("most_common_vals", "text"),
    ("most_common_freqs", "real[]"),
    ("histogram_bounds", "text"),
    ("correlation", "real"),
    ("most_common_elems", "text"),
    ("most_common_elem_freqs", "real[]"),
    ("elem_count_histogram", "real[]"),
    ("range_length_histogram", "text"),
    ("range_empty_frac", "real"),
    ("range_bounds_histogram", "text"),
];

/// Casts that may appear in a `Stat` (a dump's are checked against it).
const CASTS: [&str; 4] = ["real", "integer", "text", "real[]"];

/// The statistics of the analyzed tables among `tables` (leaf tables;
/// a table never analyzed has none). `major` is the source's version.
pub async fn read(
    c: &Client,
    major: i32,
    tables: &[QualName],
) -> Result<HashMap<QualName, TableStats>> {
    let schemas: Vec<&str> = {
        let mut v: Vec<&str> = tables.iter().map(|t| t.schema.as_str()).collect();
        v.sort();
        v.dedup();
        v
    };
    let wanted: std::collections::HashSet<&QualName> = tables.iter().collect();
    let frozen = if major >= 18 {
        ", c.relallfrozen::text"
    } else {
        ", NULL::text"
    };
    let rows = c
        .query(
            &format!(
                "SELECT n.nspname::text, c.relname::text, c.relpages::text, c.reltuples::text, \
                        c.relallvisible::text{frozen} \
                   FROM pg_catalog.pg_class c \
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                  WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'm') \
                    AND c.reltuples >= 0 AND c.relpages > 0"
            ),
            &[&schemas],
        )
        .await
        .pg_context(|| "reading table statistics on the source".into())?;
    let mut out: HashMap<QualName, TableStats> = HashMap::new();
    for r in rows {
        let name = QualName::new(r.get::<_, String>(0), r.get::<_, String>(1));
        if !wanted.contains(&name) {
            continue;
        }
        let mut relation = Vec::new();
        for (i, (n, cast)) in [
            ("relpages", "integer"),
            ("reltuples", "real"),
            ("relallvisible", "integer"),
            ("relallfrozen", "integer"),
        ]
        .iter()
        .enumerate()
        {
            if let Some(text) = r.get::<_, Option<String>>(i + 2) {
                relation.push(Stat {
                    name: n.to_string(),
                    text,
                    cast: cast.to_string(),
                });
            }
        }
        out.insert(
            name,
            TableStats {
                relation,
                columns: Vec::new(),
            },
        );
    }
    let present = |col: &str| major >= 17 || !col.starts_with("range_");
    let select: Vec<String> = COLUMN_STATS
        .iter()
        .map(|(col, _)| {
            if present(col) {
                format!("s.{col}::text")
            } else {
                "NULL::text".into()
            }
        })
        .collect();
    let rows = c
        .query(
            &format!(
                "SELECT s.schemaname::text, s.tablename::text, s.attname::text, {} \
                   FROM pg_catalog.pg_stats s \
                  WHERE s.schemaname = ANY($1) AND NOT s.inherited",
                select.join(", ")
            ),
            &[&schemas],
        )
        .await
        .pg_context(|| "reading column statistics on the source".into())?;
    for r in rows {
        let name = QualName::new(r.get::<_, String>(0), r.get::<_, String>(1));
        let Some(t) = out.get_mut(&name) else {
            continue;
        };
        let values = COLUMN_STATS
            .iter()
            .enumerate()
            .filter_map(|(i, (n, cast))| {
                Some(Stat {
                    name: n.to_string(),
                    text: r.get::<_, Option<String>>(i + 3)?,
                    cast: cast.to_string(),
                })
            })
            .collect();
        t.columns.push(ColumnStats {
            attname: r.get(2),
            values,
        });
    }
    Ok(out)
}

/// The statements that set `table`'s statistics on a PostgreSQL 18+
/// target (one batch); None when a value is not one this code writes (a
/// damaged or edited dump).
pub fn restore_sql(table: &QualName, s: &TableStats) -> Option<String> {
    let ok = |st: &Stat| {
        CASTS.contains(&st.cast.as_str())
            && !st.name.is_empty()
            && st.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    };
    if !s
        .relation
        .iter()
        .chain(s.columns.iter().flat_map(|c| &c.values))
        .all(ok)
    {
        return None;
    }
    let pairs = |stats: &[Stat]| -> String {
        stats
            .iter()
            .map(|st| format!(", '{}', {}::{}", st.name, quote_literal(&st.text), st.cast))
            .collect()
    };
    let target = format!(
        "'schemaname', {}, 'relname', {}",
        quote_literal(&table.schema),
        quote_literal(&table.name)
    );
    let mut sql = format!(
        "SELECT pg_catalog.pg_restore_relation_stats({target}{})",
        pairs(&s.relation)
    );
    for c in &s.columns {
        sql.push_str(&format!(
            ";\nSELECT pg_catalog.pg_restore_attribute_stats({target}, 'attname', {}, \
             'inherited', false{})",
            quote_literal(&c.attname),
            pairs(&c.values)
        ));
    }
    Some(sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(name: &str, text: &str, cast: &str) -> Stat {
        Stat {
            name: name.into(),
            text: text.into(),
            cast: cast.into(),
        }
    }

    #[test]
    fn statistics_are_quoted_literals_cast_on_the_target() {
        let s = TableStats {
            relation: vec![
                stat("relpages", "10", "integer"),
                stat("reltuples", "1000", "real"),
            ],
            columns: vec![ColumnStats {
                attname: "we'ird".into(),
                values: vec![
                    stat("null_frac", "0.1", "real"),
                    stat("most_common_vals", "{a,'b'}", "text"),
                ],
            }],
        };
        let sql = restore_sql(&QualName::new("app", "t"), &s).unwrap();
        assert_eq!(
            sql,
            "SELECT pg_catalog.pg_restore_relation_stats('schemaname', 'app', 'relname', 't', \
             'relpages', '10'::integer, 'reltuples', '1000'::real);\n\
             SELECT pg_catalog.pg_restore_attribute_stats('schemaname', 'app', 'relname', 't', \
             'attname', 'we''ird', 'inherited', false, 'null_frac', '0.1'::real, \
             'most_common_vals', '{a,''b''}'::text)"
        );
    }

    #[test]
    fn a_dump_cannot_smuggle_sql_through_names_or_casts() {
        let bad_cast = TableStats {
            relation: vec![stat("relpages", "1", "integer); DROP TABLE x; --")],
            columns: Vec::new(),
        };
        assert!(restore_sql(&QualName::new("a", "t"), &bad_cast).is_none());
        let bad_name = TableStats {
            relation: vec![stat("relpages', 1); DROP TABLE x; --", "1", "integer")],
            columns: Vec::new(),
        };
        assert!(restore_sql(&QualName::new("a", "t"), &bad_name).is_none());
    }
}
