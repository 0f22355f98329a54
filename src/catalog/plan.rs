//! The schema plan as data: what a run creates, in which order, and
//! what it needs, with the pure transformations later steps apply to it
//! (a schema map, `--no-owner`, `--no-privileges`, a restore's
//! selection, `--leave-out`). `catalog::model` builds it from a server;
//! dumps store it as `schema.json`.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::statement::{Kind, Part, Slot, Statement};
use super::QualName;
use crate::ddl::lexer::{self, Qualifies};
use crate::ddl::model::Mapper;

/// The kinds of object a plan creates and a clean-up drops. Stored (in
/// dumps and run state) as the words SQL uses; a word outside this list
/// is a damaged or hostile record, refused when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ObjectKind {
    #[serde(rename = "table")]
    Table,
    #[serde(rename = "view")]
    View,
    #[serde(rename = "materialized view")]
    MaterializedView,
    #[serde(rename = "sequence")]
    Sequence,
    #[serde(rename = "type")]
    Type,
    #[serde(rename = "function")]
    Function,
    #[serde(rename = "publication")]
    Publication,
    #[serde(rename = "cast")]
    Cast,
    /// Named by its type (`schema`) and language (`name`).
    #[serde(rename = "transform")]
    Transform,
    #[serde(rename = "collation")]
    Collation,
    #[serde(rename = "text search dictionary")]
    TextSearchDictionary,
    #[serde(rename = "text search configuration")]
    TextSearchConfiguration,
    #[serde(rename = "text search template")]
    TextSearchTemplate,
    #[serde(rename = "text search parser")]
    TextSearchParser,
    #[serde(rename = "operator")]
    Operator,
    #[serde(rename = "conversion")]
    Conversion,
    #[serde(rename = "operator class")]
    OperatorClass,
    #[serde(rename = "operator family")]
    OperatorFamily,
    #[serde(rename = "foreign table")]
    ForeignTable,
    #[serde(rename = "event trigger")]
    EventTrigger,
    #[serde(rename = "large object")]
    LargeObject,
}

impl ObjectKind {
    /// As SQL spells it (`DROP MATERIALIZED VIEW`, lower case).
    pub fn word(self) -> &'static str {
        match self {
            ObjectKind::Table => "table",
            ObjectKind::View => "view",
            ObjectKind::MaterializedView => "materialized view",
            ObjectKind::Sequence => "sequence",
            ObjectKind::Type => "type",
            ObjectKind::Function => "function",
            ObjectKind::Publication => "publication",
            ObjectKind::Cast => "cast",
            ObjectKind::Transform => "transform",
            ObjectKind::Collation => "collation",
            ObjectKind::TextSearchDictionary => "text search dictionary",
            ObjectKind::TextSearchConfiguration => "text search configuration",
            ObjectKind::TextSearchTemplate => "text search template",
            ObjectKind::TextSearchParser => "text search parser",
            ObjectKind::Operator => "operator",
            ObjectKind::Conversion => "conversion",
            ObjectKind::OperatorClass => "operator class",
            ObjectKind::OperatorFamily => "operator family",
            ObjectKind::ForeignTable => "foreign table",
            ObjectKind::EventTrigger => "event trigger",
            ObjectKind::LargeObject => "large object",
        }
    }
}

impl std::fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

/// An object the plan creates, for the conflict check and for clean-up.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Created {
    pub kind: ObjectKind,
    /// Target name.
    pub name: QualName,
    /// For functions: the argument types, as the target spells them.
    pub args: Option<String>,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct SchemaPlan {
    /// Target schemas to create when missing.
    pub schemas: Vec<String>,
    pub extensions: Vec<Statement>,
    /// Names of the extensions in `extensions`, and the target schema each
    /// should live in.
    pub extension_names: Vec<String>,
    pub extension_schemas: Vec<String>,
    /// Types, functions, sequences, tables, views: one transaction.
    pub pre: Vec<Statement>,
    /// Primary keys, unique and exclusion constraints, indexes: built in
    /// parallel after the data.
    pub indexes: Vec<Statement>,
    /// For each of `indexes`, the target table it belongs to (None for a
    /// partitioned table's or other statements that wait for all rows).
    pub index_tables: Vec<Option<QualName>>,
    /// Tables (target names) a foreign table inherits from: not analyzed
    /// on the target, since ANALYZE of a parent reads its children too,
    /// the foreign one through its remote server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_analyze: Vec<QualName>,
    /// Foreign keys, materialized view refreshes, triggers, rules,
    /// policies, in this order, after the indexes.
    pub post: Vec<Statement>,
    /// `VALIDATE CONSTRAINT` of the foreign keys `post` adds NOT VALID:
    /// run in parallel after `post`.
    pub validations: Vec<Statement>,
    /// Owners and grants, applied last.
    pub access: Vec<Statement>,
    /// Publications: run at the very end; a failure is a warning, not a
    /// failed copy (creating one needs rights a role may lack).
    pub publications: Vec<Statement>,
    /// Roles that own objects, and roles granted privileges (they must
    /// exist on the target).
    pub owners: BTreeSet<String>,
    pub grantees: BTreeSet<String>,
    /// Sequences to set from the source afterwards: (source, target).
    pub sequences: Vec<(QualName, QualName)>,
    pub created: Vec<Created>,
    pub warnings: Vec<String>,
    /// With `Options::record_names`: every object name in the selected
    /// schemas (target names), so the statements can be renamed again
    /// later (a dump restored under a schema map).
    #[serde(default)]
    pub names: Vec<QualName>,
    /// Objects outside the plan that objects of the plan need (a function
    /// a default calls, a table a view reads, in a schema not selected):
    /// they must already exist where the plan is applied.
    #[serde(default)]
    pub outside: Vec<Outside>,
    /// Objects of kinds pgbarge cannot recreate yet, found in the copied
    /// schemas: each stops the run before anything is written unless its
    /// kind is left out (`leave_out`).
    #[serde(default)]
    pub unsupported: Vec<Unsupported>,
    /// Large objects (their oids) a copy carries after the tables' rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub large_objects: Vec<u32>,
    /// Foreign keys (of `post`) that `build_with_tables` has added valid
    /// at once: on still empty tables they may be tried `NOT VALID`, which
    /// checks all a valid one does but skips the query over the rows.
    #[serde(skip)]
    pub valid_at_once: HashSet<Part>,
    /// Keys built as their unique index and then `ADD CONSTRAINT .. USING
    /// INDEX` (so a big table's other indexes build beside), each in one
    /// statement (`ADD CONSTRAINT .. PRIMARY KEY (..)`): the form
    /// `build_with_tables` uses on still empty tables, where it costs
    /// about half as much. Not kept in a dump (a restore builds in two).
    #[serde(skip)]
    pub whole_keys: HashMap<Part, String>,
}

