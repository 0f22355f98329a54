//! Foreign tables of the copied schemas, with the servers they use and
//! those servers' user mappings.
//!
//! Servers and user mappings belong to the database, not to a schema:
//! like extensions they are created when the target lacks them (`IF NOT
//! EXISTS`) and left in place afterwards; one the target already has is
//! used as it is. A user mapping's secrets (options named like
//! `password`) are never read into the plan: the mapping is created
//! without them and a warning says how to add them. The foreign-data
//! wrapper itself comes from its extension (`postgres_fdw`, `file_fdw`);
//! one that is not an extension's must exist on the target, as any
//! object outside the plan. A foreign table holds no rows of its own:
//! only its definition is copied. A foreign table that is a partition is
//! created `PARTITION OF` its parent (its columns come from the parent;
//! their options, and defaults of its own, are set after); an inheritance
//! child is created with its own columns and `INHERITS`, as pg_dump does.

use std::collections::BTreeMap;

use super::{
    comment_and_owner, comment_stmt, not_member, quote_ident, quote_literal, Created, Key, Kind,
    Mapper, Node, ObjectKind, Options, QualName, Result, SchemaPlan, Statement,
};
use crate::error::PgContext;
use tokio_postgres::Client;

/// `OPTIONS (a 'x', b 'y')` from `{a=x,b=y}`, or nothing.
fn options(opts: &[String]) -> String {
    if opts.is_empty() {
        return String::new();
    }
    let items: Vec<String> = opts
        .iter()
        .map(|o| {
            let (k, v) = o.split_once('=').unwrap_or((o, ""));
            format!("{} {}", quote_ident(k), quote_literal(v))
        })
        .collect();
    format!(" OPTIONS ({})", items.join(", "))
}

/// An option that holds a secret, never copied.
fn secret(option: &str) -> bool {
    let key = option
        .split_once('=')
        .map_or(option, |(k, _)| k)
        .to_ascii_lowercase();
    ["password", "secret", "token"]
        .iter()
        .any(|w| key.contains(w))
}

