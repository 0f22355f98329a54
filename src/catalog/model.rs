//! Read the source catalog of the selected schemas and tables into a
//! schema plan: ordered pre-data statements, post-data statements, and
//! what could not be reproduced.
//!
//! The session runs with `search_path = ''`, so every name the server
//! prints (`format_type`, `pg_get_expr`, `pg_get_*def`) is qualified and
//! the schema map can find it. Objects that belong to an extension are
//! left to the extension. Pre-data order comes from `pg_depend`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use anyhow::{anyhow, Result};
use tokio_postgres::Client;

use super::{quote_ident, quote_literal, QualName};
use crate::ddl::model::{
    render_table, render_type, render_view, shell_of, Attribute, Column, Key, Mapper, TableDef,
    TypeBody, TypeDef, ViewColumn, ViewDef,
};
use crate::ddl::post::{
    render_constraint, render_index, render_policy, render_rule, render_trigger, ConstraintDef,
    ConstraintType, IndexDef, PolicyDef, RenderedConstraint, RuleDef, TriggerDef,
};
use crate::ddl::publication::{render_publication, PublicationDef, PublishedTable};
use crate::ddl::{lexer, routine};
use crate::error::PgContext;

use super::plan::Known;
pub use super::plan::{Created, ObjectKind, Outside, SchemaPlan, Unsupported, LEAVE_OUT_KINDS};
pub use super::statement::{Kind, Part, Slot, Statement};

mod collation;
mod event;
mod foreign;
mod lobj;
mod opclass;
mod order;
mod textsearch;

/// The part `name` of `table` (target name).
fn part(name: &str, table: QualName) -> Option<Part> {
    Some(Part {
        name: name.to_string(),
        table,
    })
}

/// With `extension_schema`, every object of an extension that lives
/// elsewhere on the source is referred to in that schema on the target:
/// every member of an extension that a statement can name (functions,
/// types, relations, operator classes and families, operators,
/// collations, text search configurations and dictionaries), when the
/// extensions move to schema `to`: (old schema, name) -> `to`.
async fn relocations(c: &Client, to: Option<&str>) -> Result<HashMap<(String, String), String>> {
    let Some(to) = to else {
        return Ok(HashMap::new());
    };
    let rows = c
        .query(
            "SELECT n.nspname::text, x.name FROM pg_catalog.pg_extension e \
               JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace, LATERAL ( \
               SELECT p.proname::text FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid = d.objid \
                WHERE d.refobjid = e.oid AND d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.deptype = 'e' \
               UNION SELECT t.typname::text FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_type t ON t.oid = d.objid \
                WHERE d.refobjid = e.oid AND d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND d.deptype = 'e' \
               UNION SELECT r.relname::text FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class r ON r.oid = d.objid \
                WHERE d.refobjid = e.oid AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'e' \
               UNION SELECT o.opcname::text FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_opclass o ON o.oid = d.objid \
                WHERE d.refobjid = e.oid AND d.classid = 'pg_catalog.pg_opclass'::pg_catalog.regclass AND d.deptype = 'e' \
               UNION SELECT f.opfname::text FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_opfamily f ON f.oid = d.objid \
                WHERE d.refobjid = e.oid AND d.classid = 'pg_catalog.pg_opfamily'::pg_catalog.regclass AND d.deptype = 'e' \
               UNION SELECT o.oprname::text FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_operator o ON o.oid = d.objid \
                WHERE d.refobjid = e.oid AND d.classid = 'pg_catalog.pg_operator'::pg_catalog.regclass AND d.deptype = 'e' \
               UNION SELECT l.collname::text FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_collation l ON l.oid = d.objid \
                WHERE d.refobjid = e.oid AND d.classid = 'pg_catalog.pg_collation'::pg_catalog.regclass AND d.deptype = 'e' \
               UNION SELECT g.cfgname::text FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_ts_config g ON g.oid = d.objid \
                WHERE d.refobjid = e.oid AND d.classid = 'pg_catalog.pg_ts_config'::pg_catalog.regclass AND d.deptype = 'e' \
               UNION SELECT t.dictname::text FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_ts_dict t ON t.oid = d.objid \
                WHERE d.refobjid = e.oid AND d.classid = 'pg_catalog.pg_ts_dict'::pg_catalog.regclass AND d.deptype = 'e' \
             ) AS x(name) WHERE n.nspname <> $1 AND e.extname <> 'plpgsql'",
            &[&to],
        )
        .await
        .pg_context(|| "reading extension members".into())?;
    Ok(rows
        .iter()
        .map(|r| ((r.get(0), r.get(1)), to.to_string()))
        .collect())
}

pub struct Options<'a> {
    pub schema_map: &'a [(String, String)],
    /// Schemas whose types, functions, sequences and views come along.
    pub schemas: &'a [String],
    /// Tables (source names) selected.
    pub tables: &'a [QualName],
    /// Only the selected tables' own dependencies, not whole schemas
    /// (`--table` was given).
    pub tables_only: bool,
    pub rewrite_function_bodies: bool,
    pub no_owner: bool,
    pub no_privileges: bool,
    /// Create every extension in this schema (a preset's choice).
    pub extension_schema: Option<&'a str>,
    /// Fill `SchemaPlan::names` (dumps).
    pub record_names: bool,
    /// Carry large objects (a copy with rows, a dump).
    pub large_objects: bool,
    /// `--leave-out large-object`: name them in the plan's warnings.
    pub large_objects_left_out: bool,
}

/// Object names (schema, name) in `schemas`: what `X.Y` may refer to.
async fn read_names(c: &Client, schemas: &[String]) -> Result<HashSet<(String, String)>> {
    Ok(c.query(
        "SELECT n.nspname::text, x.name FROM pg_catalog.pg_namespace n, LATERAL ( \
           SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = n.oid \
           UNION SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = n.oid \
           UNION SELECT proname::text FROM pg_catalog.pg_proc WHERE pronamespace = n.oid \
           UNION SELECT collname::text FROM pg_catalog.pg_collation WHERE collnamespace = n.oid \
           UNION SELECT stxname::text FROM pg_catalog.pg_statistic_ext WHERE stxnamespace = n.oid \
           UNION SELECT cfgname::text FROM pg_catalog.pg_ts_config WHERE cfgnamespace = n.oid \
           UNION SELECT dictname::text FROM pg_catalog.pg_ts_dict WHERE dictnamespace = n.oid \
           UNION SELECT opcname::text FROM pg_catalog.pg_opclass WHERE opcnamespace = n.oid \
           UNION SELECT opfname::text FROM pg_catalog.pg_opfamily WHERE opfnamespace = n.oid \
           UNION SELECT conname::text FROM pg_catalog.pg_conversion WHERE connamespace = n.oid \
           UNION SELECT prsname::text FROM pg_catalog.pg_ts_parser WHERE prsnamespace = n.oid \
           UNION SELECT tmplname::text FROM pg_catalog.pg_ts_template WHERE tmplnamespace = n.oid \
         ) AS x(name) WHERE n.nspname = ANY($1)",
        &[&schemas],
    )
    .await
    .pg_context(|| "reading object names".into())?
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect())
}

struct Node {
    key: Key,
    /// What it creates, for the conflict check and clean-up (None for
    /// an object that is created only when missing: a server).
    created: Option<Created>,
    rank: u8,
    label: String,
    stmts: Vec<Statement>,
    /// `TABLE`, `VIEW`, `SEQUENCE`, `TYPE`, `DOMAIN`, `FUNCTION`, ...
    kw: &'static str,
    /// The target name as it follows `kw` (with arguments for routines).
    target: String,
    /// A plain view's stand-in: `CREATE VIEW v AS SELECT NULL::type AS
    /// col, ...`, the same columns without the query, which nothing can
    /// block. Used as pg_dump does when the real definition must wait.
    placeholder: Option<String>,
    /// Statements that run after the keys and indexes: the real
    /// definition of a view created as its placeholder.
    later: Vec<Statement>,
}

impl Node {
    /// Create the view as its placeholder now and give it its definition
    /// (`CREATE OR REPLACE VIEW`) after the keys. False when the node has
    /// no placeholder (not a plain view).
    fn postpone(&mut self) -> bool {
        let Some(stand_in) = self.placeholder.take() else {
            return false;
        };
        let real = std::mem::replace(&mut self.stmts[0].sql, stand_in);
        self.later.push(Statement {
            kind: Kind::ViewDefinition,
            part: None,
            large_object: None,
            slot: None,
            what: format!("definition of {}", self.stmts[0].what),
            sql: real.replacen("CREATE VIEW ", "CREATE OR REPLACE VIEW ", 1),
        });
        true
    }
}

/// `helper`: a second session in the same snapshot, for reads that need
/// nothing of the others (dependencies, views) to run beside them; without
/// one they share `c`'s connection (sent without waiting, still one
/// snapshot).
pub async fn read(c: &Client, helper: Option<&Client>, o: &Options<'_>) -> Result<SchemaPlan> {
    let schemas: Vec<String> = o.schemas.to_vec();
    let known = Known(
        read_names(
            c,
            &o.schema_map
                .iter()
                .map(|(s, _)| s.clone())
                .collect::<Vec<_>>(),
        )
        .await?,
        relocations(c, o.extension_schema).await?,
    );
    let m = Mapper {
        map: o.schema_map.iter().cloned().collect(),
        known: &known,
    };
    let mut plan = SchemaPlan::default();
    if o.record_names {
        let mut names: Vec<QualName> = read_names(c, &schemas)
            .await?
            .into_iter()
            .map(|(s, n)| QualName::new(m.schema(&s), n))
            .collect();
        names.sort();
        plan.names = names;
    }
    let mut nodes: Vec<Node> = Vec::new();

    // Which schemas exist on the source (for CREATE SCHEMA and comments).
    for r in c
        .query(
            "SELECT nspname::text, pg_catalog.obj_description(oid, 'pg_namespace') \
               FROM pg_catalog.pg_namespace WHERE nspname = ANY($1) ORDER BY 1",
            &[&schemas],
        )
        .await
        .pg_context(|| "reading schemas".into())?
    {
        let name: String = r.get(0);
        plan.schemas.push(m.schema(&name).to_string());
        if let Some(cm) = r.get::<_, Option<String>>(1) {
            // The comment initdb gives public is not the user's (pg_dump
            // leaves it out too); one they set on it is theirs.
            if !(name == "public" && cm == "standard public schema") {
                plan.post.push(Statement {
                    kind: Kind::Comment,
                    part: None,
                    large_object: None,
                    slot: None,
                    what: format!("comment on schema {}", m.schema(&name)),
                    sql: format!(
                        "COMMENT ON SCHEMA {} IS {}",
                        quote_ident(m.schema(&name)),
                        quote_literal(&cm)
                    ),
                });
            }
        }
    }

    // Beside the objects up to tables: dependencies and views (views into
    // their own nodes and plan, joined after the tables' as if read next).
    let side = helper.unwrap_or(c);
    let (base_types, shells, (deps, mut view_nodes, view_plan)) = {
        let (nodes, plan, m, schemas) = (&mut nodes, &mut plan, &m, &schemas);
        tokio::try_join!(
            async move {
                let (base_types, shells) = read_types(c, schemas, m, nodes, plan).await?;
                read_functions(c, o, schemas, m, nodes, plan).await?;
                read_casts(c, o, schemas, m, nodes).await?;
                read_transforms(c, o, schemas, m, nodes).await?;
                read_operators(c, o, schemas, m, nodes, plan).await?;
                opclass::read(c, o, schemas, m, nodes, plan).await?;
                foreign::read(c, o, schemas, m, nodes, plan).await?;
                read_sequences(c, o, schemas, m, nodes, plan).await?;
                read_tables(c, o, m, nodes, plan).await?;
                Ok::<_, anyhow::Error>((base_types, shells))
            },
            async move {
                let mut deps = read_depends(side).await?;
                deps.edges
                    .extend(opclass::family_edges(side, schemas).await?);
                let mut view_nodes = Vec::new();
                let mut view_plan = SchemaPlan::default();
                read_views(side, o, schemas, m, &mut view_nodes, &mut view_plan).await?;
                Ok::<_, anyhow::Error>((deps, view_nodes, view_plan))
            }
        )
        .map(|((b, s), side)| (b, s, side))?
    };
    // Views defined after the keys go here, before materialized view
    // refreshes (which read them) and what read_views adds after.
    let later_at = plan.post.len();
    nodes.append(&mut view_nodes);
    plan.append(view_plan);
    read_statistics(c, o, &m, &mut plan).await?;
    not_reproduced(c, &schemas, o.large_objects_left_out, &mut plan).await?;
    // Chosen tables come without them, as with pg_dump -t.
    if o.large_objects && !o.tables_only {
        lobj::read(c, o, &mut plan).await?;
    }

    // Dependencies among the nodes, and extensions they use.
    let index: HashMap<Key, usize> = nodes.iter().enumerate().map(|(i, n)| (n.key, i)).collect();
    let mut edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); nodes.len()];
    // What each node uses of an extension: an object it depends on
    // (a type, a function) or anything else of one (an index's operator
    // class, an operator, a collation).
    let mut ext_uses: Vec<(usize, &String)> = Vec::new();
    for d in &deps.edges {
        if let (Some(&from), Some(&to)) = (index.get(&d.0), index.get(&d.1)) {
            if from != to {
                edges[from].insert(to);
            }
        } else if let (Some(&from), Some(ext)) = (index.get(&d.0), deps.extension_of.get(&d.1)) {
            ext_uses.push((from, ext));
        }
    }
    // A base type's input, output (and other support) functions take or
    // return it: they are created while it is a shell, before it.
    for t in 0..nodes.len() {
        if base_types.contains(&nodes[t].key) {
            for f in edges[t].clone() {
                edges[f].remove(&t);
            }
        }
    }
    // A view created as its placeholder needs only its column types then
    // (its query waits for the post-data step).
    for (i, e) in edges.iter_mut().enumerate() {
        if nodes[i].kw == "VIEW" && !nodes[i].later.is_empty() {
            e.retain(|&t| nodes[t].rank == 0);
        }
    }
    for (k, ext) in &deps.uses {
        if let Some(&from) = index.get(k) {
            ext_uses.push((from, ext));
        }
    }
    // With --table, only what the selected tables need comes along.
    let keep: Vec<bool> = if o.tables_only {
        let mut keep = vec![false; nodes.len()];
        let mut stack: Vec<usize> = (0..nodes.len()).filter(|&i| nodes[i].rank == 3).collect();
        // What a function's body spells is not in pg_depend (a sequence
        // its nextval() uses): found by name, it comes along too.
        let by_name: HashMap<&str, usize> = nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| !matches!(n.kw, "FUNCTION" | "PROCEDURE" | "AGGREGATE"))
            .map(|(i, n)| (n.label.as_str(), i))
            .collect();
        while let Some(i) = stack.pop() {
            if !keep[i] {
                keep[i] = true;
                stack.extend(edges[i].iter().copied());
                let body = nodes[i]
                    .stmts
                    .first()
                    .map_or(Vec::new(), |st| lexer::body_names(&st.sql));
                stack.extend(body.into_iter().filter_map(|(s, n)| {
                    by_name
                        .get(QualName::new(s, n).to_string().as_str())
                        .copied()
                }));
            }
        }
        keep
    } else {
        vec![true; nodes.len()]
    };
    // Text search objects come with their schema (--table too).
    let needed_ext: BTreeSet<&String> = ext_uses
        .iter()
        .filter(|(i, _)| keep[*i])
        .map(|(_, e)| *e)
        .chain(
            deps.text_search_uses
                .iter()
                .filter(|(schema, _)| schemas.contains(schema))
                .map(|(_, e)| e),
        )
        .collect();
    // What kept objects need that is neither in the plan nor part of an
    // extension: it has to exist on the target already.
    let mut outside: BTreeMap<Key, BTreeSet<String>> = BTreeMap::new();
    for d in &deps.edges {
        if let (Some(&from), None) = (index.get(&d.0), index.get(&d.1)) {
            if keep[from] && !deps.extension_of.contains_key(&d.1) {
                let n = &nodes[from];
                outside.entry(d.1).or_default().insert(format!(
                    "{} {}",
                    n.kw.to_lowercase(),
                    n.label
                ));
            }
        }
    }
    plan.outside = describe_outside(c, outside, &m, &schemas).await?;
    for e in deps
        .extensions
        .iter()
        .filter(|e| schemas.contains(&e.1) || needed_ext.contains(&e.0))
    {
        let (name, schema) = e;
        // With search_path = '' an extension needs an explicit schema,
        // which must exist.
        let target_schema = quote_ident(o.extension_schema.unwrap_or(m.schema(schema)));
        let with = format!(
            "CREATE SCHEMA IF NOT EXISTS {target_schema}; CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {target_schema}",
            quote_ident(name)
        );
        plan.extension_schemas
            .push(o.extension_schema.unwrap_or(m.schema(schema)).to_string());
        plan.extension_names.push(name.clone());
        plan.extensions.push(Statement {
            kind: Kind::Extension,
            part: None,
            large_object: None,
            slot: None,
            what: format!("extension {name}"),
            sql: with,
        });
    }

    let (ordered, cycles) = order::order(&mut nodes, &edges, &keep);
    plan.warnings.extend(cycles);
    let waves = order::waves(
        &ordered,
        &edges,
        &nodes.iter().map(|n| n.rank).collect::<Vec<_>>(),
    );
    // `created` in creation order, so dropping runs it backwards.
    let mut later = Vec::new();
    for (&i, &wave) in ordered.iter().zip(&waves) {
        let slot = Slot {
            wave,
            unit: u32::try_from(i).unwrap_or(u32::MAX),
        };
        for st in &mut nodes[i].stmts {
            st.slot = Some(slot);
        }
        plan.pre.append(&mut nodes[i].stmts);
        later.append(&mut nodes[i].later);
        plan.created.extend(nodes[i].created.clone());
    }
    plan.post.splice(later_at..later_at, later);
    // Shells of base types need nothing but their schema: first.
    let shells = shells
        .into_iter()
        .filter(|(k, _)| index.get(k).is_some_and(|&i| keep[i]))
        .map(|(_, st)| st);
    plan.pre.splice(0..0, shells);
    // Sequences left out with --table are neither set nor given an owner.
    let left_out: HashSet<&QualName> = (0..nodes.len())
        .filter(|&i| !keep[i])
        .filter_map(|i| nodes[i].created.as_ref())
        .filter(|c| c.kind == ObjectKind::Sequence)
        .map(|c| &c.name)
        .collect();
    if !left_out.is_empty() {
        plan.sequences.retain(|(_, to)| !left_out.contains(to));
        // `ALTER SEQUENCE s OWNED BY ..`: the sequence is the first name.
        plan.post.retain(|st| {
            st.kind != Kind::SequenceOwnership
                || !lexer::qualified_names(&st.sql)
                    .into_iter()
                    .next()
                    .is_some_and(|(s, n)| left_out.contains(&QualName::new(s, n)))
        });
    }
    // Text search objects, then collations, ahead of everything: types,
    // tables and indexes use them, and they use nothing of the plan.
    textsearch::read_text_search(c, o, &schemas, &m, &mut plan).await?;
    collation::read_collations(c, o, &schemas, &m, &mut plan).await?;
    collation::read_conversions(c, o, &schemas, &m, &mut plan).await?;
    read_publications(c, o, &schemas, &m, &mut plan).await?;
    event::read(c, o, &schemas, &m, &mut plan).await?;
    let kept: Vec<&Node> = ordered.iter().map(|&i| &nodes[i]).collect();
    read_access(c, o, &kept, &schemas, &m, &mut plan).await?;
    read_default_privileges(c, o, &schemas, &m, &mut plan).await?;
    if let Some(why) = plan.not_one_statement() {
        anyhow::bail!(
            "{why}; the source server printed it so, and pgbarge does not run it on a target"
        );
    }
    Ok(plan)
}