/// Objects of one kind pgbarge cannot recreate yet.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Unsupported {
    /// As `--leave-out` spells it: `large-object`, `security-label`.
    pub kind: String,
    /// The objects, comma-separated.
    pub names: String,
}

/// The kinds `--leave-out` accepts.
pub const LEAVE_OUT_KINDS: &[&str] = &["large-object", "security-label"];

impl SchemaPlan {
    /// Add what `other` (read apart, as if right after this) holds, each
    /// list after this one's.
    pub fn append(&mut self, other: SchemaPlan) {
        // Every field named, so a new one cannot be forgotten here.
        let SchemaPlan {
            schemas,
            extensions,
            extension_names,
            extension_schemas,
            pre,
            indexes,
            index_tables,
            no_analyze,
            post,
            validations,
            access,
            publications,
            owners,
            grantees,
            sequences,
            created,
            warnings,
            names,
            outside,
            unsupported,
            large_objects,
            valid_at_once,
            whole_keys,
        } = other;
        self.schemas.extend(schemas);
        self.extensions.extend(extensions);
        self.extension_names.extend(extension_names);
        self.extension_schemas.extend(extension_schemas);
        self.pre.extend(pre);
        self.indexes.extend(indexes);
        self.index_tables.extend(index_tables);
        self.no_analyze.extend(no_analyze);
        self.post.extend(post);
        self.validations.extend(validations);
        self.access.extend(access);
        self.publications.extend(publications);
        self.owners.extend(owners);
        self.grantees.extend(grantees);
        self.sequences.extend(sequences);
        self.created.extend(created);
        self.warnings.extend(warnings);
        self.names.extend(names);
        self.outside.extend(outside);
        self.unsupported.extend(unsupported);
        self.large_objects.extend(large_objects);
        self.valid_at_once.extend(valid_at_once);
        self.whole_keys.extend(whole_keys);
    }

    /// Settle the objects pgbarge cannot recreate: those of a kind in
    /// `kinds` are left out, with a warning naming them; any other is an
    /// error that names the objects and the flag, before anything is
    /// written.
    pub fn leave_out(&mut self, kinds: &[String]) -> std::result::Result<(), String> {
        if let Some(k) = kinds
            .iter()
            .find(|k| !LEAVE_OUT_KINDS.contains(&k.as_str()))
        {
            return Err(format!(
                "--leave-out {k}: not a kind pgbarge leaves out (kinds: {})",
                LEAVE_OUT_KINDS.join(", ")
            ));
        }
        let mut stops = Vec::new();
        for u in &self.unsupported {
            if kinds.contains(&u.kind) {
                self.warnings
                    .push(format!("left out (--leave-out {}): {}", u.kind, u.names));
            } else {
                stops.push(format!(
                    "{} {}: pgbarge cannot recreate this kind yet; create it on the target \
                     yourself and rerun with --leave-out {}",
                    u.kind.replace('-', " "),
                    u.names,
                    u.kind
                ));
            }
        }
        if stops.is_empty() {
            return Ok(());
        }
        Err(format!(
            "the source holds objects pgbarge cannot recreate yet; nothing was written:\n  - {}",
            stops.join("\n  - ")
        ))
    }
}

/// An object the plan needs but does not create.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outside {
    /// `table`, `view`, `sequence`, `type`, `function`, ...
    pub kind: String,
    /// Its target name as the server spells it (`util.next_code()`).
    pub name: String,
    /// Its target schema.
    pub schema: String,
    /// The objects of the plan that need it (`table app.a`).
    pub needed_by: Vec<String>,
    /// Whether its schema is one the selection reads (then the object was
    /// left out by `--table`/`--exclude-table`, or is one pgbarge does not
    /// recreate).
    #[serde(default)]
    pub in_selected_schema: bool,
}

impl Outside {
    /// What to say when the target lacks it.
    pub fn missing(&self) -> String {
        if self.schema.is_empty() {
            return format!(
                "{}, which belongs to the database (no schema) and the target does not have: \
                 create it on the target first",
                self.need()
            );
        }
        format!(
            "{}, which the selection leaves out and the target does not have: {}, or create it \
             on the target first",
            self.need(),
            if self.in_selected_schema {
                "keep it in the selection (--table/--exclude-table), or leave out what needs it"
                    .to_string()
            } else {
                format!(
                    "add --schema {} (or the object to the selection)",
                    crate::catalog::quote_ident(&self.schema)
                )
            }
        )
    }

    /// What a dump says of it: the restore target must have it.
    pub fn not_in_dump(&self) -> String {
        if self.schema.is_empty() {
            return format!(
                "{}, which belongs to the database (no schema): it must exist where the dump is \
                 restored",
                self.need()
            );
        }
        format!(
            "{}, which the dump does not hold ({}): it must exist where the dump is restored",
            self.need(),
            if self.in_selected_schema {
                "the selection leaves it out".to_string()
            } else {
                format!(
                    "it is in schema {}, outside the selection",
                    crate::catalog::quote_ident(&self.schema)
                )
            }
        )
    }

    /// `table app.a needs function util.f()`.
    fn need(&self) -> String {
        format!(
            "{} {} {} {}",
            self.needed_by.join(", "),
            if self.needed_by.len() > 1 {
                "need"
            } else {
                "needs"
            },
            self.kind,
            self.name
        )
    }
}

impl SchemaPlan {
    /// Every statement, for renaming.
    fn statements_mut(&mut self) -> impl Iterator<Item = &mut Statement> {
        self.extensions
            .iter_mut()
            .chain(&mut self.pre)
            .chain(&mut self.indexes)
            .chain(&mut self.post)
            .chain(&mut self.validations)
            .chain(&mut self.access)
            .chain(&mut self.publications)
    }

