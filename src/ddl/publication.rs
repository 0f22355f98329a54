//! Publications as typed definitions and their pure rendering.
//!
//! `catalog::model` reads a publication's tables (with their column
//! lists and row filters, PostgreSQL 15+), schemas and options; the
//! statement is written here, every name quoted by pgbarge and the schema
//! map applied to names and, through the lexer, to row filters.

use serde::Deserialize;

use super::model::Mapper;
use crate::catalog::{quote_ident, quote_literal, QualName};

/// A table a publication publishes.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PublishedTable {
    pub schema: String,
    pub name: String,
    /// The column list, when the publication names one (15+).
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// The row filter as `pg_get_expr` prints it (15+).
    #[serde(default)]
    pub filter: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PublicationDef {
    pub name: String,
    pub tables: Vec<PublishedTable>,
    /// Schemas published whole (`TABLES IN SCHEMA`, 15+).
    pub schemas: Vec<String>,
    /// The operations published: `insert`, `update`, `delete`, `truncate`.
    pub publish: Vec<&'static str>,
    pub via_root: bool,
}

/// `CREATE PUBLICATION` for `p`, under the schema map.
pub fn render_publication(p: &PublicationDef, m: &Mapper) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !p.tables.is_empty() {
        let tables: Vec<String> = p
            .tables
            .iter()
            .map(|t| {
                let mut s = m.q(&QualName::new(t.schema.clone(), t.name.clone()));
                if let Some(cols) = &t.columns {
                    let cols: Vec<String> = cols.iter().map(|c| quote_ident(c)).collect();
                    s.push_str(&format!(" ({})", cols.join(", ")));
                }
                if let Some(f) = &t.filter {
                    s.push_str(&format!(" WHERE ({})", m.sql(f)));
                }
                s
            })
            .collect();
        parts.push(format!("TABLE {}", tables.join(", ")));
    }
    if !p.schemas.is_empty() {
        let schemas: Vec<String> = p.schemas.iter().map(|s| quote_ident(m.schema(s))).collect();
        parts.push(format!("TABLES IN SCHEMA {}", schemas.join(", ")));
    }
    let mut with = format!("publish = {}", quote_literal(&p.publish.join(", ")));
    if p.via_root {
        with.push_str(", publish_via_partition_root = true");
    }
    format!(
        "CREATE PUBLICATION {} FOR {} WITH ({with})",
        quote_ident(&p.name),
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ddl::model::tests::mapper;

    #[test]
    fn tables_with_columns_and_filters_and_schemas_under_the_map() {
        let p = PublicationDef {
            name: "Feed".into(),
            tables: vec![
                PublishedTable {
                    schema: "local_app".into(),
                    name: "orders".into(),
                    columns: Some(vec!["id".into(), "Total".into()]),
                    filter: Some("(status = 'local_app.x'::text)".into()),
                },
                PublishedTable {
                    schema: "other".into(),
                    name: "events".into(),
                    ..PublishedTable::default()
                },
            ],
            schemas: vec!["local_app".into()],
            publish: vec!["insert", "update"],
            via_root: true,
        };
        assert_eq!(
            render_publication(&p, &mapper()),
            "CREATE PUBLICATION \"Feed\" FOR TABLE \"public\".\"orders\" (\"id\", \"Total\") \
             WHERE ((status = 'local_app.x'::text)), \"other\".\"events\", TABLES IN SCHEMA \
             \"public\" WITH (publish = 'insert, update', publish_via_partition_root = true)"
        );
    }

    #[test]
    fn a_name_that_needs_quotes_cannot_break_out() {
        let p = PublicationDef {
            name: "p\"; DROP TABLE t; --".into(),
            tables: vec![PublishedTable {
                schema: "app".into(),
                name: "t".into(),
                columns: Some(vec!["a\"b".into()]),
                filter: None,
            }],
            publish: vec!["insert"],
            ..PublicationDef::default()
        };
        assert_eq!(
            render_publication(&p, &mapper()),
            "CREATE PUBLICATION \"p\"\"; DROP TABLE t; --\" FOR TABLE \"app\".\"t\" (\"a\"\"b\") \
             WITH (publish = 'insert')"
        );
    }
}