/// Dependencies between user objects, resolved to graph nodes.
struct Depends {
    edges: Vec<(Key, Key)>,
    /// Extension member objects -> extension name.
    extension_of: HashMap<Key, String>,
    /// Node -> extension it uses through a member of any kind.
    uses: Vec<(Key, String)>,
    /// (schema, extension) a text search configuration or dictionary of
    /// that schema uses.
    text_search_uses: Vec<(String, String)>,
    /// Every extension: (name, schema).
    extensions: Vec<(String, String)>,
}

/// What each user object of the kinds `read_depends` resolves through
/// another catalog stands for (its `Key` as text), as rows `(cls, obj,
/// key)`: a table's row type, index, default, check, view rule, trigger
/// or policy is the table; an array type is its element; a domain's check
/// is the domain; an operator class or family member is the class or
/// family.
const RESOLVED: &str = "\
    SELECT 'pg_catalog.pg_class'::pg_catalog.regclass AS cls, c.oid AS obj, \
           CASE WHEN c.relkind = 'c' THEN 't' || c.reltype \
                WHEN c.relkind IN ('i', 'I') THEN 'c' || x.indrelid ELSE 'c' || c.oid END AS key \
      FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_index x ON x.indexrelid = c.oid \
    UNION ALL SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid, \
           CASE WHEN r.relkind IS NOT NULL AND r.relkind <> 'c' THEN 'c' || r.oid \
                ELSE 't' || coalesce(e.oid, t.oid) END \
      FROM pg_catalog.pg_type t \
      LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND e.typarray = t.oid \
      LEFT JOIN pg_catalog.pg_class r ON r.oid = coalesce(e.typrelid, t.typrelid) \
    UNION ALL SELECT DISTINCT ON (m.classid, m.objid) m.classid, m.objid, \
           CASE WHEN m.refclassid = 'pg_catalog.pg_opclass'::pg_catalog.regclass THEN 'C' ELSE 'F' END \
           || m.refobjid \
      FROM pg_catalog.pg_depend m \
     WHERE m.classid IN ('pg_catalog.pg_amop'::pg_catalog.regclass, 'pg_catalog.pg_amproc'::pg_catalog.regclass) \
       AND m.refclassid IN ('pg_catalog.pg_opclass'::pg_catalog.regclass, 'pg_catalog.pg_opfamily'::pg_catalog.regclass) \
    UNION ALL SELECT 'pg_catalog.pg_attrdef'::pg_catalog.regclass, oid, 'c' || adrelid \
      FROM pg_catalog.pg_attrdef \
    UNION ALL SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass, oid, \
           CASE WHEN conrelid <> 0 THEN 'c' || conrelid ELSE 't' || contypid END \
      FROM pg_catalog.pg_constraint WHERE contype <> 'f' \
    UNION ALL SELECT 'pg_catalog.pg_rewrite'::pg_catalog.regclass, oid, 'c' || ev_class \
      FROM pg_catalog.pg_rewrite WHERE rulename = '_RETURN' \
    UNION ALL SELECT 'pg_catalog.pg_trigger'::pg_catalog.regclass, oid, 'c' || tgrelid \
      FROM pg_catalog.pg_trigger \
    UNION ALL SELECT 'pg_catalog.pg_policy'::pg_catalog.regclass, oid, 'c' || polrelid \
      FROM pg_catalog.pg_policy";

async fn read_depends(c: &Client) -> Result<Depends> {
    // An object as the node that creates it (see RESOLVED), by joins (one
    // pass over each catalog) rather than subqueries per row: a schema of
    // thousands of objects has tens of thousands of dependencies.
    let named = |cls: &str, obj: &str, resolved: &str| {
        format!(
            "CASE {cls} \
               WHEN 'pg_catalog.pg_proc'::pg_catalog.regclass THEN 'f' || {obj} \
               WHEN 'pg_catalog.pg_cast'::pg_catalog.regclass THEN 'k' || {obj} \
               WHEN 'pg_catalog.pg_transform'::pg_catalog.regclass THEN 'X' || {obj} \
               WHEN 'pg_catalog.pg_operator'::pg_catalog.regclass THEN 'o' || {obj} \
               WHEN 'pg_catalog.pg_opclass'::pg_catalog.regclass THEN 'C' || {obj} \
               WHEN 'pg_catalog.pg_opfamily'::pg_catalog.regclass THEN 'F' || {obj} \
               WHEN 'pg_catalog.pg_foreign_server'::pg_catalog.regclass THEN 'S' || {obj} \
               WHEN 'pg_catalog.pg_foreign_data_wrapper'::pg_catalog.regclass THEN 'W' || {obj} \
               ELSE {resolved} END"
        )
    };
    let sql = format!(
        "WITH d AS (SELECT DISTINCT classid, objid, refclassid, refobjid FROM pg_catalog.pg_depend \
                     WHERE deptype = 'n' AND objid >= 16384 AND refobjid >= 16384), \
              r AS ({RESOLVED}) \
         SELECT DISTINCT {}, {} FROM d \
           LEFT JOIN r r1 ON r1.cls = d.classid AND r1.obj = d.objid \
           LEFT JOIN r r2 ON r2.cls = d.refclassid AND r2.obj = d.refobjid \
         UNION SELECT 'c' || inhrelid, 'c' || inhparent FROM pg_catalog.pg_inherits",
        named("d.classid", "d.objid", "r1.key"),
        named("d.refclassid", "d.refobjid", "r2.key")
    );
    let rows = c
        .query(&sql, &[])
        .await
        .pg_context(|| "reading dependencies".into())?;
    let edges = rows
        .iter()
        .filter_map(|r| {
            Some((
                parse_key(r.get::<_, Option<String>>(0)?.as_str())?,
                parse_key(r.get::<_, Option<String>>(1)?.as_str())?,
            ))
        })
        .collect();
    let ext_sql = format!(
        "WITH r AS ({RESOLVED}) \
         SELECT {}, e.extname::text FROM pg_catalog.pg_depend d \
           JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid \
           LEFT JOIN r r1 ON r1.cls = d.classid AND r1.obj = d.objid \
          WHERE d.deptype = 'e' AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass",
        named("d.classid", "d.objid", "r1.key")
    );
    let extension_of = keyed_names(c, &ext_sql, "reading extension members")
        .await?
        .into_iter()
        .collect();
    let uses_sql = format!(
        "WITH r AS ({RESOLVED}) \
         SELECT DISTINCT {}, e.extname::text FROM pg_catalog.pg_depend d \
           JOIN pg_catalog.pg_depend m ON m.classid = d.refclassid AND m.objid = d.refobjid \
                AND m.deptype = 'e' AND m.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass \
           JOIN pg_catalog.pg_extension e ON e.oid = m.refobjid \
           LEFT JOIN r r1 ON r1.cls = d.classid AND r1.obj = d.objid \
          WHERE d.deptype = 'n' AND d.objid >= 16384",
        named("d.classid", "d.objid", "r1.key")
    );
    let uses = keyed_names(c, &uses_sql, "reading what uses extensions").await?;
    // Text search configurations and dictionaries are not graph nodes:
    // what they use of an extension (unaccent's dictionary in a mapping,
    // a template) is asked apart, by their schema.
    let text_search_uses = c
        .query(
            "SELECT DISTINCT n.nspname::text, e.extname::text FROM pg_catalog.pg_depend d \
               JOIN pg_catalog.pg_depend m ON m.classid = d.refclassid AND m.objid = d.refobjid \
                    AND m.deptype = 'e' AND m.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass \
               JOIN pg_catalog.pg_extension e ON e.oid = m.refobjid \
               JOIN (SELECT 'pg_catalog.pg_ts_config'::pg_catalog.regclass AS cls, oid, cfgnamespace AS nsp \
                       FROM pg_catalog.pg_ts_config \
                     UNION ALL SELECT 'pg_catalog.pg_ts_dict'::pg_catalog.regclass, oid, dictnamespace \
                       FROM pg_catalog.pg_ts_dict) x ON x.cls = d.classid AND x.oid = d.objid \
               JOIN pg_catalog.pg_namespace n ON n.oid = x.nsp \
              WHERE d.deptype = 'n' AND d.objid >= 16384 \
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend z \
                                 WHERE z.classid = d.classid AND z.objid = d.objid AND z.deptype = 'e')",
            &[],
        )
        .await
        .pg_context(|| "reading what text search objects use of extensions".into())?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let extensions = c
        .query(
            "SELECT e.extname::text, n.nspname::text FROM pg_catalog.pg_extension e \
               JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace \
              WHERE e.extname <> 'plpgsql' ORDER BY 1",
            &[],
        )
        .await
        .pg_context(|| "reading extensions".into())?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    Ok(Depends {
        edges,
        extension_of,
        uses,
        text_search_uses,
        extensions,
    })
}