    /// Leave out of a plan read earlier (a dump's) the `excluded` objects
    /// and every object of `dropped_schemas`: each statement that names
    /// one of them, and in turn what such a statement would have created
    /// (a view over a left-out table goes, then its refresh and grants).
    /// Returns every object left out, tables among them.
    pub fn keep_only(
        &mut self,
        excluded: HashSet<QualName>,
        dropped_schemas: &HashSet<String>,
    ) -> HashSet<QualName> {
        let mut out = excluded;
        out.extend(
            self.names
                .iter()
                .filter(|n| dropped_schemas.contains(&n.schema))
                .cloned(),
        );
        let names_out = |sql: &str, out: &HashSet<QualName>| {
            lexer::qualified_names(sql)
                .into_iter()
                .any(|(s, n)| out.contains(&QualName::new(s, n)))
        };
        loop {
            let before = out.len();
            let mut more = Vec::new();
            for st in self.statements() {
                if names_out(&st.sql, &out) {
                    if let Some((s, n)) = lexer::created_object(&st.sql) {
                        more.push(QualName::new(s, n));
                    }
                }
            }
            out.extend(more);
            if out.len() == before {
                break;
            }
        }
        // A constraint that goes (a foreign key to a left-out table) takes
        // its validation and comment with it.
        let gone_keys: HashSet<&Part> = self
            .statements()
            .filter(|st| st.kind == Kind::Constraint && names_out(&st.sql, &out))
            .filter_map(|st| st.part.as_ref())
            .collect();
        let gone_keys: HashSet<Part> = gone_keys.into_iter().cloned().collect();
        let keep = |st: &Statement| {
            // (A partition's index attached to its parent's names only
            // indexes: it goes with the partition.)
            if names_out(&st.sql, &out) || st.part.as_ref().is_some_and(|p| out.contains(&p.table))
            {
                return false;
            }
            let of_key = matches!(st.kind, Kind::KeyValidation | Kind::Comment);
            !(of_key && st.part.as_ref().is_some_and(|p| gone_keys.contains(p)))
        };
        self.pre.retain(keep);
        // Bodies are not parsed; one that spells a left-out name is kept
        // and named, since it fails when it runs that part.
        for st in self.pre.iter().filter(|st| st.kind == Kind::Function) {
            let mut gone: Vec<String> = lexer::body_names(&st.sql)
                .into_iter()
                .map(|(s, n)| QualName::new(s, n))
                .filter(|n| out.contains(n))
                .map(|n| n.to_string())
                .collect();
            gone.sort();
            gone.dedup();
            if !gone.is_empty() {
                self.warnings.push(format!(
                    "{}: its body mentions {}, which the selection leaves out; it is restored \
                     and fails when it reaches that name",
                    st.what,
                    gone.join(", ")
                ));
            }
        }
        let kept: Vec<bool> = self.indexes.iter().map(keep).collect();
        let mut flags = kept.iter();
        self.indexes.retain(|_| *flags.next().unwrap_or(&true));
        let mut flags = kept.iter();
        self.index_tables.retain(|_| *flags.next().unwrap_or(&true));
        self.post.retain(keep);
        self.validations.retain(keep);
        self.access.retain(keep);
        self.publications.retain(keep);
        self.schemas.retain(|s| !dropped_schemas.contains(s));
        self.sequences.retain(|(_, t)| !out.contains(t));
        self.created.retain(|c| !out.contains(&c.name));
        // Only the roles a staying statement names must exist where the
        // plan is applied (one that owns only what is left out need not):
        // owners, grants, default privileges, a server's user mappings.
        let spelled: HashSet<String> = self
            .statements()
            .filter(|st| {
                matches!(
                    st.kind,
                    Kind::Owner | Kind::Privileges | Kind::DefaultPrivileges | Kind::Server
                )
            })
            .flat_map(|st| {
                lexer::tokenize(&st.sql)
                    .into_iter()
                    .filter_map(|t| t.name())
            })
            .collect();
        self.owners.retain(|r| spelled.contains(r));
        self.grantees.retain(|r| spelled.contains(r));
        out
    }

    /// For `--table` at restore, as a dump with `--table` chooses: the
    /// objects (types, functions, sequences, views, ...) that none of the
    /// `chosen` tables needs, directly or through one another. `tables`
    /// is every table of the plan. A statement works for the object it
    /// creates, or else for the first object it names (an index, a key, a
    /// comment, a grant); when that object stays, what the statement
    /// names is needed, also inside a function's body. Returns the
    /// objects not needed, and every name the staying statements spell
    /// (their schemas must stay: an extension's type lives in one).
    pub fn not_needed(
        &self,
        tables: &HashSet<QualName>,
        chosen: &HashSet<QualName>,
    ) -> (HashSet<QualName>, HashSet<QualName>) {
        let qual = |v: Vec<(String, String)>| -> Vec<QualName> {
            v.into_iter().map(|(s, n)| QualName::new(s, n)).collect()
        };
        let mut optional = HashSet::new();
        let mut works: Vec<(Option<QualName>, Vec<QualName>)> = Vec::new();
        for st in self.statements() {
            let mut names = qual(lexer::referenced_names(&st.sql));
            // A function's body is not parsed, but what it spells is
            // taken as needed (a sequence its nextval() uses).
            names.extend(qual(lexer::body_names(&st.sql)));
            let created = lexer::created_object(&st.sql).map(|(s, n)| QualName::new(s, n));
            if let Some(c) = created.as_ref().filter(|c| !tables.contains(*c)) {
                optional.insert(c.clone());
            }
            works.push((created.or_else(|| names.first().cloned()), names));
        }
        let mut need: HashSet<QualName> = HashSet::new();
        loop {
            let before = need.len();
            for (subject, names) in &works {
                let stays = match subject {
                    Some(s) if optional.contains(s) => need.contains(s),
                    Some(s) if tables.contains(s) => chosen.contains(s),
                    _ => true,
                };
                if stays {
                    need.extend(names.iter().cloned());
                }
            }
            if need.len() == before {
                break;
            }
        }
        (optional.difference(&need).cloned().collect(), need)
    }

    /// For `--table` at restore: leave out the extensions nothing kept
    /// uses. A plan does not record an extension's members, so this goes
    /// by schema: an extension stays when a name the kept statements spell
    /// (`named`) lives in its schema and no statement of the plan creates
    /// it (so it can only come from an extension there), or when its
    /// schema is one of `wanted`.
    pub fn drop_unused_extensions(&mut self, named: &HashSet<QualName>, wanted: &[String]) {
        let created: HashSet<QualName> = self
            .statements()
            .filter_map(|st| lexer::created_object(&st.sql))
            .map(|(s, n)| QualName::new(s, n))
            .collect();
        let used: HashSet<&str> = named
            .iter()
            .filter(|n| !created.contains(*n))
            .map(|n| n.schema.as_str())
            .collect();
        let keep: Vec<bool> = self
            .extension_schemas
            .iter()
            .map(|s| used.contains(s.as_str()) || wanted.contains(s))
            .collect();
        let mut flags = keep.iter();
        self.extensions.retain(|_| *flags.next().unwrap_or(&true));
        let mut flags = keep.iter();
        self.extension_names
            .retain(|_| *flags.next().unwrap_or(&true));
        let mut flags = keep.iter();
        self.extension_schemas
            .retain(|_| *flags.next().unwrap_or(&true));
    }

