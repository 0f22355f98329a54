//! Large objects, for a copy or a dump: each is created on the target under its
//! source oid (columns of type `oid` refer to it) and filled from the
//! source's snapshot after the tables' rows (see `transfer`); here the
//! plan lists them, with their owners, grants and comments as statements
//! that run after the data, and each as an object the run creates (a
//! target that already has one of those oids stops the run before
//! anything is written; an undone or cleaned-up run unlinks them).

use super::{
    quote_ident, quote_literal, Created, Kind, ObjectKind, Options, QualName, Result, SchemaPlan,
    Statement,
};
use crate::error::PgContext;
use tokio_postgres::Client;

pub(super) async fn read(c: &Client, o: &Options<'_>, plan: &mut SchemaPlan) -> Result<()> {
    let rows = c
        .query(
            "SELECT m.oid, pg_catalog.pg_get_userbyid(m.lomowner)::text, \
                    pg_catalog.obj_description(m.oid, 'pg_largeobject'), m.lomacl IS NOT NULL, \
                    g.grantees, g.privileges, g.grantable \
               FROM pg_catalog.pg_largeobject_metadata m \
               LEFT JOIN LATERAL ( \
                    SELECT pg_catalog.array_agg(CASE WHEN x.grantee = 0 THEN NULL \
                                 ELSE pg_catalog.pg_get_userbyid(x.grantee)::text END \
                                 ORDER BY x.grantee, x.privilege_type) AS grantees, \
                           pg_catalog.array_agg(x.privilege_type ORDER BY x.grantee, x.privilege_type) \
                             AS privileges, \
                           pg_catalog.array_agg(x.is_grantable ORDER BY x.grantee, x.privilege_type) \
                             AS grantable \
                      FROM pg_catalog.aclexplode(m.lomacl) x \
                     WHERE NOT ($1 AND x.grantee = m.lomowner)) g ON true \
              ORDER BY 1",
            &[&o.no_owner],
        )
        .await
        .pg_context(|| "reading large objects".into())?;
    for r in rows {
        let oid: u32 = r.get(0);
        let owner: String = r.get(1);
        if let Some(cm) = r.get::<_, Option<String>>(2) {
            plan.post.push(
                Statement::new(
                    Kind::Comment,
                    format!("comment on large object {oid}"),
                    format!("COMMENT ON LARGE OBJECT {oid} IS {}", quote_literal(&cm)),
                )
                .of_large_object(oid),
            );
        }
        if !o.no_owner {
            plan.owners.insert(owner.clone());
            plan.access.push(
                Statement::new(
                    Kind::Owner,
                    format!("owner of large object {oid}"),
                    format!("ALTER LARGE OBJECT {oid} OWNER TO {}", quote_ident(&owner)),
                )
                .of_large_object(oid),
            );
        }
        if !o.no_privileges && r.get::<_, bool>(3) {
            let mut sql = format!("REVOKE ALL ON LARGE OBJECT {oid} FROM PUBLIC");
            if !o.no_owner {
                sql.push_str(&format!(
                    "; REVOKE ALL ON LARGE OBJECT {oid} FROM {}",
                    quote_ident(&owner)
                ));
            }
            let on = format!("large object {oid}");
            let grantees = r
                .get::<_, Option<Vec<Option<String>>>>(4)
                .unwrap_or_default();
            let privileges = r.get::<_, Option<Vec<String>>>(5).unwrap_or_default();
            let grantable = r.get::<_, Option<Vec<bool>>>(6).unwrap_or_default();
            for ((grantee, word), option) in grantees.iter().zip(&privileges).zip(&grantable) {
                let privilege = super::checked_privilege(word, &on)?;
                let grantee = match grantee {
                    Some(g) => quote_ident(g),
                    None => "PUBLIC".into(),
                };
                let option = if *option { " WITH GRANT OPTION" } else { "" };
                sql.push_str(&format!(
                    "; GRANT {privilege} ON LARGE OBJECT {oid} TO {grantee}{option}"
                ));
            }
            plan.access.push(
                Statement::new(
                    Kind::Privileges,
                    format!("privileges on large object {oid}"),
                    sql,
                )
                .of_large_object(oid),
            );
        }
        plan.large_objects.push(oid);
        plan.created.push(Created {
            kind: ObjectKind::LargeObject,
            name: QualName::new(String::new(), oid.to_string()),
            args: None,
        });
    }
    Ok(())
}