/// Names the objects outside the plan that `needs` lists, in target terms.
async fn describe_outside(
    c: &Client,
    needs: BTreeMap<Key, BTreeSet<String>>,
    m: &Mapper<'_>,
    selected: &[String],
) -> Result<Vec<Outside>> {
    if needs.is_empty() {
        return Ok(Vec::new());
    }
    let key_text = |k: &Key| match k {
        Key::Class(o) => format!("c{o}"),
        Key::Type(o) => format!("t{o}"),
        Key::Proc(o) => format!("f{o}"),
        Key::Cast(o) => format!("k{o}"),
        Key::Transform(o) => format!("X{o}"),
        Key::Operator(o) => format!("o{o}"),
        Key::OpClass(o) => format!("C{o}"),
        Key::OpFamily(o) => format!("F{o}"),
        Key::Server(o) => format!("S{o}"),
        Key::Wrapper(o) => format!("W{o}"),
    };
    let keys: Vec<String> = needs.keys().map(key_text).collect();
    let rows = c
        .query(
            "SELECT k, x.kind, x.name, coalesce(n.nspname::text, '') \
               FROM pg_catalog.unnest($1::text[]) AS k, \
                    LATERAL (SELECT pg_catalog.substr(k, 2)::pg_catalog.oid AS o) AS i, \
                    LATERAL ( \
                      SELECT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' \
                               WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' \
                               ELSE 'table' END, i.o::pg_catalog.regclass::text, c.relnamespace \
                        FROM pg_catalog.pg_class c WHERE c.oid = i.o AND pg_catalog.left(k, 1) = 'c' \
                      UNION ALL \
                      SELECT 'type', i.o::pg_catalog.regtype::text, t.typnamespace \
                        FROM pg_catalog.pg_type t WHERE t.oid = i.o AND pg_catalog.left(k, 1) = 't' \
                      UNION ALL \
                      SELECT 'function', i.o::pg_catalog.regprocedure::text, p.pronamespace \
                        FROM pg_catalog.pg_proc p WHERE p.oid = i.o AND pg_catalog.left(k, 1) = 'f' \
                      UNION ALL \
                      SELECT 'operator', i.o::pg_catalog.regoperator::text, p.oprnamespace \
                        FROM pg_catalog.pg_operator p WHERE p.oid = i.o AND pg_catalog.left(k, 1) = 'o' \
                      UNION ALL \
                      SELECT 'operator class', pg_catalog.format('%I.%I USING %I', xn.nspname, x.opcname, a.amname), x.opcnamespace \
                        FROM pg_catalog.pg_opclass x JOIN pg_catalog.pg_am a ON a.oid = x.opcmethod \
                        JOIN pg_catalog.pg_namespace xn ON xn.oid = x.opcnamespace \
                       WHERE x.oid = i.o AND pg_catalog.left(k, 1) = 'C' \
                      UNION ALL \
                      SELECT 'operator family', pg_catalog.format('%I.%I USING %I', xn.nspname, x.opfname, a.amname), x.opfnamespace \
                        FROM pg_catalog.pg_opfamily x JOIN pg_catalog.pg_am a ON a.oid = x.opfmethod \
                        JOIN pg_catalog.pg_namespace xn ON xn.oid = x.opfnamespace \
                       WHERE x.oid = i.o AND pg_catalog.left(k, 1) = 'F' \
                      UNION ALL \
                      SELECT 'server', pg_catalog.quote_ident(x.srvname), NULL \
                        FROM pg_catalog.pg_foreign_server x WHERE x.oid = i.o AND pg_catalog.left(k, 1) = 'S' \
                      UNION ALL \
                      SELECT 'foreign-data wrapper', pg_catalog.quote_ident(x.fdwname), NULL \
                        FROM pg_catalog.pg_foreign_data_wrapper x WHERE x.oid = i.o AND pg_catalog.left(k, 1) = 'W' \
                    ) AS x(kind, name, nsp) \
               LEFT JOIN pg_catalog.pg_namespace n ON n.oid = x.nsp",
            &[&keys],
        )
        .await
        .pg_context(|| "naming objects outside the selection".into())?;
    let mut by_key: HashMap<String, BTreeSet<String>> =
        needs.into_iter().map(|(k, v)| (key_text(&k), v)).collect();
    let mut out = Vec::new();
    for r in &rows {
        let (key, kind, name, schema): (String, String, String, String) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        // Renamed as the statements that name it are.
        out.push(Outside {
            kind,
            name: m.sql(&name),
            schema: m.schema(&schema).to_string(),
            in_selected_schema: selected.contains(&schema),
            needed_by: by_key
                .remove(&key)
                .unwrap_or_default()
                .into_iter()
                .collect(),
        });
    }
    Ok(out)
}

/// The (object, name) rows of a query whose first column is a key
/// (`c123`, `t45`, `f67`) and second a name; rows without a key are
/// skipped.
async fn keyed_names(c: &Client, sql: &str, what: &str) -> Result<Vec<(Key, String)>> {
    Ok(c.query(sql, &[])
        .await
        .pg_context(|| what.to_string())?
        .iter()
        .filter_map(|r| {
            Some((
                parse_key(r.get::<_, Option<String>>(0)?.as_str())?,
                r.get(1),
            ))
        })
        .collect())
}

fn parse_key(s: &str) -> Option<Key> {
    let (k, oid) = s.split_at(1);
    let oid: u32 = oid.parse().ok()?;
    match k {
        "c" => Some(Key::Class(oid)),
        "t" => Some(Key::Type(oid)),
        "f" => Some(Key::Proc(oid)),
        "k" => Some(Key::Cast(oid)),
        "X" => Some(Key::Transform(oid)),
        "o" => Some(Key::Operator(oid)),
        "C" => Some(Key::OpClass(oid)),
        "F" => Some(Key::OpFamily(oid)),
        "S" => Some(Key::Server(oid)),
        "W" => Some(Key::Wrapper(oid)),
        _ => None,
    }
}

const NOT_EXTENSION_MEMBER: &str = "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
    WHERE d.objid = {oid} AND d.classid = '{cat}'::pg_catalog.regclass AND d.deptype = 'e')";

pub(crate) fn not_member(oid: &str, cat: &str) -> String {
    NOT_EXTENSION_MEMBER
        .replace("{oid}", oid)
        .replace("{cat}", cat)
}

fn comment_stmt(what: &str, target: &str, comment: Option<String>) -> Option<Statement> {
    comment.map(|c| Statement {
        kind: Kind::Comment,
        part: None,
        large_object: None,
        slot: None,
        what: format!("comment on {what}"),
        sql: format!(
            "COMMENT ON {what_kw} {target} IS {}",
            quote_literal(&c),
            what_kw = what
        ),
    })
}

/// Types of the copied schemas as nodes. Returns the base types' keys
/// and their shells (`CREATE TYPE name`), which go first.
async fn read_types(
    c: &Client,
    schemas: &[String],
    m: &Mapper<'_>,
    nodes: &mut Vec<Node>,
    plan: &mut SchemaPlan,
) -> Result<(HashSet<Key>, Vec<(Key, Statement)>)> {
    let mut base = HashSet::new();
    let mut shells = Vec::new();
    let sql = format!(
        "SELECT t.oid, n.nspname::text, t.typname::text, t.typtype::text, \
                pg_catalog.obj_description(t.oid, 'pg_type'), \
                (SELECT pg_catalog.array_agg(e.enumlabel::text ORDER BY e.enumsortorder) \
                   FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid), \
                (SELECT pg_catalog.array_agg(a.attname::text ORDER BY a.attnum) \
                   FROM pg_catalog.pg_attribute a \
                  WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), \
                (SELECT pg_catalog.array_agg(pg_catalog.format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum) \
                   FROM pg_catalog.pg_attribute a \
                  WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), \
                (SELECT pg_catalog.json_agg(CASE WHEN a.attcollation <> at.typcollation AND a.attcollation <> 0 THEN \
                          pg_catalog.json_build_array(cn.nspname, co.collname) END \
                          ORDER BY a.attnum)::text \
                   FROM pg_catalog.pg_attribute a \
                   JOIN pg_catalog.pg_type at ON at.oid = a.atttypid \
                   LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation \
                   LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace \
                  WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), \
                pg_catalog.format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault, \
                (SELECT pg_catalog.array_agg(k.conname::text ORDER BY k.conname) \
                   FROM pg_catalog.pg_constraint k WHERE k.contypid = t.oid), \
                (SELECT pg_catalog.array_agg(pg_catalog.pg_get_constraintdef(k.oid) ORDER BY k.conname) \
                   FROM pg_catalog.pg_constraint k WHERE k.contypid = t.oid), \
                (SELECT pg_catalog.format_type(r.rngsubtype, NULL) FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid), \
                (SELECT r.rngsubdiff::pg_catalog.regproc::text FROM pg_catalog.pg_range r \
                  WHERE r.rngtypid = t.oid AND r.rngsubdiff <> 0), \
                CASE WHEN t.typcollation <> 0 AND t.typcollation <> bt.typcollation THEN \
                  (SELECT ARRAY[cn.nspname::text, co.collname::text] \
                     FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace \
                    WHERE co.oid = t.typcollation) END, \
                t.typisdefined, {{BASE_TYPE_FIELDS}} \
           FROM pg_catalog.pg_type t \
           JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
           LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype \
           LEFT JOIN pg_catalog.pg_class rc ON rc.oid = t.typrelid \
          WHERE n.nspname = ANY($1) AND (t.typrelid = 0 OR rc.relkind = 'c') \
            AND NOT (t.typtype = 'b' AND t.typelem <> 0 AND EXISTS ( \
                 SELECT 1 FROM pg_catalog.pg_type e WHERE e.oid = t.typelem AND e.typarray = t.oid)) \
            AND t.typtype <> 'm' AND {} \
          ORDER BY 2, 3",
        not_member("t.oid", "pg_catalog.pg_type")
    )
    .replace(
        "{BASE_TYPE_FIELDS}",
        &BASE_TYPE_FIELDS.replace(
            "{SUBSCRIPT}",
            if super::has_column(c, "pg_catalog.pg_type", "typsubscript").await {
                "CASE WHEN t.typsubscript <> 0 AND t.typsubscript::pg_catalog.regproc::text \
                        <> 'raw_array_subscript_handler' \
                      THEN t.typsubscript::pg_catalog.regproc::text END"
            } else {
                "NULL::text"
            },
        ),
    );
    for r in c
        .query(&sql, &[&schemas])
        .await
        .pg_context(|| "reading types".into())?
    {
        let oid: u32 = r.get(0);
        let name = QualName::new(r.get::<_, String>(1), r.get::<_, String>(2));
        let list = |i: usize| r.get::<_, Option<Vec<String>>>(i).unwrap_or_default();
        let body = match r.get::<_, String>(3).as_str() {
            "e" => TypeBody::Enum { labels: list(5) },
            "c" => {
                let collations: Vec<Option<(String, String)>> = r
                    .get::<_, Option<String>>(8)
                    .map(|j| serde_json::from_str(&j))
                    .transpose()
                    .map_err(|e| anyhow!("reading the collations of type {name}: {e}"))?
                    .unwrap_or_default();
                TypeBody::Composite {
                    attributes: list(6)
                        .into_iter()
                        .zip(list(7))
                        .zip(collations)
                        .map(|((name, type_name), collation)| Attribute {
                            name,
                            type_name,
                            collation: collation.map(|(s, n)| QualName::new(s, n)),
                        })
                        .collect(),
                }
            }
            "d" => TypeBody::Domain {
                base: r.get(9),
                collation: collation_name(r.get(16)),
                default: r.get(11),
                not_null: r.get(10),
                checks: list(12).into_iter().zip(list(13)).collect(),
            },
            "r" => {
                let Some(subtype) = r.get::<_, Option<String>>(14) else {
                    continue;
                };
                TypeBody::Range {
                    subtype,
                    subtype_diff: r.get(15),
                }
            }
            // A base type: its shell first (its functions take and
            // return it), its definition once they exist.
            "b" => {
                let Some(fields) = r.get::<_, Option<String>>(18) else {
                    continue;
                };
                TypeBody::Base(serde_json::from_str(&fields).map_err(|e| {
                    anyhow!("reading type {name}: the source sent an unreadable definition: {e}")
                })?)
            }
            "p" if !r.get::<_, bool>(17) => TypeBody::Shell,
            _ => {
                plan.warnings.push(format!(
                    "type {name} is a pseudo type; pgbarge cannot recreate it (create it on the target first)"
                ));
                continue;
            }
        };
        let def = TypeDef {
            name: name.clone(),
            body,
            comment: r.get(4),
        };
        if let Some(shell) = shell_of(&def, m) {
            base.insert(Key::Type(oid));
            shells.push((Key::Type(oid), shell));
        }
        let target = m.q(&name);
        let kw = def.keyword();
        let stmts = render_type(&def, m);
        let created = Some(Created {
            kind: ObjectKind::Type,
            name: m.name(&name),
            args: None,
        });
        nodes.push(Node {
            key: Key::Type(oid),
            created,
            rank: 0,
            label: name.to_string(),
            stmts,
            kw,
            target,
            placeholder: None,
            later: Vec::new(),
        });
    }
    Ok((base, shells))
}