    fn statements(&self) -> impl Iterator<Item = &Statement> {
        self.extensions
            .iter()
            .chain(&self.pre)
            .chain(&self.indexes)
            .chain(&self.post)
            .chain(&self.validations)
            .chain(&self.access)
            .chain(&self.publications)
    }

    /// The first statement that holds more than pgbarge writes there,
    /// named with the reason: one statement, or for an extension and the
    /// revoking of an object's default privileges the statements pgbarge
    /// writes together (see `lexer::statement_parts`). A source server or a dump
    /// that produced more is not trusted with the target.
    pub fn not_one_statement(&self) -> Option<String> {
        self.statements().find_map(|st| {
            let why = match crate::ddl::lexer::statement_parts(&st.sql) {
                Err(why) => why,
                Ok(parts) if parts.len() == 1 || parts_written(st.kind, &parts) => return None,
                Ok(_) => "it holds a second statement after a `;`",
            };
            Some(format!(
                "the statement for {} is not one statement: {why}",
                crate::ddl::quote::comment_text(&st.what)
            ))
        })
    }

    /// Rename schemas in a plan read earlier (a dump's), names and
    /// statements alike, with the same lexer rules as a copy. Function
    /// bodies stay as they are; those that mention a renamed schema are
    /// named in `warnings`.
    pub fn remap(&mut self, pairs: &[(String, String)]) {
        if pairs.is_empty() {
            return;
        }
        let map: HashMap<String, String> = pairs.iter().cloned().collect();
        // What `X.Y` may refer to: the names the dump recorded, and what
        // the plan itself creates (a dump of an earlier version recorded
        // no conversions, for one).
        let created = self
            .created
            .iter()
            .filter(|c| {
                !matches!(
                    c.kind,
                    ObjectKind::Cast | ObjectKind::Transform | ObjectKind::LargeObject
                )
            })
            .map(|c| &c.name);
        let known = Known(
            self.names
                .iter()
                .chain(created)
                .map(|n| (n.schema.clone(), n.name.clone()))
                .collect(),
            HashMap::new(),
        );
        let m = Mapper {
            map: map.clone(),
            known: &known,
        };
        let rename = |n: &mut QualName| *n = m.name(n);
        for s in self.schemas.iter_mut().chain(&mut self.extension_schemas) {
            *s = m.schema(s).to_string();
        }
        self.index_tables.iter_mut().flatten().for_each(rename);
        self.no_analyze.iter_mut().for_each(rename);
        for (_, to) in &mut self.sequences {
            rename(to);
        }
        let mut warnings = Vec::new();
        for st in self.statements_mut() {
            if let Some(p) = &mut st.part {
                rename(&mut p.table);
            }
            if st.kind == Kind::Function {
                let mentioned: Vec<String> = lexer::tokenize(&st.sql)
                    .iter()
                    .filter(|t| t.kind == lexer::Kind::Dollar)
                    .flat_map(|t| lexer::mentioned_schemas(t.text, &map))
                    .collect();
                if !mentioned.is_empty() {
                    warnings.push(format!(
                        "{}: its body mentions schema {} which is mapped; the body is restored \
                         unchanged",
                        st.what,
                        mentioned.join(", ")
                    ));
                }
            }
            st.sql = lexer::rename_statement(&st.sql, &map, &known);
        }
        for c in &mut self.created {
            if c.kind == ObjectKind::Cast {
                // (source type, target type), each renamed as SQL is.
                c.name = QualName::new(m.sql(&c.name.schema), m.sql(&c.name.name));
            } else if c.kind == ObjectKind::Transform {
                // (type, language): the type renamed as SQL is.
                c.name = QualName::new(m.sql(&c.name.schema), c.name.name.clone());
            } else if !matches!(
                c.kind,
                ObjectKind::Publication | ObjectKind::EventTrigger | ObjectKind::LargeObject
            ) {
                rename(&mut c.name);
            }
            if let Some(a) = &mut c.args {
                *a = m.sql(a);
            }
        }
        for n in &mut self.names {
            rename(n);
        }
        for o in &mut self.outside {
            o.name = m.sql(&o.name);
            o.schema = m.schema(&o.schema).to_string();
        }
        self.warnings.extend(warnings);
    }

    /// Leave out owners (`--no-owner`): objects then belong to the role
    /// that runs the statements.
    pub fn drop_owners(&mut self) {
        let owner = |st: &Statement| st.kind == Kind::Owner;
        self.access.retain(|st| !owner(st));
        self.publications.retain(|st| !owner(st));
        // Default privileges then apply to the restoring role, which
        // owns what it creates.
        for st in &mut self.access {
            if let Some(sql) = without_for_role(&st.sql) {
                st.sql = sql;
            }
        }
        self.owners.clear();
    }

    /// Leave out grants (`--no-privileges`), default privileges too.
    pub fn drop_privileges(&mut self) {
        self.access
            .retain(|st| !matches!(st.kind, Kind::Privileges | Kind::DefaultPrivileges));
        self.grantees.clear();
    }

    /// Leave out the large objects and their comments, owners and grants
    /// (a restore of chosen tables, as a copy or dump of chosen tables).
    pub fn drop_large_objects(&mut self) {
        self.large_objects.clear();
        self.created.retain(|c| c.kind != ObjectKind::LargeObject);
        for list in [&mut self.post, &mut self.access] {
            list.retain(|st| st.large_object.is_none());
        }
    }

