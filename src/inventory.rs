//! The object inventory `verify` compares between source and target, so
//! that an object a copy lost is a verify failure naming it, not a
//! silence. Tables, their columns, constraints, indexes, triggers and
//! policies, and views are checked elsewhere in `verify`; this covers the
//! rest of what lives in the selected schemas: the schemas themselves,
//! sequences, foreign tables, types, routines, casts, operators, operator
//! classes and families, collations, conversions, text search objects,
//! rules, triggers on views, extended statistics, extensions,
//! publications, every comment (with its text), and properties of objects
//! (row-level security, replica identity, sequence ownership; owners and
//! grants in [`read_access`]).
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
         UNION ALL SELECT 'transform', pg_catalog.format('for %s language %I', \
                          pg_catalog.format_type(x.trftype, NULL), l.lanname) \
           FROM pg_catalog.pg_transform x JOIN pg_catalog.pg_language l ON l.oid = x.trflang \
          WHERE x.oid >= 16384 AND {trf_own} \
            AND (x.trffromsql IN (SELECT p.oid FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace) \
                 OR x.trftosql IN (SELECT p.oid FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace) \
                 OR EXISTS (SELECT 1 FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace \
                             WHERE t.oid = x.trftype)) \
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
         UNION ALL SELECT 'text search template', pg_catalog.format('%I.%I', ns.nspname, o.tmplname) \
           FROM pg_catalog.pg_ts_template o JOIN ns ON ns.oid = o.tmplnamespace WHERE {tmpl_own} \
         UNION ALL SELECT 'text search parser', pg_catalog.format('%I.%I', ns.nspname, o.prsname) \
           FROM pg_catalog.pg_ts_parser o JOIN ns ON ns.oid = o.prsnamespace WHERE {prs_own} \
         UNION ALL SELECT 'text search configuration', pg_catalog.format('%I.%I', ns.nspname, o.cfgname) \
           FROM pg_catalog.pg_ts_config o JOIN ns ON ns.oid = o.cfgnamespace WHERE {cfg_own} \
         UNION ALL SELECT 'conversion', pg_catalog.format('%I.%I', ns.nspname, o.conname) \
           FROM pg_catalog.pg_conversion o JOIN ns ON ns.oid = o.connamespace WHERE {conv_own} \
         UNION ALL SELECT 'row level security on', pg_catalog.format('%I.%I: %s', ns.nspname, c.relname, \
                          CASE WHEN c.relforcerowsecurity THEN 'enabled and forced' ELSE 'enabled' END) \
           FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace \
          WHERE c.relkind IN ('r', 'p') AND (c.relrowsecurity OR c.relforcerowsecurity) \
         UNION ALL SELECT 'access method of', pg_catalog.format('%I.%I: %I', ns.nspname, c.relname, a.amname) \
           FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace \
           JOIN pg_catalog.pg_am a ON a.oid = c.relam \
          WHERE c.relkind = 'r' AND a.amname <> 'heap' \
         UNION ALL SELECT 'replica identity of', pg_catalog.format('%I.%I: %s', ns.nspname, c.relname, \
                          CASE c.relreplident WHEN 'f' THEN 'full' WHEN 'n' THEN 'nothing' \
                            ELSE 'index ' || coalesce((SELECT pg_catalog.quote_ident(i.relname) \
                                   FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid \
                                  WHERE x.indrelid = c.oid AND x.indisreplident), '?') END) \
           FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace \
          WHERE c.relkind IN ('r', 'p') AND c.relreplident <> 'd' \
         UNION ALL SELECT 'ownership of sequence', pg_catalog.format('%I.%I: %I.%I.%I', ns.nspname, s.relname, \
                          tn.nspname, t.relname, a.attname) \
           FROM pg_catalog.pg_class s JOIN ns ON ns.oid = s.relnamespace \
           JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                AND d.objid = s.oid AND d.refobjsubid > 0 AND d.deptype = 'a' \
           JOIN pg_catalog.pg_class t ON t.oid = d.refobjid \
           JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace \
           JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid \
          WHERE s.relkind = 'S' \
         UNION ALL SELECT 'publication', pg_catalog.format('%I (table %I.%I)', p.pubname, ns.nspname, c.relname) \
           FROM pg_catalog.pg_publication p \
           JOIN pg_catalog.pg_publication_rel r ON r.prpubid = p.oid \
           JOIN pg_catalog.pg_class c ON c.oid = r.prrelid JOIN ns ON ns.oid = c.relnamespace \
         UNION ALL SELECT 'server', pg_catalog.quote_ident(s.srvname) \
           FROM pg_catalog.pg_foreign_server s WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_foreign_table ft \
                JOIN pg_catalog.pg_class c ON c.oid = ft.ftrelid JOIN ns ON ns.oid = c.relnamespace \
               WHERE ft.ftserver = s.oid) \
         UNION ALL SELECT 'user mapping', pg_catalog.format('for %s on server %I', \
                          CASE WHEN u.umuser = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(u.usename) END, u.srvname) \
           FROM pg_catalog.pg_user_mappings u WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_foreign_table ft \
                JOIN pg_catalog.pg_class c ON c.oid = ft.ftrelid JOIN ns ON ns.oid = c.relnamespace \
               WHERE ft.ftserver = u.srvid) \
         UNION ALL SELECT 'event trigger', pg_catalog.format('%I (%s)', e.evtname, \
                          CASE e.evtenabled WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'replica' \
                               WHEN 'A' THEN 'always' ELSE 'enabled' END) \
           FROM pg_catalog.pg_event_trigger e JOIN pg_catalog.pg_proc p ON p.oid = e.evtfoid \
           JOIN ns ON ns.oid = p.pronamespace \
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
        trf_own = own("pg_transform", "x.oid"),
        coll_own = own("pg_collation", "o.oid"),
        opr_own = own("pg_operator", "o.oid"),
        conv_own = own("pg_conversion", "o.oid"),
        opc_own = own("pg_opclass", "o.oid"),
        opf_own = own("pg_opfamily", "o.oid"),
        dict_own = own("pg_ts_dict", "o.oid"),
        cfg_own = own("pg_ts_config", "o.oid"),
        tmpl_own = own("pg_ts_template", "o.oid"),
        prs_own = own("pg_ts_parser", "o.oid"),
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