async fn read_functions(
    c: &Client,
    o: &Options<'_>,
    schemas: &[String],
    m: &Mapper<'_>,
    nodes: &mut Vec<Node>,
    plan: &mut SchemaPlan,
) -> Result<()> {
    let sql = format!(
        "SELECT p.oid, n.nspname::text, p.proname::text, p.prokind::text, \
                CASE WHEN p.prokind IN ('f', 'p', 'w') THEN pg_catalog.pg_get_functiondef(p.oid) \
                     WHEN p.prokind = 'a' THEN ({AGGREGATE_FIELDS}) END, \
                pg_catalog.pg_get_function_identity_arguments(p.oid), \
                pg_catalog.obj_description(p.oid, 'pg_proc'), p.prosrc, l.lanname::text, \
                {}, pg_catalog.oidvectortypes(p.proargtypes) \
           FROM pg_catalog.pg_proc p \
           JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
           JOIN pg_catalog.pg_language l ON l.oid = p.prolang \
          WHERE n.nspname = ANY($1) AND {} \
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i WHERE i.objid = p.oid \
                 AND i.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND i.deptype = 'i') \
          ORDER BY 2, 3, 6",
        if super::has_column(c, "pg_catalog.pg_proc", "prosqlbody").await {
            "p.prosqlbody IS NOT NULL"
        } else {
            "false"
        },
        not_member("p.oid", "pg_catalog.pg_proc")
    )
    .replace("{AGGREGATE_FIELDS}", AGGREGATE_FIELDS);
    for r in c
        .query(&sql, &[&schemas])
        .await
        .pg_context(|| "reading functions".into())?
    {
        let oid: u32 = r.get(0);
        let name = QualName::new(r.get::<_, String>(1), r.get::<_, String>(2));
        let args: String = r.get(5);
        let label = format!("{name}({args})");
        let Some(def) = r.get::<_, Option<String>>(4) else {
            continue;
        };
        let sqlbody: bool = r.get(9);
        let lang: String = r.get(8);
        let kind: String = r.get(3);
        let mut sql = if kind == "a" {
            let mut a: routine::AggregateDef = serde_json::from_str(&def).map_err(|e| {
                anyhow!("reading aggregate {label}: the source sent an unreadable definition: {e}")
            })?;
            a.name = name.clone();
            routine::render_aggregate(&a, m)
        } else {
            m.sql(&def)
        };
        if !sqlbody && !m.map.is_empty() && matches!(lang.as_str(), "sql" | "plpgsql") {
            let src: String = r.get(7);
            let mentioned = lexer::mentioned_schemas(&src, &m.map);
            if !mentioned.is_empty() {
                if o.rewrite_function_bodies {
                    sql = lexer::rename_in_bodies(&sql, &m.map);
                    plan.warnings.push(format!(
                        "function {label}: body rewritten for the schema map ({}) as --rewrite-function-bodies asked",
                        mentioned.join(", ")
                    ));
                } else {
                    plan.warnings.push(format!(
                        "function {label}: its body mentions schema {} which is mapped; the body is \
                         copied unchanged (pass --rewrite-function-bodies to rename inside bodies)",
                        mentioned.join(", ")
                    ));
                }
            }
        }
        let kw = match kind.as_str() {
            "p" => "PROCEDURE",
            "a" => "AGGREGATE",
            _ => "FUNCTION",
        };
        // An aggregate of no arguments is `agg(*)` to ALTER and COMMENT.
        let sig_args = if kw == "AGGREGATE" && args.is_empty() {
            "*".to_string()
        } else {
            m.sql(&args)
        };
        let target_sig = format!("{}({sig_args})", m.q(&name));
        let mut stmts = vec![Statement {
            kind: Kind::Function,
            part: None,
            large_object: None,
            slot: None,
            what: format!("function {label}"),
            sql,
        }];
        stmts.extend(comment_stmt(kw, &target_sig, r.get(6)));
        let created = Some(Created {
            kind: ObjectKind::Function,
            name: m.name(&name),
            // Argument types only (no names, an ordered-set aggregate's
            // in the function form): what to_regprocedure parses, and
            // what tells routines apart.
            args: Some(m.sql(&r.get::<_, String>(10))),
        });
        nodes.push(Node {
            key: Key::Proc(oid),
            created,
            rank: 1,
            label,
            stmts,
            kw,
            target: target_sig,
            placeholder: None,
            later: Vec::new(),
        });
    }
    Ok(())
}

/// Whether `name` is an operator name: one or more of the characters
/// PostgreSQL allows in one, without the start of a comment (it cannot be
/// quoted, so nothing else may be spliced where it goes).
pub(crate) fn operator_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| "+-*/<>=~!@#%^&|`?".contains(c))
        && !name.contains("--")
        && !name.contains("/*")
}

/// A collation read as `ARRAY[schema, name]`: pgbarge maps and quotes it.
fn collation_name(pair: Option<Vec<String>>) -> Option<QualName> {
    match pair?.as_slice() {
        [schema, name] => Some(QualName::new(schema.clone(), name.clone())),
        _ => None,
    }
}

/// User-defined casts (not those a range type makes for its multirange)
/// whose function, source type or target type lives in a selected
/// schema (pg_dump takes casts only in whole-database dumps; a schema's
/// types and functions lose their meaning without them). They are nodes
/// of the graph: a view or default that relies on one comes after it.
async fn read_casts(
    c: &Client,
    o: &Options<'_>,
    schemas: &[String],
    m: &Mapper<'_>,
    nodes: &mut Vec<Node>,
) -> Result<()> {
    if o.tables_only {
        return Ok(());
    }
    let sql = format!(
        "SELECT k.oid, pg_catalog.format_type(k.castsource, NULL), pg_catalog.format_type(k.casttarget, NULL), \
                k.castmethod::text, k.castcontext::text, \
                CASE WHEN k.castfunc <> 0 THEN k.castfunc::pg_catalog.regprocedure::text END, \
                pg_catalog.obj_description(k.oid, 'pg_cast') \
           FROM pg_catalog.pg_cast k \
          WHERE k.oid >= 16384 AND {} \
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i \
                 WHERE i.classid = 'pg_catalog.pg_cast'::pg_catalog.regclass AND i.objid = k.oid \
                   AND i.deptype = 'i') \
            AND (EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
                          WHERE p.oid = k.castfunc AND n.nspname = ANY($1)) \
                 OR EXISTS (SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
                             WHERE t.oid IN (k.castsource, k.casttarget) AND n.nspname = ANY($1))) \
          ORDER BY 2, 3",
        not_member("k.oid", "pg_catalog.pg_cast")
    );
    for r in c
        .query(&sql, &[&schemas])
        .await
        .pg_context(|| "reading casts".into())?
    {
        let oid: u32 = r.get(0);
        let (from, to) = (m.sql(&r.get::<_, String>(1)), m.sql(&r.get::<_, String>(2)));
        let how = match (
            r.get::<_, String>(3).as_str(),
            r.get::<_, Option<String>>(5),
        ) {
            ("f", Some(f)) => format!("WITH FUNCTION {}", m.sql(&f)),
            ("i", _) => "WITH INOUT".to_string(),
            _ => "WITHOUT FUNCTION".to_string(),
        };
        let context = match r.get::<_, String>(4).as_str() {
            "a" => " AS ASSIGNMENT",
            "i" => " AS IMPLICIT",
            _ => "",
        };
        let target = format!("({from} AS {to})");
        let label = format!("cast {target}");
        let mut stmts = vec![Statement {
            kind: Kind::Cast,
            part: None,
            large_object: None,
            slot: None,
            what: label.clone(),
            sql: format!("CREATE CAST {target} {how}{context}"),
        }];
        stmts.extend(comment_stmt("CAST", &target, r.get(6)));
        // A cast has no schema: its two types stand in for the name.
        let created = Some(Created {
            kind: ObjectKind::Cast,
            name: QualName::new(from, to),
            args: None,
        });
        nodes.push(Node {
            key: Key::Cast(oid),
            created,
            rank: 1,
            label,
            stmts,
            kw: "CAST",
            target,
            placeholder: None,
            later: Vec::new(),
        });
    }
    Ok(())
}

/// Transforms whose type or functions are in the copied schemas, as
/// casts are taken (pg_dump takes them only in whole-database dumps). A
/// transform's functions each take one `internal`; read as two names,
/// mapped and quoted by pgbarge. Nodes of the graph: after their
/// functions and type.
async fn read_transforms(
    c: &Client,
    o: &Options<'_>,
    schemas: &[String],
    m: &Mapper<'_>,
    nodes: &mut Vec<Node>,
) -> Result<()> {
    if o.tables_only {
        return Ok(());
    }
    let sql = format!(
        "SELECT x.oid, pg_catalog.format_type(x.trftype, NULL), l.lanname::text, \
                fn.nspname::text, f.proname::text, tn.nspname::text, t.proname::text, \
                pg_catalog.obj_description(x.oid, 'pg_transform') \
           FROM pg_catalog.pg_transform x \
           JOIN pg_catalog.pg_language l ON l.oid = x.trflang \
           LEFT JOIN pg_catalog.pg_proc f ON f.oid = x.trffromsql \
           LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = f.pronamespace \
           LEFT JOIN pg_catalog.pg_proc t ON t.oid = x.trftosql \
           LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = t.pronamespace \
          WHERE x.oid >= 16384 AND {} \
            AND (fn.nspname = ANY($1) OR tn.nspname = ANY($1) \
                 OR EXISTS (SELECT 1 FROM pg_catalog.pg_type ty \
                              JOIN pg_catalog.pg_namespace n ON n.oid = ty.typnamespace \
                             WHERE ty.oid = x.trftype AND n.nspname = ANY($1))) \
          ORDER BY 2, 3",
        not_member("x.oid", "pg_catalog.pg_transform")
    );
    for r in c
        .query(&sql, &[&schemas])
        .await
        .pg_context(|| "reading transforms".into())?
    {
        let oid: u32 = r.get(0);
        let type_name = m.sql(&r.get::<_, String>(1));
        let language: String = r.get(2);
        let function = |i: usize, dir: &str| {
            let schema = r.get::<_, Option<String>>(i)?;
            let name = r.get::<_, Option<String>>(i + 1)?;
            Some(format!(
                "{dir} SQL WITH FUNCTION {}(internal)",
                m.q(&QualName::new(schema, name))
            ))
        };
        let parts: Vec<String> = [function(3, "FROM"), function(5, "TO")]
            .into_iter()
            .flatten()
            .collect();
        let target = format!("FOR {type_name} LANGUAGE {}", quote_ident(&language));
        let label = format!("transform {target}");
        let mut stmts = vec![Statement::new(
            Kind::Transform,
            label.clone(),
            format!("CREATE TRANSFORM {target} ({})", parts.join(", ")),
        )];
        stmts.extend(comment_stmt("TRANSFORM", &target, r.get(7)));
        nodes.push(Node {
            key: Key::Transform(oid),
            created: Some(Created {
                kind: ObjectKind::Transform,
                name: QualName::new(type_name, language),
                args: None,
            }),
            rank: 1,
            label,
            stmts,
            kw: "TRANSFORM",
            target,
            placeholder: None,
            later: Vec::new(),
        });
    }
    Ok(())
}

/// An aggregate's fields for [`routine::AggregateDef`], as one JSON
/// object (the server has no `pg_get_aggregatedef`). Function names print
/// qualified unless they are in pg_catalog (the session's search_path is
/// empty).
const AGGREGATE_FIELDS: &str = "SELECT pg_catalog.json_build_object( \
    'args', CASE WHEN p.pronargs = 0 THEN '' ELSE pg_catalog.pg_get_function_identity_arguments(p.oid) END, \
    'sfunc', a.aggtransfn::pg_catalog.regproc::text, \
    'stype', pg_catalog.format_type(a.aggtranstype, NULL), \
    'sspace', a.aggtransspace, \
    'finalfunc', CASE WHEN a.aggfinalfn <> 0 THEN a.aggfinalfn::pg_catalog.regproc::text END, \
    'finalfunc_extra', a.aggfinalextra, 'finalfunc_modify', a.aggfinalmodify::text, \
    'combinefunc', CASE WHEN a.aggcombinefn <> 0 THEN a.aggcombinefn::pg_catalog.regproc::text END, \
    'serialfunc', CASE WHEN a.aggserialfn <> 0 THEN a.aggserialfn::pg_catalog.regproc::text END, \
    'deserialfunc', CASE WHEN a.aggdeserialfn <> 0 THEN a.aggdeserialfn::pg_catalog.regproc::text END, \
    'initcond', a.agginitval, \
    'msfunc', CASE WHEN a.aggmtransfn <> 0 THEN a.aggmtransfn::pg_catalog.regproc::text END, \
    'minvfunc', CASE WHEN a.aggminvtransfn <> 0 THEN a.aggminvtransfn::pg_catalog.regproc::text END, \
    'mstype', CASE WHEN a.aggmtranstype <> 0 THEN pg_catalog.format_type(a.aggmtranstype, NULL) END, \
    'msspace', a.aggmtransspace, \
    'mfinalfunc', CASE WHEN a.aggmfinalfn <> 0 THEN a.aggmfinalfn::pg_catalog.regproc::text END, \
    'mfinalfunc_extra', a.aggmfinalextra, 'mfinalfunc_modify', a.aggmfinalmodify::text, \
    'minitcond', a.aggminitval, \
    'sortop_schema', sn.nspname::text, 'sortop', so.oprname::text, \
    'parallel', p.proparallel::text, 'hypothetical', a.aggkind = 'h')::text \
    FROM pg_catalog.pg_aggregate a \
    LEFT JOIN pg_catalog.pg_operator so ON so.oid = a.aggsortop \
    LEFT JOIN pg_catalog.pg_namespace sn ON sn.oid = so.oprnamespace \
    WHERE a.aggfnoid = p.oid";

/// A base type's fields for [`crate::ddl::model::BaseType`], as one JSON object; NULL for
/// other types. `{SUBSCRIPT}` is its SUBSCRIPT function where the server
/// has one (14+) and it is not the arrays' default.
const BASE_TYPE_FIELDS: &str = "CASE WHEN t.typtype = 'b' THEN pg_catalog.json_build_object( \
    'input', t.typinput::pg_catalog.regproc::text, 'output', t.typoutput::pg_catalog.regproc::text, \
    'receive', CASE WHEN t.typreceive <> 0 THEN t.typreceive::pg_catalog.regproc::text END, \
    'send', CASE WHEN t.typsend <> 0 THEN t.typsend::pg_catalog.regproc::text END, \
    'typmod_in', CASE WHEN t.typmodin <> 0 THEN t.typmodin::pg_catalog.regproc::text END, \
    'typmod_out', CASE WHEN t.typmodout <> 0 THEN t.typmodout::pg_catalog.regproc::text END, \
    'analyze', CASE WHEN t.typanalyze <> 0 THEN t.typanalyze::pg_catalog.regproc::text END, \
    'subscript', {SUBSCRIPT}, \
    'length', t.typlen, 'by_value', t.typbyval, \
    'align', t.typalign::text, 'storage', t.typstorage::text, \
    'category', t.typcategory::text, 'preferred', t.typispreferred, \
    'default', t.typdefault, \
    'element', CASE WHEN t.typelem <> 0 THEN pg_catalog.format_type(t.typelem, NULL) END, \
    'delimiter', t.typdelim::text, 'collatable', t.typcollation <> 0)::text \
  END";

/// A sequence's options; `typ` (`AS ..`) only for a sequence of its own
/// (an identity column's takes its column's type).
fn seq_options(
    typ: Option<&str>,
    start: i64,
    inc: i64,
    min: i64,
    max: i64,
    cache: i64,
    cycle: bool,
) -> String {
    format!(
        "{}START WITH {start} INCREMENT BY {inc} MINVALUE {min} MAXVALUE {max} CACHE {cache}{}",
        typ.map_or(String::new(), |t| format!("AS {t} ")),
        if cycle { " CYCLE" } else { " NO CYCLE" }
    )
}