    /// Build the keys and indexes of `tables` (target names: tables too
    /// small for an index build after the rows to be worth its own step)
    /// with the schema, before any row: their rows then go into built
    /// indexes, and each statement runs once, where after the rows it
    /// would also have been tried beforehand. A key whose index was split
    /// from it becomes the constraint right after its index. A foreign key
    /// of such a table is added checked, in one statement, instead of
    /// `NOT VALID` and validated: checking a few rows costs less than the
    /// second statement. Returns how many statements moved or merged.
    pub fn build_with_tables(&mut self, tables: &HashSet<QualName>) -> usize {
        if tables.is_empty() {
            return 0;
        }
        let mut moved = Vec::new();
        let mut kept = Vec::new();
        let mut kept_tables = Vec::new();
        for (st, table) in std::mem::take(&mut self.indexes)
            .into_iter()
            .zip(std::mem::take(&mut self.index_tables))
        {
            let with_table = table.as_ref().is_some_and(|t| tables.contains(t))
                && matches!(
                    st.kind,
                    Kind::ConstraintIndex | Kind::Index | Kind::Constraint
                );
            if let (true, Some(t)) = (with_table, &table) {
                moved.push((st, t.clone()));
            } else {
                kept.push(st);
                kept_tables.push(table);
            }
        }
        self.indexes = kept;
        self.index_tables = kept_tables;
        let mut count = moved.len();
        // The `ADD CONSTRAINT .. USING INDEX` of each split key follows
        // its index.
        let split: HashSet<Part> = moved
            .iter()
            .filter(|(st, _)| st.kind == Kind::ConstraintIndex)
            .filter_map(|(st, _)| st.part.clone())
            .collect();
        let mut attach: HashMap<Part, Statement> = HashMap::new();
        self.post.retain(|st| {
            let key = st.kind == Kind::Constraint
                && st.part.as_ref().is_some_and(|p| split.contains(p))
                && !attach.contains_key(st.part.as_ref().expect("checked"));
            if key {
                attach.insert(st.part.clone().expect("checked"), st.clone());
            }
            !key
        });
        count += attach.len();
        // Side by side after everything else: one unit per table.
        let wave = self
            .pre
            .iter()
            .filter_map(|st| st.slot.map(|s| s.wave + 1))
            .max()
            .unwrap_or(0);
        let mut units: HashMap<QualName, u32> = HashMap::new();
        for (mut st, table) in moved {
            let mut then = (st.kind == Kind::ConstraintIndex)
                .then(|| st.part.as_ref().and_then(|p| attach.remove(p)))
                .flatten();
            // A split key on a still empty table: in one statement.
            if let Some(key) = then.take_if(|_| st.part.is_some()) {
                match st.part.as_ref().and_then(|p| self.whole_keys.get(p)) {
                    Some(whole) => {
                        st = Statement {
                            sql: whole.clone(),
                            ..key
                        }
                    }
                    None => then = Some(key),
                }
            }
            let next = u32::try_from(units.len()).unwrap_or(u32::MAX);
            let slot = Some(Slot {
                wave,
                unit: *units.entry(table).or_insert(next),
            });
            st.slot = slot;
            self.pre.push(st);
            self.pre.extend(then.map(|mut t| {
                t.slot = slot;
                t
            }));
        }
        // Foreign keys of these tables: checked as they are added.
        let checked: HashSet<Part> = self
            .validations
            .iter()
            .filter_map(|v| v.part.clone())
            .filter(|p| tables.contains(&p.table))
            .collect();
        let mut merged = HashSet::new();
        for st in &mut self.post {
            let Some(p) = st.part.as_ref().filter(|p| checked.contains(*p)) else {
                continue;
            };
            if st.kind != Kind::Constraint || merged.contains(p) {
                continue;
            }
            if let Some(sql) = st.sql.strip_suffix(" NOT VALID") {
                st.sql = sql.to_string();
                merged.insert(p.clone());
            }
        }
        self.validations
            .retain(|v| !v.part.as_ref().is_some_and(|p| merged.contains(p)));
        let count = count + merged.len();
        self.valid_at_once.extend(merged);
        count
    }
}

/// `ALTER DEFAULT PRIVILEGES FOR ROLE "r" IN ...` without its `FOR ROLE
/// "r"` (a quoted identifier, `""` inside it); None for other SQL.
fn without_for_role(sql: &str) -> Option<String> {
    const HEAD: &str = "ALTER DEFAULT PRIVILEGES FOR ROLE \"";
    let rest = sql.strip_prefix(HEAD)?;
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            if bytes.get(i + 1) == Some(&b'"') {
                i += 2;
                continue;
            }
            return Some(format!("ALTER DEFAULT PRIVILEGES{}", &rest[i + 1..]));
        }
        i += 1;
    }
    None
}

/// Names in the mapped schemas, so `X.Y` is renamed only when schema X
/// holds an object Y.
pub(super) struct Known(
    pub(super) HashSet<(String, String)>,
    pub(super) HashMap<(String, String), String>,
);

impl Qualifies for Known {
    fn holds(&self, schema: &str, name: &str) -> bool {
        self.0.contains(&(schema.to_string(), name.to_string()))
    }

    fn relocated(&self, schema: &str, name: &str) -> Option<String> {
        self.1.get(&(schema.to_string(), name.to_string())).cloned()
    }
}

