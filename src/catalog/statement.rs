//! One statement of a schema plan, typed: what kind of statement it is and
//! which table-local object it concerns, so later steps (a restore's
//! selection, `--no-owner`, verify) work from fields, never from the text
//! of its message.
//!
//! Dumps store statements in `schema.json`. Dumps written before the kind
//! was stored carry only the message (`what`) and the SQL; [`derive`]
//! recovers the kind and the part from those, once, when such a dump is
//! read.

use crate::catalog::QualName;
use crate::ddl::lexer;

/// What a statement does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Extension,
    Collation,
    TextSearch,
    Conversion,
    Type,
    /// A function, procedure or aggregate.
    Function,
    Cast,
    Transform,
    Operator,
    OperatorFamily,
    OperatorClass,
    Sequence,
    /// `ALTER SEQUENCE .. OWNED BY`.
    SequenceOwnership,
    /// A sequence's value (`setval`), in SQL scripts.
    SequenceValue,
    Table,
    ForeignTable,
    /// A foreign server or a user mapping.
    Server,
    /// A view or materialized view.
    View,
    /// The real definition of a view created first as a stand-in.
    ViewDefinition,
    /// A view column's default.
    ViewDefault,
    /// `REFRESH MATERIALIZED VIEW`.
    Refresh,
    /// A check, key, unique, exclusion or foreign-key constraint.
    Constraint,
    /// The index a key is then added `USING`.
    ConstraintIndex,
    /// `VALIDATE CONSTRAINT` of a foreign key added `NOT VALID`.
    KeyValidation,
    Index,
    /// An extended statistics object (`CREATE STATISTICS`).
    Statistics,
    /// Planner statistics of a table: carried, or `ANALYZE`.
    TableStatistics,
    RowSecurity,
    ReplicaIdentity,
    Trigger,
    Rule,
    Policy,
    Comment,
    Owner,
    /// Grants and revokes on an object or its columns.
    Privileges,
    DefaultPrivileges,
    Publication,
    EventTrigger,
    /// A statement of a kind this version does not know (from a dump).
    Other,
}

/// A table-local object: a constraint, trigger, rule or policy, by its
/// name and its table's target name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Part {
    pub name: String,
    pub table: QualName,
}

/// One statement with what it does, for messages and for later steps.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(from = "Stored")]
pub struct Statement {
    /// For messages only: nothing may parse it.
    pub what: String,
    pub sql: String,
    pub kind: Kind,
    /// The constraint (trigger, rule, policy) it creates or concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<Part>,
    /// The large object (its oid) it concerns: a comment, owner or grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub large_object: Option<u32>,
    /// Where it may run side by side with its neighbours (statements
    /// before the rows only); None: in order, alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<Slot>,
}

/// A statement before the rows that may run beside others: consecutive
/// statements of one `wave` need nothing of each other's `unit` (what
/// one object needs was created by an earlier wave), so the units of a
/// wave may go on different sessions, each unit's statements in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Slot {
    pub wave: u32,
    pub unit: u32,
}

impl Statement {
    pub fn new(kind: Kind, what: impl Into<String>, sql: impl Into<String>) -> Statement {
        Statement {
            what: what.into(),
            sql: sql.into(),
            kind,
            part: None,
            large_object: None,
            slot: None,
        }
    }

    /// A statement about large object `oid`.
    pub fn of_large_object(mut self, oid: u32) -> Statement {
        self.large_object = Some(oid);
        self
    }

    /// A statement about `name` of `table` (target names).
    pub fn of_part(mut self, name: &str, table: QualName) -> Statement {
        self.part = Some(Part {
            name: name.to_string(),
            table,
        });
        self
    }
}

/// A statement as `schema.json` holds it, in any version.
#[derive(serde::Deserialize)]
struct Stored {
    what: String,
    sql: String,
    #[serde(default)]
    kind: Option<Kind>,
    #[serde(default)]
    part: Option<Part>,
    #[serde(default)]
    large_object: Option<u32>,
    #[serde(default)]
    slot: Option<Slot>,
}

impl From<Stored> for Statement {
    fn from(s: Stored) -> Statement {
        match s.kind {
            Some(kind) => Statement {
                what: s.what,
                sql: s.sql,
                kind,
                part: s.part,
                large_object: s.large_object,
                slot: s.slot,
            },
            None => derive(s.what, s.sql),
        }
    }
}