pub(super) async fn read(
    c: &Client,
    o: &Options<'_>,
    schemas: &[String],
    m: &Mapper<'_>,
    nodes: &mut Vec<Node>,
    plan: &mut SchemaPlan,
) -> Result<()> {
    if o.tables_only {
        return Ok(());
    }
    let tables = c
        .query(
            &format!(
                "SELECT c.oid, n.nspname::text, c.relname::text, ft.ftserver, \
                        coalesce(ft.ftoptions, '{{}}'), pg_catalog.pg_get_userbyid(c.relowner)::text, \
                        pg_catalog.obj_description(c.oid, 'pg_class'), \
                        CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END, \
                        (SELECT pg_catalog.array_agg(pn.nspname::text ORDER BY i.inhseqno) \
                           FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p ON p.oid = i.inhparent \
                           JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid), \
                        (SELECT pg_catalog.array_agg(p.relname::text ORDER BY i.inhseqno) \
                           FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p ON p.oid = i.inhparent \
                          WHERE i.inhrelid = c.oid) \
                   FROM pg_catalog.pg_foreign_table ft \
                   JOIN pg_catalog.pg_class c ON c.oid = ft.ftrelid \
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                  WHERE n.nspname = ANY($1) AND {} ORDER BY 2, 3",
                not_member("c.oid", "pg_catalog.pg_class")
            ),
            &[&schemas],
        )
        .await
        .pg_context(|| "reading foreign tables".into())?;
    if tables.is_empty() {
        return Ok(());
    }
    let oids: Vec<u32> = tables.iter().map(|r| r.get(0)).collect();
    // Tables a foreign table inherits from, at any depth (partitioned
    // tables hold no rows and are not analyzed).
    let children: Vec<u32> = tables
        .iter()
        .filter(|r| {
            r.get::<_, Option<String>>(7).is_none() && r.get::<_, Option<Vec<String>>>(8).is_some()
        })
        .map(|r| r.get(0))
        .collect();
    if !children.is_empty() {
        let rows = c
            .query(
                "WITH RECURSIVE up(oid, child) AS ( \
                   SELECT i.inhparent, i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhrelid = ANY($1) \
                   UNION SELECT i.inhparent, up.child FROM pg_catalog.pg_inherits i JOIN up ON i.inhrelid = up.oid) \
                 SELECT DISTINCT n.nspname::text, p.relname::text, cn.nspname::text, ch.relname::text \
                   FROM up JOIN pg_catalog.pg_class p ON p.oid = up.oid \
                   JOIN pg_catalog.pg_namespace n ON n.oid = p.relnamespace \
                   JOIN pg_catalog.pg_class ch ON ch.oid = up.child \
                   JOIN pg_catalog.pg_namespace cn ON cn.oid = ch.relnamespace \
                  WHERE p.relkind = 'r' ORDER BY 1, 2, 3, 4",
                &[&children],
            )
            .await
            .pg_context(|| "reading what foreign tables inherit from".into())?;
        for r in rows {
            let parent = QualName::new(r.get::<_, String>(0), r.get::<_, String>(1));
            let child = QualName::new(r.get::<_, String>(2), r.get::<_, String>(3));
            let target = m.name(&parent);
            if !plan.no_analyze.contains(&target) {
                plan.warnings.push(format!(
                    "table {target} is not analyzed on the target: foreign table {} inherits \
                     from it, and ANALYZE of it would read the foreign table through its \
                     server; run ANALYZE on it there once the server is reachable (or \
                     ANALYZE ONLY, PostgreSQL 18+)",
                    m.name(&child)
                ));
                plan.no_analyze.push(target);
            }
        }
    }
    let servers: Vec<u32> = {
        let mut v: Vec<u32> = tables.iter().map(|r| r.get(3)).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    read_servers(c, o, &servers, nodes, plan).await?;

    // Columns: type, collation, NOT NULL, default or generation, options.
    let has_generated =
        super::super::has_column(c, "pg_catalog.pg_attribute", "attgenerated").await;
    let columns = c
        .query(
            &format!(
                "SELECT a.attrelid, a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), \
                        a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid), {}, \
                        coalesce(a.attfdwoptions, '{{}}'), \
                        CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 \
                             THEN pg_catalog.format('%I.%I', cn.nspname, co.collname) END, \
                        pg_catalog.col_description(a.attrelid, a.attnum), a.attislocal \
                   FROM pg_catalog.pg_attribute a \
                   JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
                   LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                   LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation \
                   LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace \
                  WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped \
                  ORDER BY a.attrelid, a.attnum",
                if has_generated {
                    "a.attgenerated = 's'"
                } else {
                    "false"
                }
            ),
            &[&oids],
        )
        .await
        .pg_context(|| "reading the columns of foreign tables".into())?;
    let checks = c
        .query(
            "SELECT conrelid, conname::text, pg_catalog.pg_get_constraintdef(oid) \
               FROM pg_catalog.pg_constraint \
              WHERE conrelid = ANY($1) AND contype = 'c' AND conislocal \
              ORDER BY conrelid, conname",
            &[&oids],
        )
        .await
        .pg_context(|| "reading the checks of foreign tables".into())?;
    for r in &tables {
        let oid: u32 = r.get(0);
        let name = QualName::new(r.get::<_, String>(1), r.get::<_, String>(2));
        let target = m.q(&name);
        let bound: Option<String> = r.get(7);
        let parents: Vec<QualName> = r
            .get::<_, Option<Vec<String>>>(8)
            .unwrap_or_default()
            .into_iter()
            .zip(r.get::<_, Option<Vec<String>>>(9).unwrap_or_default())
            .map(|(s, n)| QualName::new(s, n))
            .collect();
        let mut items = Vec::new();
        // Set after the table: what columns it does not declare itself
        // (a partition declares none) carry of their own.
        let mut after = Vec::new();
        let mut comments = Vec::new();
        for col in columns.iter().filter(|x| x.get::<_, u32>(0) == oid) {
            let cname: String = col.get(1);
            let column = quote_ident(&cname);
            let opts = options(&col.get::<_, Vec<String>>(6));
            let default = col.get::<_, Option<String>>(4).map(|expr| {
                if col.get::<_, bool>(5) {
                    format!(" GENERATED ALWAYS AS ({}) STORED", m.sql(&expr))
                } else {
                    format!(" DEFAULT {}", m.sql(&expr))
                }
            });
            if col.get::<_, bool>(9) && bound.is_none() {
                let mut item = format!("{column} {}", m.sql(&col.get::<_, String>(2)));
                item.push_str(&opts);
                if let Some(coll) = col.get::<_, Option<String>>(7) {
                    item.push_str(&format!(" COLLATE {}", m.sql(&coll)));
                }
                if col.get::<_, bool>(3) {
                    item.push_str(" NOT NULL");
                }
                item.push_str(default.as_deref().unwrap_or_default());
                items.push(item);
            } else {
                if !opts.is_empty() {
                    after.push(format!(
                        "ALTER FOREIGN TABLE ONLY {target} ALTER COLUMN {column}{opts}"
                    ));
                }
                if let Some(d) = default.as_deref().and_then(|d| d.strip_prefix(" DEFAULT ")) {
                    after.push(format!(
                        "ALTER FOREIGN TABLE ONLY {target} ALTER COLUMN {column} SET DEFAULT {d}"
                    ));
                }
            }
            if let Some(cm) = col.get::<_, Option<String>>(8) {
                comments.push(Statement::new(
                    Kind::Comment,
                    format!("comment on a column of {name}"),
                    format!(
                        "COMMENT ON COLUMN {target}.{column} IS {}",
                        quote_literal(&cm)
                    ),
                ));
            }
        }
        for k in checks.iter().filter(|x| x.get::<_, u32>(0) == oid) {
            items.push(format!(
                "CONSTRAINT {} {}",
                quote_ident(&k.get::<_, String>(1)),
                m.sql(&k.get::<_, String>(2))
            ));
        }
        let server: u32 = r.get(3);
        let server_name = nodes
            .iter()
            .find(|n| n.key == Key::Server(server))
            .map(|n| n.target.clone())
            .unwrap_or_default();
        let head = match (&bound, parents.first()) {
            (Some(bound), Some(parent)) => {
                let list = if items.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", items.join(", "))
                };
                format!(
                    "CREATE FOREIGN TABLE {target} PARTITION OF {}{list} {}",
                    m.q(parent),
                    m.sql(bound)
                )
            }
            _ if !parents.is_empty() => {
                let list: Vec<String> = parents.iter().map(|p| m.q(p)).collect();
                format!(
                    "CREATE FOREIGN TABLE {target} ({}) INHERITS ({})",
                    items.join(", "),
                    list.join(", ")
                )
            }
            _ => format!("CREATE FOREIGN TABLE {target} ({})", items.join(", ")),
        };
        let mut stmts = vec![Statement::new(
            Kind::ForeignTable,
            format!("foreign table {name}"),
            format!(
                "{head} SERVER {server_name}{}",
                options(&r.get::<_, Vec<String>>(4))
            ),
        )];
        stmts.extend(
            after.into_iter().map(|sql| {
                Statement::new(Kind::ForeignTable, format!("foreign table {name}"), sql)
            }),
        );
        stmts.extend(comment_stmt("FOREIGN TABLE", &target, r.get(6)));
        stmts.extend(comments);
        let created = Some(Created {
            kind: ObjectKind::ForeignTable,
            name: m.name(&name),
            args: None,
        });
        nodes.push(Node {
            key: Key::Class(oid),
            created,
            rank: 3,
            label: name.to_string(),
            stmts,
            kw: "FOREIGN TABLE",
            target,
            placeholder: None,
            later: Vec::new(),
        });
    }
    Ok(())
}

