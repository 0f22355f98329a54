//! Text search templates, parsers, dictionaries and configurations of the
//! copied schemas.

use super::{
    comment_and_owner, comment_on, not_member, quote_ident, Created, Kind, Mapper, ObjectKind,
    Options, QualName, Result, SchemaPlan, Statement,
};
use crate::error::PgContext;
use anyhow::anyhow;
use tokio_postgres::Client;

/// Text search dictionaries and configurations of the copied schemas, as
/// pg_dump writes them: a dictionary from its template and init options;
/// a configuration from its parser, then its token mappings. Put at the
/// head of the pre-data statements (dictionaries first), with comments
/// and owners.
pub(super) async fn read_text_search(
    c: &Client,
    o: &Options<'_>,
    schemas: &[String],
    m: &Mapper<'_>,
    plan: &mut SchemaPlan,
) -> Result<()> {
    let mut stmts = Vec::new();
    let mut created = Vec::new();
    // Templates and parsers first: dictionaries and configurations use
    // them. Each is its functions (a superuser makes one; they have no
    // owner), read as names and quoted by pgbarge.
    for (kind, word, catalog, fields, name_col, ns_col) in [
        (
            ObjectKind::TextSearchTemplate,
            "TEXT SEARCH TEMPLATE",
            "pg_ts_template",
            &[("INIT", "tmplinit"), ("LEXIZE", "tmpllexize")][..],
            "tmplname",
            "tmplnamespace",
        ),
        (
            ObjectKind::TextSearchParser,
            "TEXT SEARCH PARSER",
            "pg_ts_parser",
            &[
                ("START", "prsstart"),
                ("GETTOKEN", "prstoken"),
                ("END", "prsend"),
                ("LEXTYPES", "prslextype"),
                ("HEADLINE", "prsheadline"),
            ][..],
            "prsname",
            "prsnamespace",
        ),
    ] {
        let functions: Vec<String> = fields
            .iter()
            .map(|(label, col)| {
                format!(
                    "(SELECT pg_catalog.json_build_array('{label}', pn.nspname, p.proname) \
                       FROM pg_catalog.pg_proc p \
                       JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace \
                      WHERE p.oid = x.{col})"
                )
            })
            .collect();
        let sql = format!(
            "SELECT n.nspname::text, x.{name_col}::text, \
                    pg_catalog.json_build_array({})::text, \
                    pg_catalog.obj_description(x.oid, '{catalog}') \
               FROM pg_catalog.{catalog} x \
               JOIN pg_catalog.pg_namespace n ON n.oid = x.{ns_col} \
              WHERE n.nspname = ANY($1) AND {} ORDER BY 1, 2",
            functions.join(", "),
            not_member("x.oid", &format!("pg_catalog.{catalog}"))
        );
        let rows = c
            .query(&sql, &[&schemas])
            .await
            .pg_context(|| format!("reading {}s", kind.word()))?;
        for r in rows {
            let name = QualName::new(r.get::<_, String>(0), r.get::<_, String>(1));
            let items: Vec<Option<(String, String, String)>> =
                serde_json::from_str(r.get::<_, &str>(2))
                    .map_err(|e| anyhow!("reading {} {name}: {e}", kind.word()))?;
            let options: Vec<String> = items
                .into_iter()
                .flatten()
                .map(|(label, schema, f)| format!("{label} = {}", m.q(&QualName::new(schema, f))))
                .collect();
            let target = m.q(&name);
            stmts.push(Statement::new(
                Kind::TextSearch,
                format!("{} {name}", kind.word()),
                format!("CREATE {word} {target} ({})", options.join(", ")),
            ));
            created.push(Created {
                kind,
                name: m.name(&name),
                args: None,
            });
            comment_on(plan, word, &target, r.get(3));
        }
    }
    let dicts = c
        .query(
            &format!(
                "SELECT n.nspname::text, x.dictname::text, tn.nspname::text, t.tmplname::text, \
                        x.dictinitoption, pg_catalog.pg_get_userbyid(x.dictowner)::text, \
                        pg_catalog.obj_description(x.oid, 'pg_ts_dict') \
                   FROM pg_catalog.pg_ts_dict x \
                   JOIN pg_catalog.pg_namespace n ON n.oid = x.dictnamespace \
                   JOIN pg_catalog.pg_ts_template t ON t.oid = x.dicttemplate \
                   JOIN pg_catalog.pg_namespace tn ON tn.oid = t.tmplnamespace \
                  WHERE n.nspname = ANY($1) AND {} ORDER BY 1, 2",
                not_member("x.oid", "pg_catalog.pg_ts_dict")
            ),
            &[&schemas],
        )
        .await
        .pg_context(|| "reading text search dictionaries".into())?;
    for r in dicts {
        let name = QualName::new(r.get::<_, String>(0), r.get::<_, String>(1));
        let template = m.q(&QualName::new(r.get::<_, String>(2), r.get::<_, String>(3)));
        let target = m.q(&name);
        let options = r
            .get::<_, Option<String>>(4)
            .map(|opt| format!(", {opt}"))
            .unwrap_or_default();
        stmts.push(Statement {
            kind: Kind::TextSearch,
            part: None,
            large_object: None,
            slot: None,
            what: format!("text search dictionary {name}"),
            sql: format!("CREATE TEXT SEARCH DICTIONARY {target} (TEMPLATE = {template}{options})"),
        });
        created.push(Created {
            kind: ObjectKind::TextSearchDictionary,
            name: m.name(&name),
            args: None,
        });
        comment_and_owner(
            plan,
            o,
            "TEXT SEARCH DICTIONARY",
            &target,
            r.get(5),
            r.get(6),
        );
    }
    let configs = c
        .query(
            &format!(
                "SELECT x.oid, n.nspname::text, x.cfgname::text, pn.nspname::text, p.prsname::text, \
                        pg_catalog.pg_get_userbyid(x.cfgowner)::text, \
                        pg_catalog.obj_description(x.oid, 'pg_ts_config'), \
                        (SELECT pg_catalog.json_agg(pg_catalog.json_build_array( \
                                  (SELECT t.alias FROM pg_catalog.ts_token_type(x.cfgparser) AS t \
                                    WHERE t.tokid = mp.maptokentype), \
                                  dn.nspname, d.dictname) \
                                ORDER BY mp.maptokentype, mp.mapseqno)::text \
                           FROM pg_catalog.pg_ts_config_map mp \
                           JOIN pg_catalog.pg_ts_dict d ON d.oid = mp.mapdict \
                           JOIN pg_catalog.pg_namespace dn ON dn.oid = d.dictnamespace \
                          WHERE mp.mapcfg = x.oid) \
                   FROM pg_catalog.pg_ts_config x \
                   JOIN pg_catalog.pg_namespace n ON n.oid = x.cfgnamespace \
                   JOIN pg_catalog.pg_ts_parser p ON p.oid = x.cfgparser \
                   JOIN pg_catalog.pg_namespace pn ON pn.oid = p.prsnamespace \
                  WHERE n.nspname = ANY($1) AND {} ORDER BY 2, 3",
                not_member("x.oid", "pg_catalog.pg_ts_config")
            ),
            &[&schemas],
        )
        .await
        .pg_context(|| "reading text search configurations".into())?;
    for r in configs {
        let name = QualName::new(r.get::<_, String>(1), r.get::<_, String>(2));
        let parser = m.q(&QualName::new(r.get::<_, String>(3), r.get::<_, String>(4)));
        let target = m.q(&name);
        stmts.push(Statement {
            kind: Kind::TextSearch,
            part: None,
            large_object: None,
            slot: None,
            what: format!("text search configuration {name}"),
            sql: format!("CREATE TEXT SEARCH CONFIGURATION {target} (PARSER = {parser})"),
        });
        // Token type -> its dictionaries, in order; each item is
        // `[token alias, dictionary schema, dictionary name]`.
        let items: Vec<(Option<String>, String, String)> = r
            .get::<_, Option<String>>(7)
            .map(|j| serde_json::from_str(&j))
            .transpose()
            .map_err(|e| anyhow!("reading the mappings of text search configuration {name}: {e}"))?
            .unwrap_or_default();
        let mut mappings: Vec<(String, Vec<String>)> = Vec::new();
        for (token, schema, dict) in items {
            let Some(token) = token else { continue };
            let dict = m.q(&QualName::new(schema, dict));
            match mappings.last_mut() {
                Some((t, dicts)) if *t == token => dicts.push(dict),
                _ => mappings.push((token, vec![dict])),
            }
        }
        for (token, dicts) in mappings {
            stmts.push(Statement {
                kind: Kind::TextSearch,
                part: None,
                large_object: None,
                slot: None,
                what: format!("text search configuration {name}"),
                sql: format!(
                    "ALTER TEXT SEARCH CONFIGURATION {target} ADD MAPPING FOR {} WITH {}",
                    quote_ident(&token),
                    dicts.join(", ")
                ),
            });
        }
        created.push(Created {
            kind: ObjectKind::TextSearchConfiguration,
            name: m.name(&name),
            args: None,
        });
        comment_and_owner(
            plan,
            o,
            "TEXT SEARCH CONFIGURATION",
            &target,
            r.get(5),
            r.get(6),
        );
    }
    plan.pre.splice(0..0, stmts);
    plan.created.splice(0..0, created);
    Ok(())
}
