//! Event triggers whose function is copied (one whose function lives
//! elsewhere is the database's business, as its roles are).
//!
//! They run last, after every other statement and with the
//! publications, as pg_dump orders them: created earlier, one would fire
//! on the copy's own DDL. Creating one needs a superuser; like a
//! publication, one the target refuses is a warning, not a failed copy.

use super::{
    comment_and_owner, not_member, quote_ident, quote_literal, Created, Kind, Mapper, ObjectKind,
    Options, QualName, Result, SchemaPlan, Statement,
};
use crate::error::PgContext;
use tokio_postgres::Client;

pub(super) async fn read(
    c: &Client,
    o: &Options<'_>,
    schemas: &[String],
    m: &Mapper<'_>,
    plan: &mut SchemaPlan,
) -> Result<()> {
    if o.tables_only {
        return Ok(());
    }
    let rows = c
        .query(
            &format!(
                "SELECT e.evtname::text, e.evtevent::text, e.evtfoid::pg_catalog.regproc::text, \
                        e.evttags, e.evtenabled::text, pg_catalog.pg_get_userbyid(e.evtowner)::text, \
                        pg_catalog.obj_description(e.oid, 'pg_event_trigger') \
                   FROM pg_catalog.pg_event_trigger e \
                   JOIN pg_catalog.pg_proc p ON p.oid = e.evtfoid \
                   JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
                  WHERE n.nspname = ANY($1) AND {} ORDER BY 1",
                not_member("e.oid", "pg_catalog.pg_event_trigger")
            ),
            &[&schemas],
        )
        .await
        .pg_context(|| "reading event triggers".into())?;
    for r in rows {
        let name: String = r.get(0);
        let target = quote_ident(&name);
        let mut sql = format!(
            "CREATE EVENT TRIGGER {target} ON {}",
            quote_ident(&r.get::<_, String>(1))
        );
        if let Some(tags) = r.get::<_, Option<Vec<String>>>(3) {
            let tags: Vec<String> = tags.iter().map(|t| quote_literal(t)).collect();
            sql.push_str(&format!(" WHEN TAG IN ({})", tags.join(", ")));
        }
        sql.push_str(&format!(
            " EXECUTE FUNCTION {}()",
            m.sql(&r.get::<_, String>(2))
        ));
        let label = format!("event trigger {name}");
        plan.publications
            .push(Statement::new(Kind::EventTrigger, label.clone(), sql));
        let state = match r.get::<_, String>(4).as_str() {
            "D" => Some("DISABLE"),
            "R" => Some("ENABLE REPLICA"),
            "A" => Some("ENABLE ALWAYS"),
            _ => None,
        };
        if let Some(state) = state {
            plan.publications.push(Statement::new(
                Kind::EventTrigger,
                label,
                format!("ALTER EVENT TRIGGER {target} {state}"),
            ));
        }
        // Comment and owner after it, with the publications' statements.
        let (post, access) = (plan.post.len(), plan.access.len());
        comment_and_owner(plan, o, "EVENT TRIGGER", &target, r.get(5), r.get(6));
        let moved: Vec<Statement> = plan
            .post
            .drain(post..)
            .chain(plan.access.drain(access..))
            .collect();
        plan.publications.extend(moved);
        plan.created.push(Created {
            kind: ObjectKind::EventTrigger,
            name: QualName::new(String::new(), name),
            args: None,
        });
    }
    Ok(())
}