/// Whether `parts` are the statements pgbarge writes as one for a
/// statement of `kind`: an extension's schema, then the extension; the
/// revoking of an object's privileges from PUBLIC, then (each on the
/// same object) from its owner and, for a large object, its grants.
fn parts_written(kind: Kind, parts: &[&str]) -> bool {
    let [first, rest @ ..] = parts else {
        return false;
    };
    match (kind, rest) {
        (Kind::Extension, [second]) => {
            first.starts_with("CREATE SCHEMA IF NOT EXISTS ")
                && second
                    .trim_start()
                    .starts_with("CREATE EXTENSION IF NOT EXISTS ")
        }
        (Kind::Privileges, _) => {
            let Some(head) = first
                .strip_suffix("PUBLIC")
                .filter(|h| h.starts_with("REVOKE ALL ON ") && h.ends_with(" FROM "))
            else {
                return false;
            };
            let on = &head["REVOKE ALL ON".len()..head.len() - "FROM ".len()];
            rest.iter().map(|p| p.trim_start()).all(|p| {
                p.starts_with(head)
                    || on.starts_with(" LARGE OBJECT ")
                        && p.starts_with("GRANT ")
                        && p.contains(&format!(" ON{on}TO "))
            })
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dump_without_recorded_names_still_renames_what_it_creates() {
        let mut plan = SchemaPlan {
            pre: vec![Statement::new(
                Kind::Conversion,
                "conversion app.c",
                "CREATE CONVERSION \"app\".\"c\" FOR 'LATIN1' TO 'UTF8' FROM \"pg_catalog\".\"f\"",
            )],
            created: vec![Created {
                kind: ObjectKind::Conversion,
                name: QualName::new("app", "c"),
                args: None,
            }],
            ..SchemaPlan::default()
        };
        plan.remap(&[("app".into(), "moved".into())]);
        assert_eq!(
            plan.pre[0].sql,
            "CREATE CONVERSION moved.\"c\" FOR 'LATIN1' TO 'UTF8' FROM \"pg_catalog\".\"f\""
        );
    }

    #[test]
    fn only_the_pairs_pgbarge_writes_pass_as_one_statement() {
        let plan = |kind, sql: &str| SchemaPlan {
            access: vec![Statement::new(kind, "privileges on table t", sql)],
            ..SchemaPlan::default()
        };
        for (kind, sql) in [
            (Kind::Table, "CREATE TABLE t (a int)"),
            (
                Kind::Rule,
                "CREATE RULE r AS ON DELETE TO t DO INSTEAD NOTHING;",
            ),
            (
                Kind::Privileges,
                "REVOKE ALL ON TABLE t FROM PUBLIC; REVOKE ALL ON TABLE t FROM \"o;x\"",
            ),
            (
                Kind::Extension,
                "CREATE SCHEMA IF NOT EXISTS x; CREATE EXTENSION IF NOT EXISTS y WITH SCHEMA x",
            ),
            (
                Kind::Privileges,
                "REVOKE ALL ON LARGE OBJECT 7 FROM PUBLIC; REVOKE ALL ON LARGE OBJECT 7 FROM o; \
                 GRANT SELECT ON LARGE OBJECT 7 TO u WITH GRANT OPTION",
            ),
        ] {
            assert_eq!(plan(kind, sql).not_one_statement(), None, "{sql}");
        }
        for (kind, sql) in [
            (Kind::Table, "CREATE TABLE t (a int); DROP TABLE u"),
            (Kind::Table, "CREATE TABLE t (a int)\n\\! ls\n"),
            (Kind::Privileges, "REVOKE ALL ON TABLE t FROM PUBLIC; DROP TABLE u"),
            (
                Kind::Privileges,
                "REVOKE ALL ON TABLE t FROM PUBLIC; REVOKE ALL ON TABLE u FROM PUBLIC",
            ),
            (
                Kind::Privileges,
                "REVOKE ALL ON TABLE t; DROP TABLE u; FROM PUBLIC; REVOKE ALL ON TABLE t; DROP TABLE u; FROM o",
            ),
            (Kind::Extension, "CREATE SCHEMA IF NOT EXISTS x; DROP SCHEMA y"),
            (
                Kind::Privileges,
                "REVOKE ALL ON TABLE t FROM PUBLIC; GRANT SELECT ON TABLE t TO u",
            ),
        ] {
            let why = plan(kind, sql).not_one_statement();
            assert!(why.is_some_and(|w| w.contains("privileges on table t")), "{sql}");
        }
    }

    #[test]
    fn what_cannot_be_recreated_stops_the_plan_unless_left_out_by_choice() {
        let plan = || SchemaPlan {
            unsupported: vec![Unsupported {
                kind: "security-label".into(),
                names: "table app.t".into(),
            }],
            ..Default::default()
        };
        let err = plan().leave_out(&[]).unwrap_err();
        assert!(
            err.contains("security label table app.t")
                && err.contains("--leave-out security-label")
                && err.contains("nothing was written"),
            "{err}"
        );
        let mut p = plan();
        p.leave_out(&["security-label".into()]).unwrap();
        assert_eq!(
            p.warnings,
            ["left out (--leave-out security-label): table app.t"]
        );
        let err = plan().leave_out(&["colation".into()]).unwrap_err();
        assert!(err.contains("not a kind"), "{err}");
    }

    #[test]
    fn default_privileges_lose_their_role_with_no_owner() {
        assert_eq!(
            super::without_for_role(
                r#"ALTER DEFAULT PRIVILEGES FOR ROLE "a""b IN SCHEMA x" IN SCHEMA "app" GRANT SELECT ON TABLES TO "r""#
            )
            .as_deref(),
            Some(r#"ALTER DEFAULT PRIVILEGES IN SCHEMA "app" GRANT SELECT ON TABLES TO "r""#)
        );
        assert_eq!(super::without_for_role("GRANT SELECT ON t TO r"), None);
    }

    fn st(what: &str, sql: &str) -> Statement {
        crate::catalog::statement::derive(what.into(), sql.into())
    }

    #[test]
    fn small_tables_keys_and_indexes_go_with_the_schema_and_their_foreign_keys_in_one_step() {
        let (a, b, big) = (
            QualName::new("app", "a"),
            QualName::new("app", "b"),
            QualName::new("app", "big"),
        );
        let of = |kind, sql: &str, part: &str, t: &QualName| {
            Statement::new(kind, format!("{part} on {t}"), sql).of_part(part, t.clone())
        };
        let mut plan = SchemaPlan {
            pre: vec![
                st("table app.a", "CREATE TABLE app.a (id int)"),
                st("table app.b", "CREATE TABLE app.b (a_id int)"),
            ],
            indexes: vec![
                of(Kind::ConstraintIndex, "CREATE UNIQUE INDEX a_pkey ON app.a (id)", "a_pkey", &a),
                Statement::new(Kind::Index, "index app.a_i", "CREATE INDEX a_i ON app.a (id)"),
                of(Kind::ConstraintIndex, "CREATE UNIQUE INDEX big_pkey ON app.big (id)", "big_pkey", &big),
                Statement::new(Kind::Statistics, "statistics app.s", "CREATE STATISTICS app.s ON id, a_id FROM app.b"),
            ],
            index_tables: vec![Some(a.clone()), Some(a.clone()), Some(big.clone()), None],
            post: vec![
                of(Kind::Constraint, "ALTER TABLE ONLY app.a ADD CONSTRAINT a_pkey PRIMARY KEY USING INDEX a_pkey", "a_pkey", &a),
                of(Kind::Constraint, "ALTER TABLE ONLY app.big ADD CONSTRAINT big_pkey PRIMARY KEY USING INDEX big_pkey", "big_pkey", &big),
                of(Kind::Constraint, "ALTER TABLE ONLY app.b ADD CONSTRAINT b_fk FOREIGN KEY (a_id) REFERENCES app.a(id) NOT VALID", "b_fk", &b),
                of(Kind::Constraint, "ALTER TABLE ONLY app.big ADD CONSTRAINT big_fk FOREIGN KEY (id) REFERENCES app.a(id) NOT VALID", "big_fk", &big),
                of(Kind::Comment, "COMMENT ON CONSTRAINT b_fk ON app.b IS 'x'", "b_fk", &b),
            ],
            validations: vec![
                of(Kind::KeyValidation, "ALTER TABLE ONLY app.b VALIDATE CONSTRAINT b_fk", "b_fk", &b),
                of(Kind::KeyValidation, "ALTER TABLE ONLY app.big VALIDATE CONSTRAINT big_fk", "big_fk", &big),
            ],
            ..Default::default()
        };
        let small: HashSet<QualName> = [a.clone(), b.clone()].into();
        assert_eq!(plan.build_with_tables(&small), 4);
        let sqls = |v: &[Statement]| v.iter().map(|s| s.sql.clone()).collect::<Vec<_>>();
        assert_eq!(
            sqls(&plan.pre),
            [
                "CREATE TABLE app.a (id int)",
                "CREATE TABLE app.b (a_id int)",
                "CREATE UNIQUE INDEX a_pkey ON app.a (id)",
                "ALTER TABLE ONLY app.a ADD CONSTRAINT a_pkey PRIMARY KEY USING INDEX a_pkey",
                "CREATE INDEX a_i ON app.a (id)",
            ]
        );
        assert_eq!(
            sqls(&plan.indexes),
            [
                "CREATE UNIQUE INDEX big_pkey ON app.big (id)",
                "CREATE STATISTICS app.s ON id, a_id FROM app.b",
            ]
        );
        assert_eq!(plan.index_tables, [Some(big.clone()), None]);
        assert_eq!(
            sqls(&plan.post),
            [
                "ALTER TABLE ONLY app.big ADD CONSTRAINT big_pkey PRIMARY KEY USING INDEX big_pkey",
                "ALTER TABLE ONLY app.b ADD CONSTRAINT b_fk FOREIGN KEY (a_id) REFERENCES app.a(id)",
                "ALTER TABLE ONLY app.big ADD CONSTRAINT big_fk FOREIGN KEY (id) REFERENCES app.a(id) NOT VALID",
                "COMMENT ON CONSTRAINT b_fk ON app.b IS 'x'",
            ]
        );
        assert_eq!(
            sqls(&plan.validations),
            ["ALTER TABLE ONLY app.big VALIDATE CONSTRAINT big_fk"]
        );
        // Only the key now added valid may be tried NOT VALID.
        let at_once: Vec<&Part> = plan.valid_at_once.iter().collect();
        assert_eq!(
            at_once,
            [&Part {
                name: "b_fk".into(),
                table: b.clone()
            }]
        );
        // Nothing chosen, nothing changes.
        assert_eq!(plan.build_with_tables(&HashSet::new()), 0);
    }

    #[test]
    fn a_split_key_built_with_the_schema_is_one_statement_when_its_whole_form_is_known() {
        let (a, big) = (QualName::new("app", "a"), QualName::new("app", "big"));
        let of = |kind, sql: &str, part: &str, t: &QualName| {
            Statement::new(kind, format!("constraint {part} on {t}"), sql).of_part(part, t.clone())
        };
        let part = |name: &str, t: &QualName| Part {
            name: name.into(),
            table: t.clone(),
        };
        let mut plan = SchemaPlan {
            pre: vec![st("table app.a", "CREATE TABLE app.a (id int)")],
            indexes: vec![
                of(Kind::ConstraintIndex, "CREATE UNIQUE INDEX a_pkey ON app.a (id)", "a_pkey", &a),
                of(Kind::ConstraintIndex, "CREATE UNIQUE INDEX big_pkey ON app.big (id)", "big_pkey", &big),
            ],
            index_tables: vec![Some(a.clone()), Some(big.clone())],
            post: vec![
                of(Kind::Constraint, "ALTER TABLE ONLY app.a ADD CONSTRAINT a_pkey PRIMARY KEY USING INDEX a_pkey DEFERRABLE", "a_pkey", &a),
                of(Kind::Constraint, "ALTER TABLE ONLY app.big ADD CONSTRAINT big_pkey PRIMARY KEY USING INDEX big_pkey", "big_pkey", &big),
            ],
            whole_keys: [
                (part("a_pkey", &a), "ALTER TABLE ONLY app.a ADD CONSTRAINT a_pkey PRIMARY KEY (id) DEFERRABLE".to_string()),
                (part("big_pkey", &big), "ALTER TABLE ONLY app.big ADD CONSTRAINT big_pkey PRIMARY KEY (id)".to_string()),
            ]
            .into(),
            ..Default::default()
        };
        plan.build_with_tables(&[a.clone()].into());
        let sqls = |v: &[Statement]| v.iter().map(|s| s.sql.clone()).collect::<Vec<_>>();
        // The small table's key in one statement, named as the constraint;
        // the big table's still built as its index, made the key after.
        assert_eq!(
            sqls(&plan.pre),
            [
                "CREATE TABLE app.a (id int)",
                "ALTER TABLE ONLY app.a ADD CONSTRAINT a_pkey PRIMARY KEY (id) DEFERRABLE",
            ]
        );
        assert_eq!(plan.pre[1].kind, Kind::Constraint);
        assert_eq!(plan.pre[1].part, Some(part("a_pkey", &a)));
        assert!(plan.pre[1].slot.is_some());
        assert_eq!(
            sqls(&plan.indexes),
            ["CREATE UNIQUE INDEX big_pkey ON app.big (id)"]
        );
        assert_eq!(
            sqls(&plan.post),
            ["ALTER TABLE ONLY app.big ADD CONSTRAINT big_pkey PRIMARY KEY USING INDEX big_pkey"]
        );
    }

    #[test]
    fn keep_only_drops_what_names_a_left_out_object_and_what_depends_on_that() {
        let mut plan = SchemaPlan {
            schemas: vec!["app".into(), "other".into()],
            pre: vec![
                st(
                    "function app.f()",
                    r#"CREATE FUNCTION "app"."f"() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN DELETE FROM app.a; RETURN NULL; END$$"#,
                ),
                st("table app.a", r#"CREATE TABLE "app"."a" (id int)"#),
                st("table app.b", r#"CREATE TABLE "app"."b" (a_id int)"#),
                st("type other.t", r#"CREATE TYPE "other"."t" AS ENUM ('x')"#),
                st("table app.c", r#"CREATE TABLE "app"."c" (v "other"."t")"#),
                st(
                    "view app.v",
                    r#"CREATE VIEW "app"."v" AS SELECT id FROM "app"."a""#,
                ),
                st(
                    "view app.w",
                    r#"CREATE VIEW "app"."w" AS SELECT id FROM "app"."v""#,
                ),
            ],
            indexes: vec![st(
                "index app.b_i",
                r#"CREATE INDEX b_i ON "app"."b" (a_id)"#,
            )],
            index_tables: vec![Some(QualName::new("app", "b"))],
            post: vec![
                st(
                    "constraint b_fk on app.b",
                    r#"ALTER TABLE ONLY "app"."b" ADD CONSTRAINT "b_fk" FOREIGN KEY (a_id) REFERENCES "app"."a"(id) NOT VALID"#,
                ),
                st(
                    "comment on constraint b_fk",
                    r#"COMMENT ON CONSTRAINT "b_fk" ON "app"."b" IS 'k'"#,
                ),
                st(
                    "trigger g on app.b",
                    r#"CREATE TRIGGER g AFTER INSERT ON "app"."b" FOR EACH ROW EXECUTE FUNCTION "app"."f"()"#,
                ),
            ],
            validations: vec![st(
                "validation of foreign key b_fk on app.b",
                r#"ALTER TABLE ONLY "app"."b" VALIDATE CONSTRAINT "b_fk""#,
            )],
            access: vec![st(
                "privileges on view app.w",
                r#"GRANT SELECT ON "app"."w" TO r"#,
            )],
            names: ["a", "b", "c", "v", "w", "f"]
                .iter()
                .map(|n| QualName::new("app", *n))
                .chain([QualName::new("other", "t")])
                .collect(),
            ..SchemaPlan::default()
        };
        let out = plan.keep_only(
            HashSet::from([QualName::new("app", "a")]),
            &HashSet::from(["other".to_string()]),
        );
        let whats = |v: &[Statement]| v.iter().map(|s| s.what.clone()).collect::<Vec<_>>();
        assert_eq!(whats(&plan.pre), ["function app.f()", "table app.b"]);
        assert!(
            plan.warnings
                .iter()
                .any(|w| w.starts_with("function app.f(): its body mentions app.a,")),
            "{:?}",
            plan.warnings
        );
        assert_eq!(whats(&plan.indexes), ["index app.b_i"]);
        assert_eq!(plan.index_tables.len(), 1);
        assert_eq!(whats(&plan.post), ["trigger g on app.b"]);
        assert!(plan.validations.is_empty() && plan.access.is_empty());
        assert_eq!(plan.schemas, ["app"]);
        for gone in ["a", "c", "v", "w"] {
            assert!(out.contains(&QualName::new("app", gone)), "{gone}");
        }
        assert!(!out.contains(&QualName::new("app", "b")));
    }

    #[test]
    fn not_needed_keeps_what_chosen_tables_need_through_one_another() {
        let plan = SchemaPlan {
            pre: vec![
                st(
                    "function app.pos",
                    r#"CREATE FUNCTION "app"."pos"(int) RETURNS bool AS 'x'"#,
                ),
                st(
                    "domain app.d",
                    r#"CREATE DOMAIN "app"."d" AS int CHECK ("app"."pos"(VALUE))"#,
                ),
                st("sequence app.s", r#"CREATE SEQUENCE "app"."s""#),
                st(
                    "type app.unused",
                    r#"CREATE TYPE "app"."unused" AS ENUM ('x')"#,
                ),
                st(
                    "function app.trg",
                    r#"CREATE FUNCTION "app"."trg"() RETURNS trigger AS 'x'"#,
                ),
                st(
                    "table app.a",
                    r#"CREATE TABLE "app"."a" (id int DEFAULT nextval('app.s'::regclass), v "app"."d", w "ext"."citext")"#,
                ),
                st("table app.b", r#"CREATE TABLE "app"."b" (id int)"#),
                st(
                    "view app.v",
                    r#"CREATE VIEW "app"."v" AS SELECT id FROM "app"."a""#,
                ),
            ],
            post: vec![
                st(
                    "trigger g on app.a",
                    r#"CREATE TRIGGER g AFTER INSERT ON "app"."a" FOR EACH ROW EXECUTE FUNCTION "app"."trg"()"#,
                ),
                st(
                    "comment on type app.unused",
                    r#"COMMENT ON TYPE "app"."unused" IS 'n'"#,
                ),
            ],
            ..SchemaPlan::default()
        };
        let q = |n: &str| QualName::new("app", n);
        let tables = HashSet::from([q("a"), q("b")]);
        let (out, need) = plan.not_needed(&tables, &HashSet::from([q("a")]));
        assert_eq!(out, HashSet::from([q("unused"), q("v")]));
        for n in ["pos", "d", "s", "trg", "a"] {
            assert!(need.contains(&q(n)), "{n}");
        }
        for n in ["unused", "v", "b"] {
            assert!(!need.contains(&q(n)), "{n}");
        }
        // An extension's type: not an object of the plan, but its schema
        // must stay.
        assert!(need.contains(&QualName::new("ext", "citext")));
    }

    #[test]
    fn an_object_outside_the_selection_is_named_with_what_needs_it_and_the_fix() {
        let mut o = Outside {
            kind: "function".into(),
            name: "\"Util\".next_code()".into(),
            schema: "Util".into(),
            needed_by: vec!["table app.a".into()],
            in_selected_schema: false,
        };
        assert_eq!(
            o.missing(),
            "table app.a needs function \"Util\".next_code(), which the selection leaves out and \
             the target does not have: add --schema \"Util\" (or the object to the selection), \
             or create it on the target first"
        );
        o.needed_by.push("view app.v".into());
        assert!(o
            .missing()
            .starts_with("table app.a, view app.v need function"));
        o.in_selected_schema = true;
        assert!(
            o.missing().contains("keep it in the selection"),
            "{}",
            o.missing()
        );
    }

    #[test]
    fn extensions_stay_only_where_a_kept_statement_uses_their_schema() {
        let ext = |name: &str, schema: &str| {
            st(
                &format!("extension {name}"),
                &format!("CREATE EXTENSION IF NOT EXISTS {name} WITH SCHEMA {schema}"),
            )
        };
        let mut plan = SchemaPlan {
            extensions: vec![
                ext("citext", "ext"),
                ext("pgcrypto", "crypto"),
                ext("hstore", "app"),
                ext("cube", "geo"),
            ],
            extension_names: ["citext", "pgcrypto", "hstore", "cube"]
                .map(String::from)
                .to_vec(),
            extension_schemas: ["ext", "crypto", "app", "geo"].map(String::from).to_vec(),
            pre: vec![st("table app.a", r#"CREATE TABLE "app"."a" (id int)"#)],
            ..SchemaPlan::default()
        };
        let named = HashSet::from([
            // Comes from an extension: nothing in the plan creates it.
            QualName::new("ext", "citext"),
            // Created by the plan: says nothing about hstore.
            QualName::new("app", "a"),
        ]);
        plan.drop_unused_extensions(&named, &["geo".to_string()]);
        // pgcrypto (nothing named in crypto) and hstore (app's names are
        // all the plan's own) go.
        assert_eq!(plan.extension_names, ["citext", "cube"]);
        assert_eq!(plan.extension_schemas, ["ext", "geo"]);
        assert_eq!(plan.extensions.len(), 2);
        assert!(plan.extensions[1].sql.contains("cube"));
    }
}