async fn read_sequences(
    c: &Client,
    o: &Options<'_>,
    schemas: &[String],
    m: &Mapper<'_>,
    nodes: &mut Vec<Node>,
    plan: &mut SchemaPlan,
) -> Result<()> {
    let sql = format!(
        "SELECT c.oid, n.nspname::text, c.relname::text, pg_catalog.format_type(s.seqtypid, NULL), \
                s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle, \
                pg_catalog.obj_description(c.oid, 'pg_class'), \
                (SELECT ARRAY[tn.nspname::text, t.relname::text, a.attname::text] \
                   FROM pg_catalog.pg_depend d \
                   JOIN pg_catalog.pg_class t ON t.oid = d.refobjid \
                   JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace \
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid \
                  WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid \
                    AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'a' \
                  LIMIT 1), \
                tn.nspname::text, t.relname::text, c.relpersistence = 'u' \
           FROM pg_catalog.pg_class c \
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
           JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid \
           LEFT JOIN pg_catalog.pg_depend od ON od.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                AND od.objid = c.oid AND od.deptype IN ('a', 'i') \
                AND od.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass \
           LEFT JOIN pg_catalog.pg_class t ON t.oid = od.refobjid \
           LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace \
          WHERE c.relkind = 'S' AND n.nspname = ANY($1) AND {} \
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i WHERE i.objid = c.oid \
                 AND i.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND i.deptype = 'i') \
          ORDER BY 2, 3",
        not_member("c.oid", "pg_catalog.pg_class")
    );
    let selected: HashSet<&QualName> = o.tables.iter().collect();
    for r in c
        .query(&sql, &[&schemas])
        .await
        .pg_context(|| "reading sequences".into())?
    {
        let oid: u32 = r.get(0);
        let name = QualName::new(r.get::<_, String>(1), r.get::<_, String>(2));
        let owner_table = match (
            r.get::<_, Option<String>>(12),
            r.get::<_, Option<String>>(13),
        ) {
            (Some(s), Some(t)) => Some(QualName::new(s, t)),
            _ => None,
        };
        // A sequence owned by a table that is not copied stays behind.
        if owner_table.as_ref().is_some_and(|t| !selected.contains(t)) {
            continue;
        }
        let target = m.q(&name);
        let opts = seq_options(
            Some(&r.get::<_, String>(3)),
            r.get(4),
            r.get(5),
            r.get(6),
            r.get(7),
            r.get(8),
            r.get(9),
        );
        let mut stmts = vec![Statement {
            kind: Kind::Sequence,
            part: None,
            large_object: None,
            slot: None,
            what: format!("sequence {name}"),
            sql: format!(
                "CREATE {}SEQUENCE {target} {opts}",
                if r.get::<_, bool>(14) {
                    "UNLOGGED "
                } else {
                    ""
                }
            ),
        }];
        stmts.extend(comment_stmt("SEQUENCE", &target, r.get(10)));
        // The column that owns it: schema, table and column names.
        if let Some([schema, table, column]) = r.get::<_, Option<Vec<String>>>(11).as_deref() {
            let table = m.q(&QualName::new(schema.clone(), table.clone()));
            plan.post.push(Statement::new(
                Kind::SequenceOwnership,
                format!("ownership of sequence {name}"),
                format!(
                    "ALTER SEQUENCE {target} OWNED BY {table}.{}",
                    quote_ident(column)
                ),
            ));
        }
        plan.sequences.push((name.clone(), m.name(&name)));
        let created = Some(Created {
            kind: ObjectKind::Sequence,
            name: m.name(&name),
            args: None,
        });
        nodes.push(Node {
            key: Key::Class(oid),
            created,
            rank: 2,
            label: name.to_string(),
            stmts,
            kw: "SEQUENCE",
            target,
            placeholder: None,
            later: Vec::new(),
        });
    }
    Ok(())
}

async fn read_tables(
    c: &Client,
    o: &Options<'_>,
    m: &Mapper<'_>,
    nodes: &mut Vec<Node>,
    plan: &mut SchemaPlan,
) -> Result<()> {
    let names: Vec<String> = o.tables.iter().map(|t| t.quoted()).collect();
    let rows = c
        .query(
            "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text, c.relpersistence = 'u', \
                    CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END, \
                    CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END, \
                    coalesce(c.reloptions, '{}'), pg_catalog.obj_description(c.oid, 'pg_class'), \
                    c.relrowsecurity, c.relforcerowsecurity, \
                    (SELECT pg_catalog.array_agg(pn.nspname::text || '.' || p.relname::text ORDER BY i.inhseqno) \
                       FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p ON p.oid = i.inhparent \
                       JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid), \
                    (SELECT pg_catalog.array_agg(pn.nspname::text ORDER BY i.inhseqno) \
                       FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p ON p.oid = i.inhparent \
                       JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid), \
                    (SELECT pg_catalog.array_agg(p.relname::text ORDER BY i.inhseqno) \
                       FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p ON p.oid = i.inhparent \
                      WHERE i.inhrelid = c.oid), \
                    c.relispartition, \
                    CASE c.relreplident WHEN 'f' THEN 'FULL' WHEN 'n' THEN 'NOTHING' \
                      WHEN 'i' THEN (SELECT 'USING INDEX ' || pg_catalog.quote_ident(ic.relname) \
                                       FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class ic ON ic.oid = x.indexrelid \
                                      WHERE x.indrelid = c.oid AND x.indisreplident) END, \
                    (SELECT a.amname::text FROM pg_catalog.pg_am a \
                      WHERE a.oid = c.relam AND a.amname <> 'heap') \
               FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
              WHERE c.oid IN (SELECT pg_catalog.unnest($1::text[])::pg_catalog.regclass) \
              ORDER BY 2, 3",
            &[&names],
        )
        .await
        .pg_context(|| "reading table definitions".into())?;
    let oids: Vec<u32> = rows.iter().map(|r| r.get(0)).collect();
    // Column compression came with PostgreSQL 14.
    let compression = if super::has_column(c, "pg_catalog.pg_attribute", "attcompression").await {
        "CASE a.attcompression WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' END"
    } else {
        "NULL::text"
    };
    let cols = c
        .query(
            &"SELECT a.attrelid, a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), \
                    a.attnotnull, \
                    CASE WHEN a.attgenerated = '' AND a.attidentity = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END, \
                    nullif(a.attidentity, '')::text, \
                    CASE WHEN a.attgenerated <> '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END, \
                    CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN \
                      (SELECT ARRAY[cn.nspname::text, co.collname::text] \
                         FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace \
                        WHERE co.oid = a.attcollation) END, \
                    pg_catalog.col_description(a.attrelid, a.attnum), a.attislocal, \
                    idn.seq_schema, idn.seq_name, idn.seqstart, idn.seqincrement, idn.seqmin, \
                    idn.seqmax, idn.seqcache, idn.seqcycle, \
                    CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::text END, \
                    CASE WHEN a.attstattarget >= 0 THEN a.attstattarget::int4 END, \
                    {COMPRESSION}, coalesce(a.attoptions, '{}') \
               FROM pg_catalog.pg_attribute a \
               JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
               LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
               LEFT JOIN LATERAL (SELECT sn.nspname::text AS seq_schema, sc.relname::text AS seq_name, \
                                         s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle \
                    FROM pg_catalog.pg_depend dd \
                    JOIN pg_catalog.pg_class sc ON sc.oid = dd.objid \
                    JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace \
                    JOIN pg_catalog.pg_sequence s ON s.seqrelid = sc.oid \
                   WHERE a.attidentity <> '' AND dd.refobjid = a.attrelid AND dd.refobjsubid = a.attnum \
                     AND dd.deptype = 'i' AND dd.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                     AND dd.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                   LIMIT 1) idn ON true \
              WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped \
              ORDER BY a.attrelid, a.attnum"
                .replace("{COMPRESSION}", compression),
            &[&oids],
        )
        .await
        .pg_context(|| "reading columns".into())?;
    let mut by_table: HashMap<u32, Vec<Column>> = HashMap::new();
    for r in &cols {
        // An identity column's sequence: its name and options.
        let mut identity_options = String::new();
        if let (Some(s), Some(n)) = (
            r.get::<_, Option<String>>(10),
            r.get::<_, Option<String>>(11),
        ) {
            let seq = QualName::new(s, n);
            identity_options = format!(
                "SEQUENCE NAME {} {}",
                m.q(&seq),
                seq_options(
                    None,
                    r.get(12),
                    r.get(13),
                    r.get(14),
                    r.get(15),
                    r.get(16),
                    r.get(17)
                )
            );
            plan.sequences.push((seq.clone(), m.name(&seq)));
        }
        by_table.entry(r.get(0)).or_default().push(Column {
            name: r.get(1),
            type_name: r.get(2),
            not_null: r.get(3),
            default: r.get(4),
            identity: r.get::<_, Option<String>>(5).and_then(|s| s.chars().next()),
            identity_options,
            generated: r.get(6),
            collation: collation_name(r.get(7)),
            comment: r.get(8),
            local: r.get(9),
            storage: r
                .get::<_, Option<String>>(18)
                .and_then(|s| s.chars().next()),
            statistics: r.get(19),
            compression: r.get(20),
            options: r.get(21),
        });
    }
    let checks = c
        .query(
            "SELECT conrelid, conname::text, pg_catalog.pg_get_constraintdef(oid), convalidated, \
                    pg_catalog.obj_description(oid, 'pg_constraint') \
               FROM pg_catalog.pg_constraint \
              WHERE contype = 'c' AND conislocal AND conrelid = ANY($1) ORDER BY conrelid, conname",
            &[&oids],
        )
        .await
        .pg_context(|| "reading check constraints".into())?;
    for r in rows {
        let oid: u32 = r.get(0);
        let name = QualName::new(r.get::<_, String>(1), r.get::<_, String>(2));
        let target = m.q(&name);
        let is_partition: bool = r.get(14);
        let parents: Vec<QualName> = r
            .get::<_, Option<Vec<String>>>(12)
            .unwrap_or_default()
            .into_iter()
            .zip(r.get::<_, Option<Vec<String>>>(13).unwrap_or_default())
            .map(|(s, n)| QualName::new(s, n))
            .collect();
        let mut def = TableDef {
            name: name.clone(),
            unlogged: r.get(4),
            columns: by_table.remove(&oid).unwrap_or_default(),
            partition_key: r.get(5),
            partition_of: None,
            inherits: Vec::new(),
            options: r.get(7),
            checks: Vec::new(),
            comment: r.get(8),
            rls: r.get(9),
            force_rls: r.get(10),
            access_method: r.get(16),
        };
        if is_partition {
            if let (Some(p), Some(bound)) = (parents.first(), r.get::<_, Option<String>>(6)) {
                def.partition_of = Some((p.clone(), bound));
            }
        } else {
            def.inherits = parents.clone();
        }
        let mut post_checks = Vec::new();
        for k in checks.iter().filter(|k| k.get::<_, u32>(0) == oid) {
            let cname: String = k.get(1);
            let cdef: String = k.get(2);
            if k.get::<_, bool>(3) {
                def.checks.push((cname.clone(), cdef));
            } else {
                post_checks.push(Statement {
                    kind: Kind::Constraint,
                    part: part(&cname, m.name(&name)),
                    large_object: None,
                    slot: None,
                    what: format!("constraint {cname} on {name}"),
                    sql: format!(
                        "ALTER TABLE {target} ADD CONSTRAINT {} {}",
                        quote_ident(&cname),
                        m.sql(&cdef)
                    ),
                });
            }
            if let Some(cm) = k.get::<_, Option<String>>(4) {
                post_checks.push(Statement {
                    kind: Kind::Comment,
                    part: part(&cname, m.name(&name)),
                    large_object: None,
                    slot: None,
                    what: format!("comment on constraint {cname}"),
                    sql: format!(
                        "COMMENT ON CONSTRAINT {} ON {target} IS {}",
                        quote_ident(&cname),
                        quote_literal(&cm)
                    ),
                });
            }
        }
        plan.post.extend(post_checks);
        if def.rls {
            plan.post.push(Statement {
                kind: Kind::RowSecurity,
                part: None,
                large_object: None,
                slot: None,
                what: format!("row level security on {name}"),
                sql: format!("ALTER TABLE {target} ENABLE ROW LEVEL SECURITY"),
            });
        }
        if def.force_rls {
            plan.post.push(Statement {
                kind: Kind::RowSecurity,
                part: None,
                large_object: None,
                slot: None,
                what: format!("row level security on {name}"),
                sql: format!("ALTER TABLE {target} FORCE ROW LEVEL SECURITY"),
            });
        }
        // A replica identity other than the default (logical replication
        // and publications depend on it); USING INDEX needs the index, so
        // after the indexes. Partitioned tables keep the default.
        if let Some(identity) = r
            .get::<_, Option<String>>(15)
            .filter(|_| r.get::<_, String>(3) != "p")
        {
            plan.post.push(Statement {
                kind: Kind::ReplicaIdentity,
                part: None,
                large_object: None,
                slot: None,
                what: format!("replica identity of {name}"),
                sql: format!("ALTER TABLE ONLY {target} REPLICA IDENTITY {identity}"),
            });
        }
        let stmts = render_table(&def, m)
            .into_iter()
            .map(|sql| Statement {
                kind: Kind::Table,
                part: None,
                large_object: None,
                slot: None,
                what: format!("table {name}"),
                sql,
            })
            .collect();
        let created = Some(Created {
            kind: ObjectKind::Table,
            name: m.name(&name),
            args: None,
        });
        nodes.push(Node {
            key: Key::Class(oid),
            created,
            rank: 3,
            label: name.to_string(),
            stmts,
            kw: "TABLE",
            target,
            placeholder: None,
            later: Vec::new(),
        });
    }
    read_table_post(c, &oids, m, plan).await?;
    Ok(())
}

/// The schema and name in columns `schema` and `name` of a row, when
/// both are there.
fn qual_name(r: &tokio_postgres::Row, schema: usize, name: usize) -> Option<QualName> {
    Some(QualName::new(
        r.get::<_, Option<String>>(schema)?,
        r.get::<_, Option<String>>(name)?,
    ))
}

