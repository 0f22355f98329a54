//! Collations and conversions of the copied schemas: objects that use
//! nothing of the plan and that types, columns and indexes use, so they
//! are created ahead of everything, with their comments and owners.

use super::{
    comment_and_owner, not_member, quote_literal, Created, Kind, Mapper, ObjectKind, Options,
    QualName, Result, SchemaPlan, Statement,
};
use crate::error::PgContext;
use tokio_postgres::Client;

/// Collations of the copied schemas, created first (types and columns
/// use them; they use nothing of the plan), with their comments and
/// owners. Read as JSON rows so that one query serves every version
/// (the ICU locale moved from `collcollate` to `colliculocale` in 15 and
/// to `colllocale` in 17; ICU rules came with 16, the builtin provider
/// with 17).
pub(super) async fn read_collations(
    c: &Client,
    o: &Options<'_>,
    schemas: &[String],
    m: &Mapper<'_>,
    plan: &mut SchemaPlan,
) -> Result<()> {
    let rows = c
        .query(
            &format!(
                "SELECT n.nspname::text, x.collname::text, pg_catalog.to_jsonb(x)::text, \
                        pg_catalog.pg_get_userbyid(x.collowner)::text, \
                        pg_catalog.obj_description(x.oid, 'pg_collation') \
                   FROM pg_catalog.pg_collation x \
                   JOIN pg_catalog.pg_namespace n ON n.oid = x.collnamespace \
                  WHERE n.nspname = ANY($1) AND {} ORDER BY 1, 2",
                not_member("x.oid", "pg_catalog.pg_collation")
            ),
            &[&schemas],
        )
        .await
        .pg_context(|| "reading collations".into())?;
    let mut stmts = Vec::new();
    let mut created = Vec::new();
    for r in rows {
        let name = QualName::new(r.get::<_, String>(0), r.get::<_, String>(1));
        let row: serde_json::Value = serde_json::from_str(r.get::<_, &str>(2))
            .map_err(|e| anyhow::anyhow!("reading collation {name}: {e}"))?;
        let target = m.q(&name);
        let Some(options) = collation_options(&row) else {
            plan.warnings.push(format!(
                "collation {name} uses a provider pgbarge cannot recreate; create it on the \
                 target by hand"
            ));
            continue;
        };
        stmts.push(Statement {
            kind: Kind::Collation,
            part: None,
            large_object: None,
            slot: None,
            what: format!("collation {name}"),
            sql: format!("CREATE COLLATION {target} ({options})"),
        });
        created.push(Created {
            kind: ObjectKind::Collation,
            name: m.name(&name),
            args: None,
        });
        comment_and_owner(plan, o, "COLLATION", &target, r.get(3), r.get(4));
    }
    plan.pre.splice(0..0, stmts);
    plan.created.splice(0..0, created);
    Ok(())
}

/// Encoding conversions of the copied schemas (`CREATE [DEFAULT]
/// CONVERSION`), after every other pre-data object: their function may be
/// one of the copied ones, and no definition refers to a conversion.
pub(super) async fn read_conversions(
    c: &Client,
    o: &Options<'_>,
    schemas: &[String],
    m: &Mapper<'_>,
    plan: &mut SchemaPlan,
) -> Result<()> {
    let rows = c
        .query(
            &format!(
                "SELECT n.nspname::text, x.conname::text, \
                        pg_catalog.pg_encoding_to_char(x.conforencoding)::text, \
                        pg_catalog.pg_encoding_to_char(x.contoencoding)::text, \
                        pn.nspname::text, x.condefault, \
                        pg_catalog.pg_get_userbyid(x.conowner)::text, \
                        pg_catalog.obj_description(x.oid, 'pg_conversion'), p.proname::text \
                   FROM pg_catalog.pg_conversion x \
                   JOIN pg_catalog.pg_namespace n ON n.oid = x.connamespace \
                   JOIN pg_catalog.pg_proc p ON p.oid = x.conproc \
                   JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace \
                  WHERE n.nspname = ANY($1) AND {} ORDER BY 1, 2",
                not_member("x.oid", "pg_catalog.pg_conversion")
            ),
            &[&schemas],
        )
        .await
        .pg_context(|| "reading conversions".into())?;
    for r in rows {
        let name = QualName::new(r.get::<_, String>(0), r.get::<_, String>(1));
        let target = m.q(&name);
        plan.pre.push(Statement {
            kind: Kind::Conversion,
            part: None,
            large_object: None,
            slot: None,
            what: format!("conversion {name}"),
            sql: format!(
                "CREATE {}CONVERSION {target} FOR {} TO {} FROM {}",
                if r.get::<_, bool>(5) { "DEFAULT " } else { "" },
                quote_literal(&r.get::<_, String>(2)),
                quote_literal(&r.get::<_, String>(3)),
                m.q(&QualName::new(r.get::<_, String>(4), r.get::<_, String>(8)))
            ),
        });
        plan.created.push(Created {
            kind: ObjectKind::Conversion,
            name: m.name(&name),
            args: None,
        });
        comment_and_owner(plan, o, "CONVERSION", &target, r.get(6), r.get(7));
    }
    Ok(())
}

/// `CREATE COLLATION`'s options for a `pg_collation` row (as JSON), as
/// pg_dump writes them; None for a provider that cannot be created.
fn collation_options(row: &serde_json::Value) -> Option<String> {
    let text = |k: &str| {
        row.get(k)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let mut out = match text("collprovider")? {
        "i" => format!(
            "provider = icu, locale = {}",
            quote_literal(
                text("colllocale")
                    .or_else(|| text("colliculocale"))
                    .or_else(|| text("collcollate"))?
            )
        ),
        "b" => format!(
            "provider = builtin, locale = {}",
            quote_literal(text("colllocale")?)
        ),
        "c" => format!(
            "provider = libc, lc_collate = {}, lc_ctype = {}",
            quote_literal(text("collcollate")?),
            quote_literal(text("collctype")?)
        ),
        _ => return None,
    };
    if row.get("collisdeterministic").and_then(|v| v.as_bool()) == Some(false) {
        out.push_str(", deterministic = false");
    }
    if let Some(rules) = text("collicurules") {
        out.push_str(&format!(", rules = {}", quote_literal(rules)));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn collation_options_follow_each_versions_columns() {
        let opts = |j: &str| super::collation_options(&serde_json::from_str(j).unwrap());
        // 13/14: the ICU locale in collcollate.
        assert_eq!(
            opts(r#"{"collprovider":"i","collcollate":"und-u-ks-level2","collctype":"und-u-ks-level2","collisdeterministic":false}"#).unwrap(),
            "provider = icu, locale = 'und-u-ks-level2', deterministic = false"
        );
        // 15/16: colliculocale, and 16's rules.
        assert_eq!(
            opts(r#"{"collprovider":"i","collcollate":null,"colliculocale":"de","collicurules":"&a<b","collisdeterministic":true}"#).unwrap(),
            "provider = icu, locale = 'de', rules = '&a<b'"
        );
        // 17+: colllocale; the builtin provider.
        assert_eq!(
            opts(r#"{"collprovider":"b","colllocale":"C.UTF-8","collisdeterministic":true}"#)
                .unwrap(),
            "provider = builtin, locale = 'C.UTF-8'"
        );
        assert_eq!(
            opts(r#"{"collprovider":"c","collcollate":"C","collctype":"it's","collisdeterministic":true}"#).unwrap(),
            "provider = libc, lc_collate = 'C', lc_ctype = 'it''s'"
        );
        assert_eq!(opts(r#"{"collprovider":"d"}"#), None);
    }
}
