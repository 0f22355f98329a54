//! Large objects, for a copy: each is created on the target under its
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
                    (SELECT pg_catalog.array_agg(pg_catalog.format('GRANT %s ON LARGE OBJECT %s TO %s%s', \
                              x.privilege_type, m.oid, \
                              CASE WHEN x.grantee = 0 THEN 'PUBLIC' \
                                   ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(x.grantee)) END, \
                              CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) \
                              ORDER BY x.grantee, x.privilege_type) \
                       FROM pg_catalog.aclexplode(m.lomacl) x \
                      WHERE NOT ($1 AND x.grantee = m.lomowner)) \
               FROM pg_catalog.pg_largeobject_metadata m ORDER BY 1",
            &[&o.no_owner],
        )
        .await
        .pg_context(|| "reading large objects".into())?;
    for r in rows {
        let oid: u32 = r.get(0);
        let owner: String = r.get(1);
        if let Some(cm) = r.get::<_, Option<String>>(2) {
            plan.post.push(Statement::new(
                Kind::Comment,
                format!("comment on large object {oid}"),
                format!("COMMENT ON LARGE OBJECT {oid} IS {}", quote_literal(&cm)),
            ));
        }
        if !o.no_owner {
            plan.owners.insert(owner.clone());
            plan.access.push(Statement::new(
                Kind::Owner,
                format!("owner of large object {oid}"),
                format!("ALTER LARGE OBJECT {oid} OWNER TO {}", quote_ident(&owner)),
            ));
        }
        if !o.no_privileges && r.get::<_, bool>(3) {
            let mut sql = format!("REVOKE ALL ON LARGE OBJECT {oid} FROM PUBLIC");
            if !o.no_owner {
                sql.push_str(&format!(
                    "; REVOKE ALL ON LARGE OBJECT {oid} FROM {}",
                    quote_ident(&owner)
                ));
            }
            for g in r.get::<_, Option<Vec<String>>>(4).unwrap_or_default() {
                sql.push_str("; ");
                sql.push_str(&g);
            }
            plan.access.push(Statement::new(
                Kind::Privileges,
                format!("privileges on large object {oid}"),
                sql,
            ));
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