/// Keys, indexes, foreign keys, triggers, rules and policies of the
/// selected tables.
async fn read_table_post(
    c: &Client,
    oids: &[u32],
    m: &Mapper<'_>,
    plan: &mut SchemaPlan,
) -> Result<()> {
    let selected: Vec<u32> = oids.to_vec();
    // Constraints backed by an index, and foreign keys. A partitioned
    // table's key is added to it alone (`ONLY`), each partition's own
    // copy of it is built like any table's key, as soon as its rows are
    // in, and attached to it: pg_dump's form, which spreads the building
    // over the partitions' loads. A table with a foreign partition (which
    // holds no index) keeps the one statement that covers its partitions,
    // and their copies come with it; so do copies of foreign keys.
    let split = |table: &str| {
        format!(
            "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h JOIN pg_catalog.pg_class f ON f.oid = h.inhrelid \
                          WHERE h.inhparent = {table} AND f.relkind = 'f')"
        )
    };
    let rows = c
        .query(
            &format!(
                "SELECT k.contype::text, k.conname::text, pg_catalog.pg_get_constraintdef(k.oid), \
                        n.nspname::text, t.relname::text, t.relkind::text, k.confrelid = 0 OR k.confrelid = ANY($1), \
                        pg_catalog.obj_description(k.oid, 'pg_constraint'), \
                        CASE WHEN k.contype IN ('p', 'u') THEN pg_catalog.pg_get_indexdef(k.conindid) END, \
                        coalesce((SELECT r.relkind = 'p' FROM pg_catalog.pg_class r WHERE r.oid = k.confrelid), false), \
                        t.relkind = 'p' AND {}, \
                        pn.nspname::text, pc.relname::text, kn.nspname::text, kc.relname::text \
                   FROM pg_catalog.pg_constraint k \
                   JOIN pg_catalog.pg_class t ON t.oid = k.conrelid \
                   JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
                   LEFT JOIN pg_catalog.pg_class kc ON kc.oid = k.conindid \
                   LEFT JOIN pg_catalog.pg_namespace kn ON kn.oid = kc.relnamespace \
                   LEFT JOIN pg_catalog.pg_constraint pk ON pk.oid = k.conparentid \
                   LEFT JOIN pg_catalog.pg_class pc ON pc.oid = pk.conindid \
                   LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace \
                  WHERE k.contype IN ('p', 'u', 'x', 'f') AND k.conrelid = ANY($1) \
                    AND (k.conparentid = 0 OR (k.contype <> 'f' AND {})) \
                  ORDER BY k.contype <> 'p', n.nspname, t.relname, k.conname",
                split("t.oid"),
                split("pk.conrelid")
            ),
            &[&selected],
        )
        .await
        .pg_context(|| "reading keys and foreign keys".into())?;
    let mut fks = Vec::new();
    let mut attaches = Vec::new();
    // Partitions' keys and indexes attached to their parent's, after
    // both exist and before foreign keys that need the parent's.
    let mut to_parents = Vec::new();
    for r in rows {
        let kind = match r.get::<_, String>(0).as_str() {
            "p" => ConstraintType::PrimaryKey,
            "u" => ConstraintType::Unique,
            "x" => ConstraintType::Exclusion,
            _ => ConstraintType::ForeignKey,
        };
        let def = ConstraintDef {
            name: r.get(1),
            table: QualName::new(r.get::<_, String>(3), r.get::<_, String>(4)),
            kind,
            definition: r.get(2),
            on_partitioned: r.get::<_, String>(5) == "p",
            index: r.get(8),
            references_partitioned: r.get(9),
            comment: r.get(7),
            split: r.get(10),
            attach_to: qual_name(&r, 11, 12),
            own_index: qual_name(&r, 13, 14),
        };
        if def.kind == ConstraintType::ForeignKey && !r.get::<_, bool>(6) {
            plan.warnings.push(format!(
                "foreign key {} on {} references a table that is not copied; it is not created",
                def.name, def.table
            ));
            continue;
        }
        match render_constraint(&def, m) {
            RenderedConstraint::ForeignKey {
                add,
                validation,
                comment,
            } => {
                fks.push(add);
                plan.validations.extend(validation);
                fks.extend(comment);
            }
            RenderedConstraint::Key {
                build,
                table,
                attach,
                whole,
                to_parent,
                comment,
            } => {
                if let (Some(whole), Some(part)) = (whole, &build.part) {
                    plan.whole_keys.insert(part.clone(), whole);
                }
                plan.indexes.push(build);
                plan.index_tables.push(table);
                attaches.extend(attach);
                to_parents.extend(to_parent);
                plan.post.extend(comment);
            }
        }
    }
    // Other indexes: a partitioned table's and its partitions' as its keys.
    let rows = c
        .query(
            &format!(
                "SELECT pg_catalog.pg_get_indexdef(i.indexrelid), t.relkind::text, n.nspname::text, ic.relname::text, \
                        pg_catalog.obj_description(i.indexrelid, 'pg_class'), tn.nspname::text, t.relname::text, \
                        t.relkind = 'p' AND {}, pn.nspname::text, pc.relname::text \
                   FROM pg_catalog.pg_index i \
                   JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
                   JOIN pg_catalog.pg_class t ON t.oid = i.indrelid \
                   JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace \
                   JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace \
                   LEFT JOIN pg_catalog.pg_inherits h ON h.inhrelid = i.indexrelid \
                   LEFT JOIN pg_catalog.pg_index pi ON pi.indexrelid = h.inhparent \
                   LEFT JOIN pg_catalog.pg_class pc ON pc.oid = h.inhparent \
                   LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace \
                  WHERE i.indrelid = ANY($1) \
                    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conindid = i.indexrelid \
                                       AND k.contype IN ('p', 'u', 'x')) \
                    AND (h.inhparent IS NULL OR {}) \
                  ORDER BY 3, 4",
                split("t.oid"),
                split("pi.indrelid")
            ),
            &[&selected],
        )
        .await
        .pg_context(|| "reading indexes".into())?;
    for r in rows {
        let rendered = render_index(
            &IndexDef {
                name: QualName::new(r.get::<_, String>(2), r.get::<_, String>(3)),
                table: QualName::new(r.get::<_, String>(5), r.get::<_, String>(6)),
                definition: r.get(0),
                on_partitioned: r.get::<_, String>(1) == "p",
                comment: r.get(4),
                split: r.get(7),
                attach_to: qual_name(&r, 8, 9),
            },
            m,
        );
        plan.indexes.push(rendered.build);
        plan.index_tables.push(rendered.table);
        to_parents.extend(rendered.to_parent);
        plan.post.extend(rendered.comment);
    }
    plan.post
        .splice(0..0, attaches.into_iter().chain(to_parents).chain(fks));
    // What pg_dump sets on an index once it is built, keys' included: the
    // index a table is clustered on, and statistics targets of its
    // expression columns.
    let rows = c
        .query(
            "SELECT n.nspname::text, ic.relname::text, tn.nspname::text, t.relname::text, \
                    i.indisclustered, st.cols, st.targets \
               FROM pg_catalog.pg_index i \
               CROSS JOIN LATERAL (SELECT pg_catalog.array_agg(a.attnum::int4 ORDER BY a.attnum) AS cols, \
                                          pg_catalog.array_agg(a.attstattarget::int4 ORDER BY a.attnum) AS targets \
                                     FROM pg_catalog.pg_attribute a \
                                    WHERE a.attrelid = i.indexrelid AND a.attstattarget >= 0) st \
               JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
               JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace \
               JOIN pg_catalog.pg_class t ON t.oid = i.indrelid \
               JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace \
              WHERE i.indrelid = ANY($1) AND (i.indisclustered OR st.cols IS NOT NULL) \
              ORDER BY 1, 2",
            &[&selected],
        )
        .await
        .pg_context(|| "reading clustered indexes and index statistics".into())?;
    for r in rows {
        let index = QualName::new(r.get::<_, String>(0), r.get::<_, String>(1));
        let table = QualName::new(r.get::<_, String>(2), r.get::<_, String>(3));
        let columns: Vec<i32> = r.get::<_, Option<Vec<i32>>>(5).unwrap_or_default();
        let targets: Vec<i32> = r.get::<_, Option<Vec<i32>>>(6).unwrap_or_default();
        for (col, target) in columns.iter().zip(&targets) {
            plan.post.push(
                Statement::new(
                    Kind::Index,
                    format!("statistics of index {index}"),
                    format!(
                        "ALTER INDEX {} ALTER COLUMN {col} SET STATISTICS {target}",
                        m.q(&index)
                    ),
                )
                .of_part(&index.name, m.name(&table)),
            );
        }
        if r.get::<_, bool>(4) {
            plan.post.push(
                Statement::new(
                    Kind::Index,
                    format!("clustering of {table} on index {index}"),
                    format!(
                        "ALTER TABLE {} CLUSTER ON {}",
                        m.q(&table),
                        quote_ident(&index.name)
                    ),
                )
                .of_part(&index.name, m.name(&table)),
            );
        }
    }
    // Triggers (not the internal ones of foreign keys, not clones on
    // partitions), rules, policies.
    let has_parent = super::has_column(c, "pg_catalog.pg_trigger", "tgparentid").await;
    let rows = c
        .query(
            &format!(
                "SELECT pg_catalog.pg_get_triggerdef(g.oid), g.tgname::text, g.tgenabled::text, \
                        n.nspname::text, t.relname::text, pg_catalog.obj_description(g.oid, 'pg_trigger') \
                   FROM pg_catalog.pg_trigger g \
                   JOIN pg_catalog.pg_class t ON t.oid = g.tgrelid \
                   JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
                  WHERE g.tgrelid = ANY($1) AND NOT g.tgisinternal {} ORDER BY 4, 5, 2",
                if has_parent { "AND g.tgparentid = 0" } else { "" }
            ),
            &[&selected],
        )
        .await
        .pg_context(|| "reading triggers".into())?;
    for r in rows {
        plan.post.extend(render_trigger(
            &TriggerDef {
                name: r.get(1),
                table: QualName::new(r.get::<_, String>(3), r.get::<_, String>(4)),
                definition: r.get(0),
                enabled: r.get::<_, String>(2).chars().next().unwrap_or('O'),
                comment: r.get(5),
            },
            m,
        ));
    }
    let rows = c
        .query(
            "SELECT pg_catalog.pg_get_ruledef(r.oid), r.rulename::text, n.nspname::text, t.relname::text, \
                    r.ev_enabled::text \
               FROM pg_catalog.pg_rewrite r \
               JOIN pg_catalog.pg_class t ON t.oid = r.ev_class \
               JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
              WHERE r.ev_class = ANY($1) AND r.rulename <> '_RETURN' ORDER BY 3, 4, 2",
            &[&selected],
        )
        .await
        .pg_context(|| "reading rules".into())?;
    for r in rows {
        plan.post.extend(render_rule(
            &RuleDef {
                name: r.get(1),
                table: QualName::new(r.get::<_, String>(2), r.get::<_, String>(3)),
                definition: r.get(0),
                enabled: r.get::<_, String>(4).chars().next().unwrap_or('O'),
            },
            m,
        ));
    }
    let rows = c
        .query(
            "SELECT p.polname::text, n.nspname::text, t.relname::text, p.polcmd::text, p.polpermissive, \
                    CASE WHEN p.polroles = '{0}' THEN NULL ELSE \
                      (SELECT pg_catalog.array_agg(a.rolname::text ORDER BY a.rolname) \
                         FROM pg_catalog.pg_authid a WHERE a.oid = ANY(p.polroles)) END, \
                    pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) \
               FROM pg_catalog.pg_policy p \
               JOIN pg_catalog.pg_class t ON t.oid = p.polrelid \
               JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
              WHERE p.polrelid = ANY($1) ORDER BY 2, 3, 1",
            &[&selected],
        )
        .await;
    // pg_authid is not readable by every role; fall back to pg_roles.
    let rows = match rows {
        Ok(r) => r,
        Err(_) => c
            .query(
                "SELECT p.polname::text, n.nspname::text, t.relname::text, p.polcmd::text, p.polpermissive, \
                        CASE WHEN p.polroles = '{0}' THEN NULL ELSE \
                          (SELECT pg_catalog.array_agg(a.rolname::text ORDER BY a.rolname) \
                             FROM pg_catalog.pg_roles a WHERE a.oid = ANY(p.polroles)) END, \
                        pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) \
                   FROM pg_catalog.pg_policy p \
                   JOIN pg_catalog.pg_class t ON t.oid = p.polrelid \
                   JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
                  WHERE p.polrelid = ANY($1) ORDER BY 2, 3, 1",
                &[&selected],
            )
            .await
            .pg_context(|| "reading policies".into())?,
    };
    for r in rows {
        plan.post.push(render_policy(
            &PolicyDef {
                name: r.get(0),
                table: QualName::new(r.get::<_, String>(1), r.get::<_, String>(2)),
                command: r.get::<_, String>(3).chars().next().unwrap_or('*'),
                permissive: r.get(4),
                roles: r.get(5),
                using: r.get(6),
                check: r.get(7),
            },
            m,
        ));
    }
    Ok(())
}

async fn read_views(
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
    let sql = format!(
        "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text, \
                pg_catalog.pg_get_viewdef(c.oid), coalesce(c.reloptions, '{{}}'), \
                pg_catalog.obj_description(c.oid, 'pg_class'), c.relispopulated, \
                EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite w JOIN pg_catalog.pg_depend d \
                          ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = w.oid \
                         AND d.refclassid = 'pg_catalog.pg_constraint'::pg_catalog.regclass \
                         WHERE w.ev_class = c.oid), \
                EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite w JOIN pg_catalog.pg_depend d \
                          ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = w.oid \
                         AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                         AND d.refobjid = c.oid AND d.refobjsubid > 0 AND d.deptype = 'n' \
                         WHERE w.ev_class = c.oid) \
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
          WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY($1) AND {} ORDER BY 2, 3",
        not_member("c.oid", "pg_catalog.pg_class")
    );
    let rows = c
        .query(&sql, &[&schemas])
        .await
        .pg_context(|| "reading views".into())?;
    let oids: Vec<u32> = rows.iter().map(|r| r.get(0)).collect();
    let mut columns: HashMap<u32, Vec<ViewColumn>> = HashMap::new();
    for r in c
        .query(
            "SELECT a.attrelid, a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), \
                    CASE WHEN a.attcollation <> t.typcollation \
                         THEN ARRAY[cn.nspname::text, co.collname::text] END, \
                    pg_catalog.col_description(a.attrelid, a.attnum), \
                    pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) \
               FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
               LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation \
               LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace \
               LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum \
              WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped \
              ORDER BY a.attrelid, a.attnum",
            &[&oids],
        )
        .await
        .pg_context(|| "reading the columns of views".into())?
    {
        columns.entry(r.get(0)).or_default().push(ViewColumn {
            name: r.get(1),
            type_name: r.get(2),
            collation: collation_name(r.get(3)),
            comment: r.get(4),
            default: r.get(5),
        });
    }
    let mut matviews = Vec::new();
    let mut plain = Vec::new();
    for r in rows {
        let oid: u32 = r.get(0);
        let name = QualName::new(r.get::<_, String>(1), r.get::<_, String>(2));
        let mat = r.get::<_, String>(3) == "m";
        let view = ViewDef {
            name: name.clone(),
            materialized: mat,
            query: r.get(4),
            options: r.get(5),
            comment: r.get(6),
            populated: r.get(7),
            columns: columns.remove(&oid).unwrap_or_default(),
        };
        let rendered = render_view(&view, m);
        let target = m.q(&name);
        let kw = if mat { "MATERIALIZED VIEW" } else { "VIEW" };
        plan.post.extend(rendered.after);
        if mat {
            matviews.push(oid);
        } else {
            plain.push(oid);
        }
        let created = Some(Created {
            kind: if mat {
                ObjectKind::MaterializedView
            } else {
                ObjectKind::View
            },
            name: m.name(&name),
            args: None,
        });
        // A view whose query relies on a key (GROUP BY a primary key
        // lets it select the table's other columns) cannot be created
        // before that key, which is built after the rows: as pg_dump
        // does, it is created as a placeholder and defined after the keys.
        // So does a view that reads its own columns (directly, or through
        // a function returning its row type): it cannot exist before it does.
        let needs_key: bool = r.get::<_, bool>(8) || r.get::<_, bool>(9);
        let mut node = Node {
            key: Key::Class(oid),
            created,
            rank: 4,
            label: name.to_string(),
            stmts: rendered.create,
            kw,
            target,
            placeholder: rendered.placeholder,
            later: Vec::new(),
        };
        if needs_key && !node.postpone() {
            // A materialized view has no placeholder: it is created whole
            // after the keys (pg_dump moves it to post-data the same way).
            node.later = std::mem::take(&mut node.stmts);
        }
        nodes.push(node);
    }
    // Triggers (INSTEAD OF, statement-level) and rules of plain views,
    // after the views' late definitions (spliced in before all of this).
    if !plain.is_empty() {
        let mut sub = SchemaPlan::default();
        read_table_post(c, &plain, m, &mut sub).await?;
        plan.post.extend(sub.post);
    }
    // Indexes of materialized views come after their refresh.
    if !matviews.is_empty() {
        let mut sub = SchemaPlan::default();
        read_table_post(c, &matviews, m, &mut sub).await?;
        plan.post.extend(sub.indexes);
        plan.post.extend(sub.post);
    }
    Ok(())
}