/// The servers the foreign tables use, each with its user mappings, as
/// nodes (a server's wrapper comes first: its extension, or it must be
/// on the target).
async fn read_servers(
    c: &Client,
    o: &Options<'_>,
    oids: &[u32],
    nodes: &mut Vec<Node>,
    plan: &mut SchemaPlan,
) -> Result<()> {
    let servers = c
        .query(
            "SELECT s.oid, s.srvname::text, w.fdwname::text, s.srvtype, s.srvversion, \
                    coalesce(s.srvoptions, '{}'), pg_catalog.pg_get_userbyid(s.srvowner)::text, \
                    pg_catalog.obj_description(s.oid, 'pg_foreign_server') \
               FROM pg_catalog.pg_foreign_server s \
               JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw \
              WHERE s.oid = ANY($1) ORDER BY 2",
            &[&oids],
        )
        .await
        .pg_context(|| "reading foreign servers".into())?;
    // Readable to the server's owner and superusers only: others see the
    // mapping without its options.
    let mappings = c
        .query(
            "SELECT srvid, usename::text, umoptions FROM pg_catalog.pg_user_mappings \
              WHERE srvid = ANY($1) ORDER BY 2",
            &[&oids],
        )
        .await
        .pg_context(|| "reading user mappings".into())?;
    let mut by_server: BTreeMap<u32, Vec<&tokio_postgres::Row>> = BTreeMap::new();
    for r in &mappings {
        by_server.entry(r.get(0)).or_default().push(r);
    }
    for r in &servers {
        let oid: u32 = r.get(0);
        let name: String = r.get(1);
        let target = quote_ident(&name);
        let mut sql = format!("CREATE SERVER IF NOT EXISTS {target}");
        if let Some(t) = r.get::<_, Option<String>>(3) {
            sql.push_str(&format!(" TYPE {}", quote_literal(&t)));
        }
        if let Some(v) = r.get::<_, Option<String>>(4) {
            sql.push_str(&format!(" VERSION {}", quote_literal(&v)));
        }
        sql.push_str(&format!(
            " FOREIGN DATA WRAPPER {}{}",
            quote_ident(&r.get::<_, String>(2)),
            options(&r.get::<_, Vec<String>>(5))
        ));
        let label = format!("server {name}");
        let mut stmts = vec![Statement::new(Kind::Server, label.clone(), sql)];
        for um in by_server.get(&oid).into_iter().flatten() {
            let user: String = um.get(1);
            let role = if user == "public" {
                "PUBLIC".to_string()
            } else {
                plan.grantees.insert(user.clone());
                quote_ident(&user)
            };
            let opts: Option<Vec<String>> = um.get(2);
            let kept: Vec<String> = opts
                .iter()
                .flatten()
                .filter(|x| !secret(x))
                .cloned()
                .collect();
            let left: Vec<&str> = opts
                .iter()
                .flatten()
                .filter(|x| secret(x))
                .map(|x| x.split_once('=').map_or(x.as_str(), |(k, _)| k))
                .collect();
            if opts.is_none() {
                plan.warnings.push(format!(
                    "user mapping for {user} on server {name}: this role cannot read its \
                     options; it is created without them (ALTER USER MAPPING FOR {role} SERVER \
                     {target} OPTIONS (ADD ...) on the target)"
                ));
            } else if !left.is_empty() {
                plan.warnings.push(format!(
                    "user mapping for {user} on server {name}: {} not copied (a secret); set it \
                     on the target: ALTER USER MAPPING FOR {role} SERVER {target} OPTIONS (ADD {} '...')",
                    left.join(", "),
                    left[0]
                ));
            }
            stmts.push(Statement::new(
                Kind::Server,
                format!("user mapping for {user} on server {name}"),
                format!(
                    "CREATE USER MAPPING IF NOT EXISTS FOR {role} SERVER {target}{}",
                    options(&kept)
                ),
            ));
        }
        comment_and_owner(plan, o, "SERVER", &target, r.get(6), r.get(7));
        nodes.push(Node {
            key: Key::Server(oid),
            created: None,
            rank: 2,
            label,
            stmts,
            kw: "SERVER",
            target,
            placeholder: None,
            later: Vec::new(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_quoted_and_secrets_recognized() {
        assert_eq!(
            options(&["host=db.example".into(), "it's=a=b".into()]),
            " OPTIONS (\"host\" 'db.example', \"it's\" 'a=b')"
        );
        assert_eq!(options(&[]), "");
        assert!(secret("password=x"));
        assert!(secret("SSLPassword=x"));
        assert!(secret("api_token=x"));
        assert!(!secret("user=app"));
    }
}
