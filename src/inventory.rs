//! The object inventory `verify` compares between source and target, so
//! that an object a copy lost is a verify failure naming it, not a
//! silence. Tables, their columns, constraints, indexes, triggers and
//! policies, and views are checked elsewhere in `verify`; this covers the
//! rest of what lives in the selected schemas: the schemas themselves,
//! sequences, foreign tables, types, routines, casts, rules, triggers on
//! views, extended statistics, extensions, and every comment (with its
//! text).
//!
//! Each object is a (kind, identity) pair whose identity spells its
//! names the way SQL does (`app.f/2`, `rule r on app.t`), so the schema
//! map renames a source identity with the same lexer as a copy. Routines
//! are named with their argument count, not their argument types, which
//! an extension schema may qualify differently on the target.

use std::collections::HashMap;

use anyhow::{anyhow, Result};
use tokio_postgres::Client;

use crate::ddl::lexer::{rename_schemas, AnyName};

/// Every inventoried object of `schemas`: (kind, identity).
///
/// Objects the server makes by itself as part of another are left out:
/// a range type's multirange constructors (PostgreSQL 14+) are not
/// "missing" on an older target that has no multiranges.
pub async fn read(c: &Client, schemas: &[String]) -> Result<Vec<(String, String)>> {
    let own = |cat: &str, oid: &str| {
        format!(
            "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e \
               WHERE e.classid = 'pg_catalog.{cat}'::pg_catalog.regclass AND e.objid = {oid} \
                 AND e.deptype = 'e')"
        )
    };
    let sql = format!(
        "WITH ns AS (SELECT oid, nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY($1)) \
         SELECT 'schema', nspname::text FROM ns \
         UNION ALL SELECT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' \
                                          ELSE 'type' END, \
                          pg_catalog.format('%I.%I', ns.nspname, c.relname) \
           FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace \
          WHERE c.relkind IN ('S', 'f', 'c') AND {class_own} \
         UNION ALL SELECT 'type', pg_catalog.format('%I.%I', ns.nspname, t.typname) \
           FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace \
          WHERE t.typrelid = 0 AND t.typtype <> 'm' AND {type_own} \
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type a WHERE a.typarray = t.oid) \
         UNION ALL SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' WHEN 'p' THEN 'procedure' \
                                         ELSE 'function' END, \
                          pg_catalog.format('%I.%I/%s', ns.nspname, p.proname, p.pronargs) \
           FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace WHERE {proc_own} \
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i \
                 WHERE i.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND i.objid = p.oid \
                   AND i.deptype = 'i') \
         UNION ALL SELECT 'cast', pg_catalog.format('(%s AS %s)', \
                          pg_catalog.format_type(k.castsource, NULL), pg_catalog.format_type(k.casttarget, NULL)) \
           FROM pg_catalog.pg_cast k \
          WHERE k.oid >= 16384 AND {cast_own} \
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i \
                 WHERE i.classid = 'pg_catalog.pg_cast'::pg_catalog.regclass AND i.objid = k.oid AND i.deptype = 'i') \
            AND (k.castfunc IN (SELECT p.oid FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace) \
                 OR EXISTS (SELECT 1 FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace \
                             WHERE t.oid IN (k.castsource, k.casttarget))) \
         UNION ALL SELECT 'rule', pg_catalog.format('%I on %I.%I', r.rulename, ns.nspname, c.relname) \
           FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class \
           JOIN ns ON ns.oid = c.relnamespace WHERE r.rulename <> '_RETURN' \
         UNION ALL SELECT 'trigger', pg_catalog.format('%I on %I.%I', g.tgname, ns.nspname, c.relname) \
           FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid \
           JOIN ns ON ns.oid = c.relnamespace WHERE c.relkind = 'v' AND NOT g.tgisinternal \
         UNION ALL SELECT 'extended statistics', pg_catalog.format('%I.%I', ns.nspname, s.stxname) \
           FROM pg_catalog.pg_statistic_ext s JOIN ns ON ns.oid = s.stxnamespace \
         UNION ALL SELECT 'operator', pg_catalog.format('%I.%s(%s, %s)', ns.nspname, o.oprname, \
                          pg_catalog.format_type(o.oprleft, NULL), pg_catalog.format_type(o.oprright, NULL)) \
           FROM pg_catalog.pg_operator o JOIN ns ON ns.oid = o.oprnamespace WHERE {opr_own} \
         UNION ALL SELECT 'operator class', pg_catalog.format('%I.%I USING %I', ns.nspname, o.opcname, a.amname) \
           FROM pg_catalog.pg_opclass o JOIN ns ON ns.oid = o.opcnamespace \
           JOIN pg_catalog.pg_am a ON a.oid = o.opcmethod WHERE {opc_own} \
         UNION ALL SELECT 'operator family', pg_catalog.format('%I.%I USING %I', ns.nspname, o.opfname, a.amname) \
           FROM pg_catalog.pg_opfamily o JOIN ns ON ns.oid = o.opfnamespace \
           JOIN pg_catalog.pg_am a ON a.oid = o.opfmethod WHERE {opf_own} \
         UNION ALL SELECT 'collation', pg_catalog.format('%I.%I', ns.nspname, o.collname) \
           FROM pg_catalog.pg_collation o JOIN ns ON ns.oid = o.collnamespace WHERE {coll_own} \
         UNION ALL SELECT 'text search dictionary', pg_catalog.format('%I.%I', ns.nspname, o.dictname) \
           FROM pg_catalog.pg_ts_dict o JOIN ns ON ns.oid = o.dictnamespace WHERE {dict_own} \
         UNION ALL SELECT 'text search configuration', pg_catalog.format('%I.%I', ns.nspname, o.cfgname) \
           FROM pg_catalog.pg_ts_config o JOIN ns ON ns.oid = o.cfgnamespace WHERE {cfg_own} \
         UNION ALL SELECT 'extension', pg_catalog.quote_ident(x.extname) \
           FROM pg_catalog.pg_extension x JOIN ns ON ns.oid = x.extnamespace \
         UNION ALL SELECT 'comment', pg_catalog.format('on %s: %s', \
                          pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid), \
                          pg_catalog.md5(d.description)) \
           FROM pg_catalog.pg_description d \
          WHERE d.classoid <> 'pg_catalog.pg_extension'::pg_catalog.regclass \
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = d.classoid \
                 AND e.objid = d.objoid AND e.deptype = 'e') \
            AND ((pg_catalog.pg_identify_object(d.classoid, d.objoid, d.objsubid)).schema IN (SELECT nspname FROM ns) \
                 OR (d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass \
                     AND d.objoid IN (SELECT oid FROM ns)))",
        class_own = own("pg_class", "c.oid"),
        type_own = own("pg_type", "t.oid"),
        proc_own = own("pg_proc", "p.oid"),
        cast_own = own("pg_cast", "k.oid"),
        coll_own = own("pg_collation", "o.oid"),
        opr_own = own("pg_operator", "o.oid"),
        opc_own = own("pg_opclass", "o.oid"),
        opf_own = own("pg_opfamily", "o.oid"),
        dict_own = own("pg_ts_dict", "o.oid"),
        cfg_own = own("pg_ts_config", "o.oid"),
    );
    Ok(c.query(&sql, &[&schemas])
        .await
        .map_err(|e| {
            anyhow!(
                "reading the object inventory: {}",
                crate::error::describe_pg(&e)
            )
        })?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// What the source has that the target lacks, under the schema map: one
/// line per object (`function app.f/2 is missing on the target`).
pub fn missing(
    source: &[(String, String)],
    target: &[(String, String)],
    map: &[(String, String)],
) -> Vec<String> {
    let map: HashMap<String, String> = map.iter().cloned().collect();
    let mut have: HashMap<(String, String), usize> = HashMap::new();
    for (k, i) in target {
        *have.entry((k.clone(), i.clone())).or_default() += 1;
    }
    let mut out = Vec::new();
    for (kind, ident) in source {
        let mapped = if kind == "schema" {
            // A schema's identity is its bare name.
            map.get(ident).cloned().unwrap_or_else(|| ident.clone())
        } else if map.is_empty() {
            ident.clone()
        } else {
            rename_schemas(ident, &map, &AnyName)
        };
        match have.get_mut(&(kind.clone(), mapped.clone())) {
            Some(n) if *n > 0 => *n -= 1,
            _ if kind == "comment" => out.push(format!(
                "comment {} is missing or differs on the target",
                mapped.rsplit_once(": ").map_or(mapped.as_str(), |(o, _)| o)
            )),
            _ => out.push(format!("{kind} {mapped} is missing on the target")),
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn missing_objects_are_named_under_the_map() {
        let src = objs(&[
            ("schema", "app"),
            ("function", "app.f/1"),
            ("function", "app.f/1"),
            ("cast", "(app.pair AS json)"),
            ("rule", "r on app.t"),
            ("comment", "on table app.t: 0cc1"),
        ]);
        let dst = objs(&[
            ("schema", "moved"),
            ("function", "moved.f/1"),
            ("rule", "r on moved.t"),
            ("comment", "on table moved.t: ffff"),
        ]);
        let map = vec![("app".to_string(), "moved".to_string())];
        assert_eq!(
            missing(&src, &dst, &map),
            vec![
                "cast (moved.pair AS json) is missing on the target".to_string(),
                "comment on table moved.t is missing or differs on the target".to_string(),
                "function moved.f/1 is missing on the target".to_string(),
            ]
        );
        assert!(missing(&src, &src, &[]).is_empty());
    }
}