/// A statement of a dump written before statements stored their kind:
/// the kind from the start of its message, as those versions wrote it,
/// and a constraint's name from the message with its table from the SQL
/// (`ALTER TABLE t ..`, `COMMENT ON CONSTRAINT c ON t`, `.. INDEX i ON t`).
pub fn derive(what: String, sql: String) -> Statement {
    const KINDS: &[(&str, Kind)] = &[
        ("definition of ", Kind::ViewDefinition),
        ("comment on ", Kind::Comment),
        ("extension ", Kind::Extension),
        ("type ", Kind::Type),
        ("function ", Kind::Function),
        ("cast ", Kind::Cast),
        ("transform ", Kind::Transform),
        ("sequence ", Kind::Sequence),
        ("ownership of sequence ", Kind::SequenceOwnership),
        ("constraint ", Kind::Constraint),
        ("row level security on ", Kind::RowSecurity),
        ("replica identity of ", Kind::ReplicaIdentity),
        ("table ", Kind::Table),
        ("validation of foreign key ", Kind::KeyValidation),
        ("index of constraint ", Kind::ConstraintIndex),
        ("index ", Kind::Index),
        ("trigger ", Kind::Trigger),
        ("rule ", Kind::Rule),
        ("policy ", Kind::Policy),
        ("view ", Kind::View),
        ("materialized view ", Kind::View),
        ("column default of view ", Kind::ViewDefault),
        ("refresh of ", Kind::Refresh),
        ("owner of ", Kind::Owner),
        ("privileges on ", Kind::Privileges),
        ("default privileges ", Kind::DefaultPrivileges),
        ("statistics of ", Kind::TableStatistics),
        ("statistics (ANALYZE) of ", Kind::TableStatistics),
        ("statistics ", Kind::Statistics),
        ("operator ", Kind::Operator),
        ("conversion ", Kind::Conversion),
        ("collation ", Kind::Collation),
        ("text search ", Kind::TextSearch),
        ("publication ", Kind::Publication),
    ];
    // The longest matching prefix: "comment on constraint" is a comment,
    // "index of constraint" is not an index.
    let kind = KINDS
        .iter()
        .filter(|(p, _)| what.starts_with(p))
        .max_by_key(|(p, _)| p.len())
        .map_or(Kind::Other, |(_, k)| *k);
    let named = |prefix: &str| -> Option<String> {
        let rest = what.strip_prefix(prefix)?;
        // "constraint NAME on TABLE": a name may itself hold " on ".
        Some(
            rest.rsplit_once(" on ")
                .map_or(rest, |(c, _)| c)
                .to_string(),
        )
    };
    let name = match kind {
        Kind::Constraint => named("constraint "),
        Kind::KeyValidation => named("validation of foreign key "),
        Kind::ConstraintIndex => named("index of constraint "),
        Kind::Comment => what
            .strip_prefix("comment on constraint ")
            .map(str::to_string),
        _ => None,
    };
    let part = name.and_then(|name| {
        let (schema, table) = lexer::qualified_names(&sql).into_iter().next()?;
        Some(Part {
            name,
            table: QualName::new(schema, table),
        })
    });
    Statement {
        what,
        sql,
        kind,
        part,
        large_object: None,
        slot: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old(what: &str, sql: &str) -> Statement {
        let json = serde_json::json!({ "what": what, "sql": sql });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn statements_of_old_dumps_get_their_kind_and_part() {
        let s = old(
            "constraint t_a_fkey on public.t",
            "ALTER TABLE ONLY \"app\".\"t\" ADD CONSTRAINT \"t_a_fkey\" FOREIGN KEY (a) \
             REFERENCES \"app\".\"p\"(id) NOT VALID",
        );
        assert_eq!(s.kind, Kind::Constraint);
        assert_eq!(
            s.part,
            Some(Part {
                name: "t_a_fkey".into(),
                table: QualName::new("app", "t")
            })
        );
        let s = old(
            "comment on constraint t_a_fkey",
            "COMMENT ON CONSTRAINT \"t_a_fkey\" ON \"app\".\"t\" IS 'x'",
        );
        assert_eq!(s.kind, Kind::Comment);
        assert_eq!(s.part.unwrap().table, QualName::new("app", "t"));
        let s = old(
            "validation of foreign key t_a_fkey on public.t",
            "ALTER TABLE ONLY \"app\".\"t\" VALIDATE CONSTRAINT \"t_a_fkey\"",
        );
        assert_eq!(s.kind, Kind::KeyValidation);
        assert_eq!(s.part.unwrap().name, "t_a_fkey");
        let s = old(
            "index of constraint t_pkey on public.t",
            "CREATE UNIQUE INDEX t_pkey ON app.t USING btree (id)",
        );
        assert_eq!(s.kind, Kind::ConstraintIndex);
        for (what, kind) in [
            ("comment on table public.t", Kind::Comment),
            ("comment on a column of public.t", Kind::Comment),
            ("owner of table public.t", Kind::Owner),
            ("privileges on a column of public.t", Kind::Privileges),
            (
                "default privileges in schema public",
                Kind::DefaultPrivileges,
            ),
            ("function public.f(integer)", Kind::Function),
            ("materialized view public.m", Kind::View),
            ("index public.t_a_idx", Kind::Index),
            ("statistics public.s", Kind::Statistics),
            ("text search configuration public.c", Kind::TextSearch),
            ("ownership of sequence public.s", Kind::SequenceOwnership),
            ("something new", Kind::Other),
        ] {
            let s = old(what, "SELECT 1");
            assert_eq!(s.kind, kind, "{what}");
            assert_eq!(s.part, None, "{what}");
        }
    }

    #[test]
    fn statements_keep_their_kind_and_part_through_json() {
        let s = Statement::new(Kind::Trigger, "trigger tg on public.t", "CREATE TRIGGER ..")
            .of_part("tg", QualName::new("public", "t"));
        let back: Statement = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        // The kind wins over the message.
        let s = Statement::new(Kind::Rule, "owner of table x", "CREATE RULE ..");
        let back: Statement = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back.kind, Kind::Rule);
    }
}