/// Owners (with `owners`) and privileges (with `privileges`) of what
/// lives in `schemas`: `owner of table` / `app.t: alice`. Privileges name
/// the owner `(owner)`, so that they compare alike whoever owns the
/// object on each side (`--no-owner`); an object with default privileges
/// lists them as the server would grant them.
pub async fn read_access(
    c: &Client,
    schemas: &[String],
    owners: bool,
    privileges: bool,
) -> Result<Vec<(String, String)>> {
    if !owners && !privileges {
        return Ok(Vec::new());
    }
    // An aclitem list as text, `+grantee=privilege[*]/grantor` sorted,
    // as it differs from `def` (the server's default for the object, so
    // the owner's implicit rights, which differ between versions, are
    // not compared): `+` what is granted beyond it, `-` what is revoked.
    let items = |acl: &str, def: &str, owner: &str| {
        let item = |sign: &str| {
            format!(
                "'{sign}' || pg_catalog.format('%s=%s%s/%s', \
                   CASE WHEN x.grantee = {owner} THEN '(owner)' WHEN x.grantee = 0 THEN 'PUBLIC' \
                        ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(x.grantee)) END, \
                   x.privilege_type, CASE WHEN x.is_grantable THEN '*' ELSE '' END, \
                   CASE WHEN x.grantor = {owner} THEN '(owner)' \
                        ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(x.grantor)) END)"
            )
        };
        format!(
            "(SELECT pg_catalog.string_agg(i, ' ' ORDER BY i) FROM ( \
               SELECT {plus} AS i FROM (SELECT * FROM pg_catalog.aclexplode({acl}) \
                 EXCEPT SELECT * FROM pg_catalog.aclexplode({def})) AS x \
               UNION ALL SELECT {minus} FROM (SELECT * FROM pg_catalog.aclexplode({def}) \
                 EXCEPT SELECT * FROM pg_catalog.aclexplode({acl})) AS x) AS a)",
            plus = item("+"),
            minus = item("-"),
        )
    };
    let sql = format!(
        "WITH ns AS (SELECT oid, nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY($1)), \
         obj(kind, ident, owner, acl, def) AS ( \
           SELECT 'schema', pg_catalog.quote_ident(n.nspname), n.nspowner, \
                  n.nspacl, pg_catalog.acldefault('n'::pg_catalog.\"char\", n.nspowner) \
             FROM pg_catalog.pg_namespace n JOIN ns ON ns.oid = n.oid \
           UNION ALL SELECT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' \
                              WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' ELSE 'table' END, \
                  pg_catalog.format('%I.%I', ns.nspname, c.relname), c.relowner, \
                  c.relacl, pg_catalog.acldefault((CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END)::pg_catalog.\"char\", c.relowner) \
             FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace \
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {class_own} \
           UNION ALL SELECT 'type', pg_catalog.format('%I.%I', ns.nspname, t.typname), t.typowner, \
                  t.typacl, pg_catalog.acldefault('T'::pg_catalog.\"char\", t.typowner) \
             FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace \
            WHERE (t.typrelid = 0 OR (SELECT c.relkind = 'c' FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid)) \
              AND t.typtype <> 'm' AND {type_own} \
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type a WHERE a.typarray = t.oid) \
           UNION ALL SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' WHEN 'p' THEN 'procedure' ELSE 'function' END, \
                  pg_catalog.format('%I.%I/%s', ns.nspname, p.proname, p.pronargs), p.proowner, \
                  p.proacl, pg_catalog.acldefault('f'::pg_catalog.\"char\", p.proowner) \
             FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace WHERE {proc_own} \
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i \
                   WHERE i.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND i.objid = p.oid \
                     AND i.deptype = 'i') \
           UNION ALL SELECT 'operator', pg_catalog.format('%I.%s(%s, %s)', ns.nspname, o.oprname, \
                  pg_catalog.format_type(o.oprleft, NULL), pg_catalog.format_type(o.oprright, NULL)), o.oprowner, NULL, NULL \
             FROM pg_catalog.pg_operator o JOIN ns ON ns.oid = o.oprnamespace WHERE {opr_own} \
           UNION ALL SELECT 'collation', pg_catalog.format('%I.%I', ns.nspname, o.collname), o.collowner, NULL, NULL \
             FROM pg_catalog.pg_collation o JOIN ns ON ns.oid = o.collnamespace WHERE {coll_own} \
           UNION ALL SELECT 'conversion', pg_catalog.format('%I.%I', ns.nspname, o.conname), o.conowner, NULL, NULL \
             FROM pg_catalog.pg_conversion o JOIN ns ON ns.oid = o.connamespace WHERE {conv_own} \
           UNION ALL SELECT 'text search dictionary', pg_catalog.format('%I.%I', ns.nspname, o.dictname), o.dictowner, NULL, NULL \
             FROM pg_catalog.pg_ts_dict o JOIN ns ON ns.oid = o.dictnamespace WHERE {dict_own} \
           UNION ALL SELECT 'text search configuration', pg_catalog.format('%I.%I', ns.nspname, o.cfgname), o.cfgowner, NULL, NULL \
             FROM pg_catalog.pg_ts_config o JOIN ns ON ns.oid = o.cfgnamespace WHERE {cfg_own} \
           UNION ALL SELECT 'operator class', pg_catalog.format('%I.%I USING %I', ns.nspname, o.opcname, a.amname), o.opcowner, NULL, NULL \
             FROM pg_catalog.pg_opclass o JOIN ns ON ns.oid = o.opcnamespace \
             JOIN pg_catalog.pg_am a ON a.oid = o.opcmethod WHERE {opc_own} \
           UNION ALL SELECT 'operator family', pg_catalog.format('%I.%I USING %I', ns.nspname, o.opfname, a.amname), o.opfowner, NULL, NULL \
             FROM pg_catalog.pg_opfamily o JOIN ns ON ns.oid = o.opfnamespace \
             JOIN pg_catalog.pg_am a ON a.oid = o.opfmethod WHERE {opf_own} \
         ) \
         SELECT 'owner of ' || kind, ident || ': ' || pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(owner)) \
           FROM obj WHERE $2 \
         UNION ALL SELECT 'privileges on ' || kind, ident || ': ' || {obj_items} \
           FROM obj WHERE $3 AND acl IS NOT NULL AND {obj_items} IS NOT NULL \
         UNION ALL SELECT 'privileges on a column of', pg_catalog.format('%I.%I (%I): %s', ns.nspname, c.relname, \
                  a.attname, coalesce({col_items}, 'none')) \
           FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
           JOIN ns ON ns.oid = c.relnamespace \
          WHERE $3 AND a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped \
         UNION ALL SELECT 'default privileges in schema', pg_catalog.format('%I: %s%s on %s', ns.nspname, \
                  CASE WHEN $2 THEN 'for role ' || pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(d.defaclrole)) || ' ' \
                       ELSE '' END, \
                  coalesce({def_items}, 'none'), \
                  CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions' \
                       WHEN 'T' THEN 'types' ELSE 'schemas' END) \
           FROM pg_catalog.pg_default_acl d JOIN ns ON ns.oid = d.defaclnamespace WHERE $3",
        class_own = own("pg_class", "c.oid"),
        type_own = own("pg_type", "t.oid"),
        proc_own = own("pg_proc", "p.oid"),
        opr_own = own("pg_operator", "o.oid"),
        coll_own = own("pg_collation", "o.oid"),
        conv_own = own("pg_conversion", "o.oid"),
        dict_own = own("pg_ts_dict", "o.oid"),
        cfg_own = own("pg_ts_config", "o.oid"),
        opc_own = own("pg_opclass", "o.oid"),
        opf_own = own("pg_opfamily", "o.oid"),
        obj_items = items("acl", "def", "owner"),
        col_items = items("a.attacl", "NULL::pg_catalog.aclitem[]", "c.relowner"),
        def_items = items("d.defaclacl", "NULL::pg_catalog.aclitem[]", "d.defaclrole"),
    );
    Ok(c.query(&sql, &[&schemas, &owners, &privileges])
        .await
        .map_err(|e| {
            anyhow!(
                "reading owners and privileges: {}",
                crate::error::describe_pg(&e)
            )
        })?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Every large object (database-wide), by oid.
pub async fn read_large_objects(c: &Client) -> Result<Vec<(String, String)>> {
    Ok(c.query(
        "SELECT 'large object', oid::text FROM pg_catalog.pg_largeobject_metadata ORDER BY oid",
        &[],
    )
    .await
    .map_err(|e| anyhow!("reading large objects: {}", crate::error::describe_pg(&e)))?
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
    // `app: ...` of a schema's property, with the name as quote_ident
    // spells it: compared by the bare name.
    let bare = |kind: &str, ident: &str| -> String {
        if !kind.ends_with(" schema") {
            return ident.to_string();
        }
        let (name, rest) = ident.split_once(": ").unwrap_or((ident, ""));
        format!("{}: {rest}", unquote(name))
    };
    let mut have: HashMap<(String, String), usize> = HashMap::new();
    for (k, i) in target {
        *have.entry((k.clone(), bare(k, i))).or_default() += 1;
    }
    let mut out = Vec::new();
    for (kind, ident) in source {
        let mapped = if kind == "schema" {
            // A schema's identity is its bare name.
            map.get(ident).cloned().unwrap_or_else(|| ident.clone())
        } else if kind.ends_with(" schema") {
            let plain = bare(kind, ident);
            let (name, rest) = plain.split_once(": ").unwrap_or((&plain, ""));
            format!("{}: {rest}", map.get(name).map_or(name, String::as_str))
        } else if map.is_empty() {
            ident.clone()
        } else {
            rename_schemas(ident, &map, &AnyName)
        };
        // A copy leaves the owner of a target's schema public as it is
        // (a cloud target's belongs to its platform).
        if kind == "owner of schema" && mapped.starts_with("public: ") {
            continue;
        }
        match have.get_mut(&(kind.clone(), mapped.clone())) {
            Some(n) if *n > 0 => *n -= 1,
            _ if kind == "comment" => out.push(format!(
                "comment {} is missing or differs on the target",
                mapped.rsplit_once(": ").map_or(mapped.as_str(), |(o, _)| o)
            )),
            _ if is_setting(kind) => {
                let (object, value) = mapped.split_once(": ").unwrap_or((&mapped, ""));
                let skip = if kind.starts_with("owner of ") {
                    "; --no-owner leaves owners out"
                } else if kind.contains("privileges ") {
                    "; --no-privileges leaves grants out"
                } else {
                    ""
                };
                out.push(format!(
                    "{kind} {object} differs on the target (on the source: {value}{skip})"
                ))
            }
            _ => out.push(format!("{kind} {mapped} is missing on the target")),
        }
    }
    out.sort();
    out
}

/// Kinds whose identity is `object: value`, a property of an object
/// rather than an object.
fn is_setting(kind: &str) -> bool {
    [
        "owner of ",
        "privileges on ",
        "default privileges ",
        "row level security ",
        "replica identity ",
        "access method of",
        "ownership of ",
    ]
    .iter()
    .any(|p| kind.starts_with(p))
}

/// A name as `quote_ident` spells it, unquoted.
fn unquote(name: &str) -> String {
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => name.to_string(),
    }
}

/// Not a member of an extension: `cat` is the catalog (`pg_proc`), `oid`
/// the object's oid column.
fn own(cat: &str, oid: &str) -> String {
    crate::catalog::model::not_member(oid, &format!("pg_catalog.{cat}"))
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

    #[test]
    fn properties_that_differ_are_named_with_the_source_value_and_the_flag() {
        let src = objs(&[
            ("owner of schema", "\"App\": alice"),
            ("owner of table", "\"App\".t: alice"),
            ("privileges on table", "\"App\".t: +bob=SELECT/(owner)"),
            (
                "default privileges in schema",
                "\"App\": +bob=SELECT/(owner) on tables",
            ),
            ("row level security on", "\"App\".t: enabled"),
        ]);
        let dst = objs(&[
            ("owner of schema", "public: pg_database_owner"),
            ("owner of table", "public.t: postgres"),
            ("privileges on table", "public.t: +bob=SELECT/(owner)"),
            ("row level security on", "public.t: enabled"),
        ]);
        let map = vec![("App".to_string(), "public".to_string())];
        assert_eq!(
            missing(&src, &dst, &map),
            vec![
                "default privileges in schema public differs on the target (on the source: \
                 +bob=SELECT/(owner) on tables; --no-privileges leaves grants out)"
                    .to_string(),
                "owner of table public.t differs on the target (on the source: alice; \
                 --no-owner leaves owners out)"
                    .to_string(),
            ]
        );
    }
}
