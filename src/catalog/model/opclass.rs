//! Operator families and operator classes of the copied schemas.
//!
//! As pg_dump does: a family is created with `CREATE OPERATOR FAMILY` and
//! given its loose members (those tied to the family, not to a class:
//! cross-type operators and functions) with `ALTER OPERATOR FAMILY ..
//! ADD`; a class is created with its own members and an explicit
//! `FAMILY`, so a family made implicitly by `CREATE OPERATOR CLASS` on the
//! source is made explicitly here, with the same result in the catalog.
//! Both are nodes of the dependency graph: their members' operators and
//! functions come first, and tables whose partition key or indexes use a
//! class come after it.

use super::{
    comment_and_owner, not_member, quote_ident, Created, Key, Kind, Mapper, Node, ObjectKind,
    Options, QualName, Result, SchemaPlan, Statement,
};
use crate::error::PgContext;
use tokio_postgres::Client;

/// One member of a family or class, as its SQL item reads.
struct Member {
    /// The class or family it belongs to (`pg_depend`).
    of_class: bool,
    owner_oid: u32,
    item: String,
}

async fn members(c: &Client, m: &Mapper<'_>, oids: &[u32]) -> Result<Vec<Member>> {
    // A member belongs to the class or family its pg_depend entry names;
    // operators print as `schema.op(left, right)` (regoperator), functions
    // as `schema.f(args)` (regprocedure), both with search_path empty.
    let rows = c
        .query(
            "SELECT d.refclassid = 'pg_catalog.pg_opclass'::pg_catalog.regclass, d.refobjid, \
                    pg_catalog.format('OPERATOR %s %s%s', o.amopstrategy, o.amopopr::pg_catalog.regoperator, \
                      CASE WHEN o.amoppurpose = 'o' \
                           THEN pg_catalog.format(' FOR ORDER BY %I.%I', sn.nspname, sf.opfname) ELSE '' END), \
                    0, o.amopstrategy::int4 \
               FROM pg_catalog.pg_amop o \
               JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_amop'::pg_catalog.regclass \
                    AND d.objid = o.oid \
                    AND d.refclassid IN ('pg_catalog.pg_opclass'::pg_catalog.regclass, \
                                         'pg_catalog.pg_opfamily'::pg_catalog.regclass) \
               LEFT JOIN pg_catalog.pg_opfamily sf ON sf.oid = o.amopsortfamily \
               LEFT JOIN pg_catalog.pg_namespace sn ON sn.oid = sf.opfnamespace \
              WHERE d.refobjid = ANY($1) \
             UNION ALL \
             SELECT d.refclassid = 'pg_catalog.pg_opclass'::pg_catalog.regclass, d.refobjid, \
                    pg_catalog.format('FUNCTION %s (%s, %s) %s', p.amprocnum, \
                      pg_catalog.format_type(p.amproclefttype, NULL), \
                      pg_catalog.format_type(p.amprocrighttype, NULL), p.amproc::pg_catalog.regprocedure), \
                    1, p.amprocnum::int4 \
               FROM pg_catalog.pg_amproc p \
               JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_amproc'::pg_catalog.regclass \
                    AND d.objid = p.oid \
                    AND d.refclassid IN ('pg_catalog.pg_opclass'::pg_catalog.regclass, \
                                         'pg_catalog.pg_opfamily'::pg_catalog.regclass) \
              WHERE d.refobjid = ANY($1) \
              ORDER BY 2, 4, 5, 3",
            &[&oids],
        )
        .await
        .pg_context(|| "reading operator class and family members".into())?;
    Ok(rows
        .iter()
        .map(|r| Member {
            of_class: r.get(0),
            owner_oid: r.get(1),
            item: m.sql(&r.get::<_, String>(2)),
        })
        .collect())
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
    let families = c
        .query(
            &format!(
                "SELECT f.oid, n.nspname::text, f.opfname::text, a.amname::text, \
                        pg_catalog.pg_get_userbyid(f.opfowner)::text, \
                        pg_catalog.obj_description(f.oid, 'pg_opfamily') \
                   FROM pg_catalog.pg_opfamily f \
                   JOIN pg_catalog.pg_namespace n ON n.oid = f.opfnamespace \
                   JOIN pg_catalog.pg_am a ON a.oid = f.opfmethod \
                  WHERE n.nspname = ANY($1) AND {} ORDER BY 2, 3, 4",
                not_member("f.oid", "pg_catalog.pg_opfamily")
            ),
            &[&schemas],
        )
        .await
        .pg_context(|| "reading operator families".into())?;
    let classes = c
        .query(
            &format!(
                "SELECT x.oid, n.nspname::text, x.opcname::text, a.amname::text, \
                        pg_catalog.pg_get_userbyid(x.opcowner)::text, \
                        pg_catalog.obj_description(x.oid, 'pg_opclass'), \
                        x.opcdefault, pg_catalog.format_type(x.opcintype, NULL), \
                        CASE WHEN x.opckeytype <> 0 THEN pg_catalog.format_type(x.opckeytype, NULL) END, \
                        pg_catalog.format('%I.%I', fn.nspname, f.opfname), x.opcfamily \
                   FROM pg_catalog.pg_opclass x \
                   JOIN pg_catalog.pg_namespace n ON n.oid = x.opcnamespace \
                   JOIN pg_catalog.pg_am a ON a.oid = x.opcmethod \
                   JOIN pg_catalog.pg_opfamily f ON f.oid = x.opcfamily \
                   JOIN pg_catalog.pg_namespace fn ON fn.oid = f.opfnamespace \
                  WHERE n.nspname = ANY($1) AND {} ORDER BY 2, 3, 4",
                not_member("x.oid", "pg_catalog.pg_opclass")
            ),
            &[&schemas],
        )
        .await
        .pg_context(|| "reading operator classes".into())?;
    if families.is_empty() && classes.is_empty() {
        return Ok(());
    }
    let oids: Vec<u32> = families
        .iter()
        .chain(&classes)
        .map(|r| r.get::<_, u32>(0))
        .collect();
    let members = members(c, m, &oids).await?;
    let of = |oid: u32, class: bool| -> Vec<String> {
        members
            .iter()
            .filter(|x| x.owner_oid == oid && x.of_class == class)
            .map(|x| x.item.clone())
            .collect()
    };
    for r in &families {
        let oid: u32 = r.get(0);
        let (schema, name, am): (String, String, String) = (r.get(1), r.get(2), r.get(3));
        let target = format!(
            "{} USING {}",
            QualName::new(m.schema(&schema), name.clone()).quoted(),
            quote_ident(&am)
        );
        let label = format!("operator family {schema}.{name} using {am}");
        let mut stmts = vec![Statement::new(
            Kind::OperatorFamily,
            label.clone(),
            format!("CREATE OPERATOR FAMILY {target}"),
        )];
        let loose = of(oid, false);
        if !loose.is_empty() {
            stmts.push(Statement::new(
                Kind::OperatorFamily,
                format!("members of {label}"),
                format!("ALTER OPERATOR FAMILY {target} ADD {}", loose.join(", ")),
            ));
        }
        comment_and_owner(plan, o, "OPERATOR FAMILY", &target, r.get(4), r.get(5));
        let created = Some(Created {
            kind: ObjectKind::OperatorFamily,
            name: QualName::new(m.schema(&schema), name),
            args: Some(am),
        });
        nodes.push(Node {
            key: Key::OpFamily(oid),
            created,
            rank: 2,
            label,
            stmts,
            kw: "OPERATOR FAMILY",
            target,
            placeholder: None,
            later: Vec::new(),
        });
    }
    for r in &classes {
        let oid: u32 = r.get(0);
        let (schema, name, am): (String, String, String) = (r.get(1), r.get(2), r.get(3));
        let target = format!(
            "{} USING {}",
            QualName::new(m.schema(&schema), name.clone()).quoted(),
            quote_ident(&am)
        );
        let label = format!("operator class {schema}.{name} using {am}");
        let mut items = of(oid, true);
        let intype = m.sql(&r.get::<_, String>(7));
        // STORAGE of the input type is no STORAGE at all: it keeps the
        // list from being empty when every member is the family's.
        items.push(format!(
            "STORAGE {}",
            r.get::<_, Option<String>>(8)
                .map(|t| m.sql(&t))
                .unwrap_or_else(|| intype.clone())
        ));
        let sql = format!(
            "CREATE OPERATOR CLASS {}{} FOR TYPE {intype} USING {} FAMILY {} AS {}",
            QualName::new(m.schema(&schema), name.clone()).quoted(),
            if r.get::<_, bool>(6) { " DEFAULT" } else { "" },
            quote_ident(&am),
            m.sql(&r.get::<_, String>(9)),
            items.join(", ")
        );
        comment_and_owner(plan, o, "OPERATOR CLASS", &target, r.get(4), r.get(5));
        let created = Some(Created {
            kind: ObjectKind::OperatorClass,
            name: QualName::new(m.schema(&schema), name),
            args: Some(am),
        });
        nodes.push(Node {
            key: Key::OpClass(oid),
            created,
            rank: 2,
            label: label.clone(),
            stmts: vec![Statement::new(Kind::OperatorClass, label, sql)],
            kw: "OPERATOR CLASS",
            target,
            placeholder: None,
            later: Vec::new(),
        });
    }
    Ok(())
}

/// The edges pg_depend does not give as normal dependencies: a class
/// needs its family (an automatic dependency).
pub(super) async fn family_edges(c: &Client, schemas: &[String]) -> Result<Vec<(Key, Key)>> {
    Ok(c.query(
        "SELECT x.oid, x.opcfamily FROM pg_catalog.pg_opclass x \
               JOIN pg_catalog.pg_namespace n ON n.oid = x.opcnamespace \
              WHERE n.nspname = ANY($1)",
        &[&schemas],
    )
    .await
    .pg_context(|| "reading operator classes' families".into())?
    .iter()
    .map(|r| (Key::OpClass(r.get(0)), Key::OpFamily(r.get(1))))
    .collect())
}