/// `ALTER ... OWNER TO` and `GRANT`s for what the plan creates, unless
/// `--no-owner` / `--no-privileges`. An object with an ACL has its
/// default privileges revoked first, so the target ends up with exactly
/// the source's grants.
async fn read_access(
    c: &Client,
    o: &Options<'_>,
    nodes: &[&Node],
    schemas: &[String],
    m: &Mapper<'_>,
    plan: &mut SchemaPlan,
) -> Result<()> {
    if o.no_owner && o.no_privileges {
        return Ok(());
    }
    let oids = |f: fn(&Key) -> Option<u32>| -> Vec<u32> {
        nodes.iter().filter_map(|n| f(&n.key)).collect()
    };
    let classes = oids(|k| {
        if let Key::Class(o) = k {
            Some(*o)
        } else {
            None
        }
    });
    // Identity sequences come with their tables (they are no nodes of
    // their own) but carry grants of their own.
    let identity: Vec<(u32, String, String)> = c
        .query(
            "SELECT s.oid, n.nspname::text, s.relname::text FROM pg_catalog.pg_depend d \
               JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S' \
               JOIN pg_catalog.pg_namespace n ON n.oid = s.relnamespace \
              WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                AND d.deptype = 'i' AND d.refobjid = ANY($1)",
            &[&classes],
        )
        .await
        .pg_context(|| "reading identity sequences".into())?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let mut classes = classes;
    classes.extend(identity.iter().map(|(o, _, _)| *o));
    let identity: HashMap<Key, String> = identity
        .into_iter()
        .map(|(o, sch, n)| (Key::Class(o), m.q(&QualName::new(sch, n))))
        .collect();
    let types = oids(|k| if let Key::Type(o) = k { Some(*o) } else { None });
    let procs = oids(|k| if let Key::Proc(o) = k { Some(*o) } else { None });
    // One row per object: key, owner, acl present, then one per grant, in
    // the order of the source's ACL, so the target's ACL lists its
    // grantees in the same order (pg_dump prints them that way).
    // `linked`: a sequence owned by a table column (serial, identity). Its
    // owner follows the table's (ALTER TABLE ... OWNER moves it; ALTER
    // SEQUENCE ... OWNER on its own is refused), so it gets no statement.
    let sql = "WITH o(k, owner, acl, linked) AS ( \
          SELECT 'c' || c.oid, pg_catalog.pg_get_userbyid(c.relowner), c.relacl, \
                 c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                   WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid \
                     AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i')) \
            FROM pg_catalog.pg_class c WHERE c.oid = ANY($1) \
          UNION ALL SELECT 't' || oid, pg_catalog.pg_get_userbyid(typowner), typacl, false FROM pg_catalog.pg_type WHERE oid = ANY($2) \
          UNION ALL SELECT 'f' || oid, pg_catalog.pg_get_userbyid(proowner), proacl, false FROM pg_catalog.pg_proc WHERE oid = ANY($3) \
          UNION ALL SELECT 'n' || nspname, pg_catalog.pg_get_userbyid(nspowner), nspacl, false FROM pg_catalog.pg_namespace WHERE nspname = ANY($4)) \
        SELECT o.k, o.owner::text, o.acl IS NOT NULL, \
               CASE WHEN a.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END, \
               a.privilege_type, a.is_grantable, o.linked \
          FROM o LEFT JOIN LATERAL pg_catalog.aclexplode(o.acl) WITH ORDINALITY \
               a(grantor, grantee, privilege_type, is_grantable, pos) ON true \
         ORDER BY 1, a.pos";
    let rows = c
        .query(sql, &[&classes, &types, &procs, &schemas])
        .await
        .pg_context(|| "reading owners and grants".into())?;
    let by_key: HashMap<Key, &Node> = nodes.iter().map(|n| (n.key, *n)).collect();
    let mut seen = HashSet::new();
    for r in rows {
        let k: String = r.get(0);
        let (kw, target) = if let Some(sch) = k.strip_prefix('n') {
            ("SCHEMA", quote_ident(m.schema(sch)))
        } else {
            let key = parse_key(&k);
            match key.and_then(|key| by_key.get(&key)) {
                Some(n) => (n.kw, n.target.clone()),
                None => match key.and_then(|key| identity.get(&key)) {
                    Some(target) => ("SEQUENCE", target.clone()),
                    None => continue,
                },
            }
        };
        let owner: String = r.get(1);
        if seen.insert(k.clone()) {
            let public_schema = kw == "SCHEMA" && m.schema(&k[1..]) == "public";
            if !(o.no_owner || public_schema || r.get::<_, bool>(6)) {
                plan.owners.insert(owner.clone());
                plan.access.push(Statement {
                    kind: Kind::Owner,
                    part: None,
                    large_object: None,
                    slot: None,
                    what: format!("owner of {} {target}", kw.to_lowercase()),
                    sql: format!("ALTER {kw} {target} OWNER TO {}", quote_ident(&owner)),
                });
            }
            if !o.no_privileges && r.get::<_, bool>(2) {
                let on = grant_kw(kw);
                plan.access.push(Statement {
                    kind: Kind::Privileges,
                    part: None,
                    large_object: None,
                    slot: None,
                    what: format!("privileges on {} {target}", kw.to_lowercase()),
                    sql: format!(
                        "REVOKE ALL ON {on} {t} FROM PUBLIC; REVOKE ALL ON {on} {t} FROM {}",
                        quote_ident(&owner),
                        t = grant_target(kw, &target)
                    ),
                });
            }
        }
        if o.no_privileges {
            continue;
        }
        let Some(privilege) = r.get::<_, Option<String>>(4) else {
            continue;
        };
        let privilege = checked_privilege(&privilege, &target)?;
        let grantee = match r.get::<_, Option<String>>(3) {
            Some(g) => {
                plan.grantees.insert(g.clone());
                quote_ident(&g)
            }
            None => "PUBLIC".to_string(),
        };
        let option = if r.get::<_, bool>(5) {
            " WITH GRANT OPTION"
        } else {
            ""
        };
        plan.access.push(Statement {
            kind: Kind::Privileges,
            part: None,
            large_object: None,
            slot: None,
            what: format!("privileges on {} {target}", kw.to_lowercase()),
            sql: format!(
                "GRANT {privilege} ON {} {} TO {grantee}{option}",
                grant_kw(kw),
                grant_target(kw, &target)
            ),
        });
    }
    if !o.no_privileges {
        read_column_grants(c, &classes, &by_key, plan).await?;
    }
    Ok(())
}

/// Column privileges (`GRANT SELECT (email) ON TABLE ...`) of the copied
/// tables and views, in the order of each column's ACL.
async fn read_column_grants(
    c: &Client,
    classes: &[u32],
    by_key: &HashMap<Key, &Node>,
    plan: &mut SchemaPlan,
) -> Result<()> {
    let rows = c
        .query(
            "SELECT a.attrelid, pg_catalog.quote_ident(a.attname), \
                    CASE WHEN x.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(x.grantee)::text END, \
                    x.privilege_type, x.is_grantable \
               FROM pg_catalog.pg_attribute a, \
                    LATERAL pg_catalog.aclexplode(a.attacl) WITH ORDINALITY \
                      x(grantor, grantee, privilege_type, is_grantable, pos) \
              WHERE a.attrelid = ANY($1) AND a.attacl IS NOT NULL AND a.attnum > 0 \
                AND NOT a.attisdropped \
              ORDER BY a.attrelid, a.attnum, x.pos",
            &[&classes],
        )
        .await
        .pg_context(|| "reading column privileges".into())?;
    for r in rows {
        let Some(n) = by_key.get(&Key::Class(r.get(0))) else {
            continue;
        };
        let grantee = match r.get::<_, Option<String>>(2) {
            Some(g) => {
                plan.grantees.insert(g.clone());
                quote_ident(&g)
            }
            None => "PUBLIC".to_string(),
        };
        let col: String = r.get(1);
        let privilege = checked_privilege(&r.get::<_, String>(3), &n.target)?;
        plan.access.push(Statement {
            kind: Kind::Privileges,
            part: None,
            large_object: None,
            slot: None,
            what: format!("privileges on a column of {}", n.target),
            sql: format!(
                "GRANT {privilege} ({col}) ON TABLE {} TO {grantee}{}",
                n.target,
                if r.get::<_, bool>(4) {
                    " WITH GRANT OPTION"
                } else {
                    ""
                }
            ),
        });
    }
    Ok(())
}

/// A privilege word read from the source, checked before it is written
/// into a GRANT (see `quote::privilege`); an unknown one stops the run
/// naming the object.
pub(super) fn checked_privilege(word: &str, on: &str) -> Result<&'static str> {
    crate::ddl::quote::privilege(word).ok_or_else(|| {
        anyhow::anyhow!(
            "the source reports a privilege {:?} on {}, which is not one of PostgreSQL's; \
             refusing to write it into a GRANT (leave grants out with --no-privileges)",
            crate::ddl::quote::comment_text(word),
            crate::ddl::quote::comment_text(on)
        )
    })
}

/// The object as GRANT names it: an aggregate of no arguments is
/// `agg(*)` to ALTER AGGREGATE but `agg()` to GRANT ... ON FUNCTION.
fn grant_target(kw: &str, target: &str) -> String {
    match target.strip_suffix("(*)") {
        Some(name) if kw == "AGGREGATE" => format!("{name}()"),
        _ if kw == "AGGREGATE" && target.contains(" ORDER BY ") => {
            // The name is quoted: its arguments start after `"(`.
            match target.find("\"(").map(|i| target.split_at(i + 2)) {
                Some((name, args)) => format!(
                    "{name}{})",
                    function_args(args.strip_suffix(')').unwrap_or(args))
                ),
                None => target.to_string(),
            }
        }
        _ => target.to_string(),
    }
}

/// The arguments of an ordered-set aggregate as its function has them
/// (what GRANT, DROP ROUTINE and regprocedure take): `float8 ORDER BY
/// anyelement` is `float8, anyelement`; a variadic argument that ends the
/// direct ones and is the aggregated one (`VARIADIC "any" ORDER BY
/// VARIADIC "any"`, hypothetical-set aggregates) is one argument. Other
/// argument lists are returned as they are.
fn function_args(args: &str) -> String {
    if let Some(ordered) = args.strip_prefix("ORDER BY ") {
        return ordered.to_string();
    }
    match args.split_once(" ORDER BY ") {
        Some((direct, ordered))
            if ordered.starts_with("VARIADIC ") && direct.ends_with(ordered) =>
        {
            direct.to_string()
        }
        Some((direct, ordered)) => format!("{direct}, {ordered}"),
        None => args.to_string(),
    }
}

/// The object class word GRANT uses for an ALTER keyword.
fn grant_kw(kw: &str) -> &str {
    match kw {
        "AGGREGATE" => "FUNCTION",
        "VIEW" | "MATERIALIZED VIEW" | "FOREIGN TABLE" => "TABLE",
        "DOMAIN" => "DOMAIN",
        other => other,
    }
}

/// Default privileges set for the copied schemas (`ALTER DEFAULT
/// PRIVILEGES ... IN SCHEMA s GRANT ...`), unless `--no-privileges`. A
/// schema's entries only ever add grants. With `--no-owner` they apply
/// to the role the copy connects as, which owns what it creates (no FOR
/// ROLE). Database-wide entries belong to the database, as roles do.
async fn read_default_privileges(
    c: &Client,
    o: &Options<'_>,
    schemas: &[String],
    m: &Mapper<'_>,
    plan: &mut SchemaPlan,
) -> Result<()> {
    if o.no_privileges {
        return Ok(());
    }
    let rows = c
        .query(
            "SELECT pg_catalog.pg_get_userbyid(d.defaclrole)::text, n.nspname::text, \
                    d.defaclobjtype::text, \
                    CASE WHEN a.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END, \
                    a.privilege_type, a.is_grantable \
               FROM pg_catalog.pg_default_acl d \
               JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace \
               CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) WITH ORDINALITY \
                    a(grantor, grantee, privilege_type, is_grantable, pos) \
              WHERE n.nspname = ANY($1) \
              ORDER BY 1, 2, 3, a.pos",
            &[&schemas],
        )
        .await
        .pg_context(|| "reading default privileges".into())?;
    for r in rows {
        let (role, schema, objtype): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let on = match objtype.as_str() {
            "r" => "TABLES",
            "S" => "SEQUENCES",
            "f" => "FUNCTIONS",
            "T" => "TYPES",
            _ => continue,
        };
        let grantee = match r.get::<_, Option<String>>(3) {
            Some(g) => {
                plan.grantees.insert(g.clone());
                quote_ident(&g)
            }
            None => "PUBLIC".into(),
        };
        let for_role = if o.no_owner {
            String::new()
        } else {
            plan.owners.insert(role.clone());
            format!("FOR ROLE {} ", quote_ident(&role))
        };
        let privilege = checked_privilege(
            &r.get::<_, String>(4),
            &format!("default privileges in schema {schema}"),
        )?;
        plan.access.push(Statement {
            kind: Kind::DefaultPrivileges,
            part: None,
            large_object: None,
            slot: None,
            what: format!("default privileges in schema {}", m.schema(&schema)),
            sql: format!(
                "ALTER DEFAULT PRIVILEGES {for_role}IN SCHEMA {} GRANT {privilege} ON {on} TO \
                 {grantee}{}",
                quote_ident(m.schema(&schema)),
                if r.get::<_, bool>(5) {
                    " WITH GRANT OPTION"
                } else {
                    ""
                }
            ),
        });
    }
    Ok(())
}

/// Extended statistics objects on the copied tables (`CREATE STATISTICS`),
/// built after the indexes.
async fn read_statistics(
    c: &Client,
    o: &Options<'_>,
    m: &Mapper<'_>,
    plan: &mut SchemaPlan,
) -> Result<()> {
    let names: Vec<String> = o.tables.iter().map(|t| t.quoted()).collect();
    let rows = c
        .query(
            "SELECT n.nspname::text, s.stxname::text, pg_catalog.pg_get_statisticsobjdef(s.oid) \
               FROM pg_catalog.pg_statistic_ext s \
               JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace \
              WHERE s.stxrelid IN (SELECT pg_catalog.unnest($1::text[])::pg_catalog.regclass) \
              ORDER BY 1, 2",
            &[&names],
        )
        .await
        .pg_context(|| "reading extended statistics".into())?;
    for r in rows {
        let name = QualName::new(r.get::<_, String>(0), r.get::<_, String>(1));
        plan.index_tables.push(None);
        plan.indexes.push(Statement {
            kind: Kind::Statistics,
            part: None,
            large_object: None,
            slot: None,
            what: format!("statistics {name}"),
            sql: m.sql(&r.get::<_, String>(2)),
        });
    }
    Ok(())
}

/// User-defined operators of the copied schemas, as pg_dump writes them:
/// nodes of the dependency graph (they use functions and types; views,
/// checks and indexes use them). A commutator or negator not created yet
/// is made a shell by the server and filled in when its turn comes.
async fn read_operators(
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
    // A commutator or negator: its schema and name.
    let other = |col: &str| {
        format!(
            "(SELECT ARRAY[n2.nspname::text, x2.oprname::text] \
                FROM pg_catalog.pg_operator x2 JOIN pg_catalog.pg_namespace n2 ON n2.oid = x2.oprnamespace \
               WHERE x2.oid = x.{col})"
        )
    };
    let sql = format!(
        "SELECT x.oid, n.nspname::text, x.oprname::text, \
                CASE WHEN x.oprleft <> 0 THEN pg_catalog.format_type(x.oprleft, NULL) END, \
                CASE WHEN x.oprright <> 0 THEN pg_catalog.format_type(x.oprright, NULL) END, \
                x.oprcode::pg_catalog.regproc::text, {}, {}, \
                CASE WHEN x.oprrest <> 0 THEN x.oprrest::pg_catalog.regproc::text END, \
                CASE WHEN x.oprjoin <> 0 THEN x.oprjoin::pg_catalog.regproc::text END, \
                x.oprcanmerge, x.oprcanhash, pg_catalog.pg_get_userbyid(x.oprowner)::text, \
                pg_catalog.obj_description(x.oid, 'pg_operator') \
           FROM pg_catalog.pg_operator x JOIN pg_catalog.pg_namespace n ON n.oid = x.oprnamespace \
          WHERE n.nspname = ANY($1) AND x.oprcode <> 0 AND {} ORDER BY 2, 3, 1",
        other("oprcom"),
        other("oprnegate"),
        not_member("x.oid", "pg_catalog.pg_operator")
    );
    for r in c
        .query(&sql, &[&schemas])
        .await
        .pg_context(|| "reading operators".into())?
    {
        let oid: u32 = r.get(0);
        let schema: String = r.get(1);
        let name: String = r.get(2);
        // An operator's name is spliced as it is (it cannot be quoted):
        // from the source, so only what PostgreSQL allows in one.
        let operator = |schema: &str, name: &str| -> Result<String> {
            if !operator_name(name) {
                return Err(anyhow!(
                    "reading operators: the source names an operator {schema}.{name:?}, which is \
                     not an operator name"
                ));
            }
            Ok(format!("{}.{name}", quote_ident(m.schema(schema))))
        };
        let op = operator(&schema, &name)?;
        let (left, right) = (
            r.get::<_, Option<String>>(3).map(|t| m.sql(&t)),
            r.get::<_, Option<String>>(4).map(|t| m.sql(&t)),
        );
        let mut opts = vec![format!("FUNCTION = {}", m.sql(&r.get::<_, String>(5)))];
        if let Some(t) = &left {
            opts.push(format!("LEFTARG = {t}"));
        }
        if let Some(t) = &right {
            opts.push(format!("RIGHTARG = {t}"));
        }
        for (i, word) in [(6, "COMMUTATOR"), (7, "NEGATOR")] {
            if let Some([s, n]) = r.get::<_, Option<Vec<String>>>(i).as_deref() {
                opts.push(format!("{word} = OPERATOR({})", operator(s, n)?));
            }
        }
        for (i, word) in [(8, "RESTRICT"), (9, "JOIN")] {
            if let Some(v) = r.get::<_, Option<String>>(i) {
                opts.push(format!("{word} = {}", m.sql(&v)));
            }
        }
        if r.get::<_, bool>(10) {
            opts.push("MERGES".into());
        }
        if r.get::<_, bool>(11) {
            opts.push("HASHES".into());
        }
        let args = format!(
            "{}, {}",
            left.as_deref().unwrap_or("NONE"),
            right.as_deref().unwrap_or("NONE")
        );
        let target = format!("{op} ({args})");
        let label = format!("operator {schema}.{name}({args})");
        let stmts = vec![Statement {
            kind: Kind::Operator,
            part: None,
            large_object: None,
            slot: None,
            what: label.clone(),
            sql: format!("CREATE OPERATOR {op} ({})", opts.join(", ")),
        }];
        comment_and_owner(plan, o, "OPERATOR", &target, r.get(12), r.get(13));
        let created = Some(Created {
            kind: ObjectKind::Operator,
            name: QualName::new(m.schema(&schema), name),
            args: Some(args),
        });
        nodes.push(Node {
            key: Key::Operator(oid),
            created,
            rank: 1,
            label,
            stmts,
            kw: "OPERATOR",
            target,
            placeholder: None,
            later: Vec::new(),
        });
    }
    Ok(())
}

/// The comment (after the rows) and owner (with the grants) of an object
/// created outside the dependency graph: `kw` is its ALTER/COMMENT word.
fn comment_and_owner(
    plan: &mut SchemaPlan,
    o: &Options<'_>,
    kw: &str,
    target: &str,
    owner: String,
    comment: Option<String>,
) {
    comment_on(plan, kw, target, comment);
    if !o.no_owner {
        plan.owners.insert(owner.clone());
        plan.access.push(Statement {
            kind: Kind::Owner,
            part: None,
            large_object: None,
            slot: None,
            what: format!("owner of {} {target}", kw.to_lowercase()),
            sql: format!("ALTER {kw} {target} OWNER TO {}", quote_ident(&owner)),
        });
    }
}

/// The comment (after the rows) of an object created outside the
/// dependency graph: `kw` is its COMMENT word.
fn comment_on(plan: &mut SchemaPlan, kw: &str, target: &str, comment: Option<String>) {
    if let Some(cm) = comment {
        plan.post.push(Statement::new(
            Kind::Comment,
            format!("comment on {} {target}", kw.to_lowercase()),
            format!("COMMENT ON {kw} {target} IS {}", quote_literal(&cm)),
        ));
    }
}

/// Kinds of objects in the copied schemas that pgbarge does not recreate
/// yet: each is named in a warning, so nothing is left behind silently.
async fn not_reproduced(
    c: &Client,
    schemas: &[String],
    large_objects_left_out: bool,
    plan: &mut SchemaPlan,
) -> Result<()> {
    let mut branches: Vec<String> = Vec::new();
    // Large objects left out by choice: named, so that nothing is lost
    // silently. (A schema-only copy or one of chosen tables does not
    // carry them, as pg_dump -s or -t.)
    if large_objects_left_out {
        branches.push(
            "SELECT 'large object', pg_catalog.count(*)::text || ' large object(s)' \
               FROM pg_catalog.pg_largeobject_metadata HAVING pg_catalog.count(*) > 0"
                .into(),
        );
    }
    branches.push(
        "SELECT 'security label', l.objtype || ' ' || l.objname \
           FROM pg_catalog.pg_seclabels l JOIN pg_catalog.pg_namespace n ON n.oid = l.objnamespace \
          WHERE n.nspname = ANY($1)"
            .into(),
    );
    let sql = format!(
        "SELECT kind, pg_catalog.string_agg(name, ', ' ORDER BY name) FROM ({}) AS t(kind, name) \
          GROUP BY kind ORDER BY kind",
        branches.join(" UNION ALL ")
    );
    for r in c
        .query(&sql, &[&schemas])
        .await
        .pg_context(|| "listing objects pgbarge does not recreate".into())?
    {
        let (kind, names): (String, String) = (r.get(0), r.get(1));
        plan.unsupported.push(Unsupported {
            kind: kind.replace(' ', "-"),
            names,
        });
    }
    Ok(())
}

/// Publications that cover copied tables (or a copied schema), limited to
/// what is copied, with row filters and column lists (PostgreSQL 15+).
async fn read_publications(
    c: &Client,
    o: &Options<'_>,
    schemas: &[String],
    m: &Mapper<'_>,
    plan: &mut SchemaPlan,
) -> Result<()> {
    let v15 = super::has_column(c, "pg_catalog.pg_publication_rel", "prqual").await;
    let via_root = super::has_column(c, "pg_catalog.pg_publication", "pubviaroot").await;
    let names: Vec<String> = o.tables.iter().map(|t| t.quoted()).collect();
    // Each table as a JSON object for `PublishedTable`.
    let item = if v15 {
        "pg_catalog.json_build_object('schema', n.nspname, 'name', t.relname, \
           'columns', (SELECT pg_catalog.json_agg(a.attname ORDER BY a.attnum) \
               FROM pg_catalog.pg_attribute a WHERE a.attrelid = pr.prrelid AND a.attnum = ANY(pr.prattrs)), \
           'filter', pg_catalog.pg_get_expr(pr.prqual, pr.prrelid))"
    } else {
        "pg_catalog.json_build_object('schema', n.nspname, 'name', t.relname)"
    };
    let in_schema = if v15 {
        "(SELECT pg_catalog.array_agg(n.nspname::text ORDER BY n.nspname) \
            FROM pg_catalog.pg_publication_namespace pn JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid \
           WHERE pn.pnpubid = p.oid AND n.nspname = ANY($2))"
    } else {
        // Before 15 a publication cannot name schemas; $2 is still
        // mentioned so that the query takes the same two parameters.
        "(CASE WHEN $2::text[] IS NULL THEN NULL END)::text[]"
    };
    let sql = format!(
        "SELECT p.pubname::text, p.puballtables, \
                ARRAY[p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate], \
                {}, \
                (SELECT pg_catalog.json_agg({item} ORDER BY n.nspname, t.relname)::text \
                   FROM pg_catalog.pg_publication_rel pr \
                   JOIN pg_catalog.pg_class t ON t.oid = pr.prrelid \
                   JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
                  WHERE pr.prpubid = p.oid \
                    AND t.oid IN (SELECT pg_catalog.unnest($1::text[])::pg_catalog.regclass)), \
                {in_schema}, pg_catalog.pg_get_userbyid(p.pubowner)::text \
           FROM pg_catalog.pg_publication p ORDER BY 1",
        if via_root { "p.pubviaroot" } else { "false" },
    );
    for r in c
        .query(&sql, &[&names, &schemas])
        .await
        .pg_context(|| "reading publications".into())?
    {
        let name: String = r.get(0);
        if r.get::<_, bool>(1) {
            plan.warnings.push(format!(
                "publication {name} is FOR ALL TABLES; it is not recreated (it would publish \
                 every table of the target)"
            ));
            continue;
        }
        let tables: Vec<PublishedTable> = match r.get::<_, Option<String>>(4) {
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                anyhow!("reading publication {name}: the source sent unreadable tables: {e}")
            })?,
            None => Vec::new(),
        };
        let schemas: Vec<String> = r.get::<_, Option<Vec<String>>>(5).unwrap_or_default();
        if tables.is_empty() && schemas.is_empty() {
            continue;
        }
        let ops: Vec<bool> = r.get(2);
        let def = PublicationDef {
            name: name.clone(),
            tables,
            schemas,
            publish: ["insert", "update", "delete", "truncate"]
                .into_iter()
                .zip(ops)
                .filter_map(|(op, on)| on.then_some(op))
                .collect(),
            via_root: r.get(3),
        };
        plan.publications.push(Statement::new(
            Kind::Publication,
            format!("publication {name}"),
            render_publication(&def, m),
        ));
        if !o.no_owner {
            let owner: String = r.get(6);
            plan.owners.insert(owner.clone());
            plan.publications.push(Statement {
                kind: Kind::Owner,
                part: None,
                large_object: None,
                slot: None,
                what: format!("owner of publication {name}"),
                sql: format!(
                    "ALTER PUBLICATION {} OWNER TO {}",
                    quote_ident(&name),
                    quote_ident(&owner)
                ),
            });
        }
        plan.created.push(Created {
            kind: ObjectKind::Publication,
            name: QualName::new(String::new(), name),
            args: None,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    #[test]
    fn ordered_set_aggregates_are_granted_and_dropped_by_their_function_arguments() {
        assert_eq!(
            super::function_args("double precision ORDER BY anyelement"),
            "double precision, anyelement"
        );
        assert_eq!(
            super::function_args("VARIADIC \"any\" ORDER BY VARIADIC \"any\""),
            "VARIADIC \"any\""
        );
        assert_eq!(super::function_args("ORDER BY integer"), "integer");
        assert_eq!(
            super::function_args("a integer, b text"),
            "a integer, b text"
        );
        assert_eq!(
            super::grant_target(
                "AGGREGATE",
                "\"app\".\"p\"(double precision ORDER BY anyelement)"
            ),
            "\"app\".\"p\"(double precision, anyelement)"
        );
        assert_eq!(
            super::grant_target("AGGREGATE", "\"app\".\"n\"(*)"),
            "\"app\".\"n\"()"
        );
    }

    #[test]
    fn operator_names_are_symbols_only() {
        for ok in ["<~", "=", "@@@", "|&>", "~<=~"] {
            assert!(super::operator_name(ok), "{ok}");
        }
        for bad in ["", "+;DROP", "a", "<\"", "-- x", "< >", "/*", "<--", "*/*"] {
            assert!(!super::operator_name(bad), "{bad}");
        }
    }
}
