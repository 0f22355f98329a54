//! What a table gets after its rows, as typed definitions and their pure
//! rendering: keys and exclusion constraints, foreign keys, indexes,
//! triggers, rules and policies.
//!
//! `catalog::model` fills these from a server (definitions as the
//! server's `pg_get_*def` print them with `search_path = ''`); rendering
//! applies the schema map and quotes every name itself. The choices that
//! pg_dump also makes are made here, so they are tested without a server:
//! a plain key is built as its unique index first and attached after all
//! loads; a foreign key is added `NOT VALID` and validated separately,
//! except where PostgreSQL refuses that (on or to a partitioned table).

use super::model::Mapper;
use crate::catalog::statement::{Kind, Statement};
use crate::catalog::{quote_ident, quote_literal, QualName};

/// A constraint backed by an index, or a foreign key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstraintType {
    PrimaryKey,
    Unique,
    Exclusion,
    ForeignKey,
}

#[derive(Debug, Clone)]
pub struct ConstraintDef {
    pub name: String,
    pub table: QualName,
    pub kind: ConstraintType,
    /// `pg_get_constraintdef`.
    pub definition: String,
    /// The table is partitioned.
    pub on_partitioned: bool,
    /// A key's `pg_get_indexdef`.
    pub index: Option<String>,
    /// A foreign key that references a partitioned table.
    pub references_partitioned: bool,
    pub comment: Option<String>,
    /// A partitioned table's key added to it alone (`ONLY`), each
    /// partition's copy built on its own and attached: false where a
    /// foreign partition (no index) needs the one statement for all.
    pub split: bool,
    /// A partition's copy of its parent's key: the parent's index, which
    /// this key's index is attached to.
    pub attach_to: Option<QualName>,
    /// The key's index.
    pub own_index: Option<QualName>,
}

/// A constraint's statements, by where they go in the plan (a value
/// taken apart at once: its variants' sizes do not matter).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum RenderedConstraint {
    Key {
        /// Built with the table's indexes: the key's unique index, or the
        /// whole `ADD CONSTRAINT` where it cannot be split.
        build: Statement,
        /// The table `build` belongs to, when it may be built as soon as
        /// the table's rows are in (not for a partitioned table).
        table: Option<QualName>,
        /// `ADD CONSTRAINT .. USING INDEX`, after every load.
        attach: Option<Statement>,
        /// With `attach`: the key in one statement, `ADD CONSTRAINT ..`
        /// building its index (cheaper on an empty table; see
        /// `SchemaPlan::whole_keys`).
        whole: Option<String>,
        /// A partition's key: its index attached to the parent's, after
        /// `attach`.
        to_parent: Option<Statement>,
        comment: Option<Statement>,
    },
    ForeignKey {
        add: Statement,
        /// `VALIDATE CONSTRAINT` of a key added `NOT VALID`.
        validation: Option<Statement>,
        comment: Option<Statement>,
    },
}

pub fn render_constraint(k: &ConstraintDef, m: &Mapper) -> RenderedConstraint {
    let (name, table) = (&k.name, &k.table);
    let target = m.name(table);
    // A foreign key always covers a partitioned table's partitions; a key
    // does unless it is split.
    let recursive = k.on_partitioned && (k.kind == ConstraintType::ForeignKey || !k.split);
    let only = if recursive { "" } else { "ONLY " };
    let of_it = |kind: Kind, what: String, sql: String| {
        Statement::new(kind, what, sql).of_part(name, target.clone())
    };
    let add = of_it(
        Kind::Constraint,
        format!("constraint {name} on {table}"),
        format!(
            "ALTER TABLE {only}{} ADD CONSTRAINT {} {}",
            m.q(table),
            quote_ident(name),
            m.sql(&k.definition)
        ),
    );
    let comment = k.comment.as_ref().map(|cm| {
        of_it(
            Kind::Comment,
            format!("comment on constraint {name}"),
            format!(
                "COMMENT ON CONSTRAINT {} ON {} IS {}",
                quote_ident(name),
                m.q(table),
                quote_literal(cm)
            ),
        )
    });
    if k.kind == ConstraintType::ForeignKey {
        // Added NOT VALID (instant), then validated in parallel
        // sessions: VALIDATE takes only a SHARE UPDATE EXCLUSIVE lock, so
        // keys on different tables check at the same time. The result is
        // the same validated key. PostgreSQL (before 18) rejects NOT VALID
        // foreign keys on a partitioned table, and VALIDATE of a key that
        // references one leaves its per-partition clones not valid;
        // pg_dump adds both validated, and so do we.
        if k.definition.ends_with("NOT VALID") || k.on_partitioned || k.references_partitioned {
            return RenderedConstraint::ForeignKey {
                add,
                validation: None,
                comment,
            };
        }
        let validation = of_it(
            Kind::KeyValidation,
            format!("validation of foreign key {name} on {table}"),
            format!(
                "ALTER TABLE {only}{} VALIDATE CONSTRAINT {}",
                m.q(table),
                quote_ident(name)
            ),
        );
        return RenderedConstraint::ForeignKey {
            add: Statement {
                sql: format!("{} NOT VALID", add.sql),
                ..add
            },
            validation: Some(validation),
            comment,
        };
    }
    // A plain key on a table is built as its unique index first (a SHARE
    // lock, so the table's other indexes build at the same time) and
    // becomes the constraint after all loads; the ALTER TABLE form would
    // hold an exclusive lock for the build.
    let split = (!k.on_partitioned)
        .then_some(k.index.as_deref())
        .flatten()
        .and_then(|index| key_by_index(name, &k.definition, index));
    let table_of_build = (!k.on_partitioned).then(|| target.clone());
    let to_parent = match (&k.attach_to, &k.own_index) {
        (Some(parent), Some(own)) => Some(attach_index(parent, own, table, m)),
        _ => None,
    };
    match split {
        Some((index, using)) => RenderedConstraint::Key {
            build: of_it(
                Kind::ConstraintIndex,
                format!("index of constraint {name} on {table}"),
                m.sql(&index),
            ),
            table: table_of_build,
            attach: Some(of_it(
                Kind::Constraint,
                format!("constraint {name} on {table}"),
                format!(
                    "ALTER TABLE ONLY {} ADD CONSTRAINT {} {using}",
                    m.q(table),
                    quote_ident(name),
                ),
            )),
            whole: Some(add.sql),
            to_parent,
            comment,
        },
        None => RenderedConstraint::Key {
            build: add,
            table: table_of_build,
            attach: None,
            whole: None,
            to_parent,
            comment,
        },
    }
}

/// A primary key or unique constraint that `ADD CONSTRAINT ... USING
/// INDEX` can make from its own index: its index definition and the
/// `PRIMARY KEY USING INDEX name [DEFERRABLE ...]` clause. `None` for
/// keys with INCLUDE columns, storage parameters or a tablespace, which
/// keep the one-statement form.
fn key_by_index(name: &str, def: &str, index: &str) -> Option<(String, String)> {
    let (kind, rest) = if let Some(rest) = def.strip_prefix("PRIMARY KEY (") {
        ("PRIMARY KEY", rest)
    } else if let Some(rest) = def.strip_prefix("UNIQUE NULLS NOT DISTINCT (") {
        ("UNIQUE", rest)
    } else {
        ("UNIQUE", def.strip_prefix("UNIQUE (")?)
    };
    // Column names are quoted where needed; a quoted name may hold ")".
    let mut in_quotes = false;
    let mut end = None;
    for (i, ch) in rest.char_indices() {
        match ch {
            '"' => in_quotes = !in_quotes,
            ')' if !in_quotes => {
                end = Some(i);
                break;
            }
            _ => {}
        }
    }
    let tail = &rest[end? + 1..];
    if !matches!(
        tail,
        "" | " DEFERRABLE" | " DEFERRABLE INITIALLY DEFERRED" | " DEFERRABLE INITIALLY IMMEDIATE"
    ) {
        return None;
    }
    // The key's index carries its name, quoted only where needed.
    let after = index.strip_prefix("CREATE UNIQUE INDEX ")?;
    let token = if after.starts_with('"') {
        let mut end = None;
        let b = after.as_bytes();
        let mut i = 1;
        while i < b.len() {
            if b[i] == b'"' {
                if b.get(i + 1) == Some(&b'"') {
                    i += 2;
                    continue;
                }
                end = Some(i + 1);
                break;
            }
            i += 1;
        }
        &after[..end?]
    } else {
        after.split(' ').next()?
    };
    let unquoted = match token.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(t) => t.replace("\"\"", "\""),
        None => token.to_string(),
    };
    if unquoted != name || !after[token.len()..].starts_with(" ON ") || index.contains(" WHERE ") {
        return None;
    }
    Some((
        index.to_string(),
        format!("{kind} USING INDEX {token}{tail}"),
    ))
}

/// An index that is no constraint's.
#[derive(Debug, Clone)]
pub struct IndexDef {
    pub name: QualName,
    pub table: QualName,
    /// `pg_get_indexdef`.
    pub definition: String,
    /// On a partitioned table.
    pub on_partitioned: bool,
    pub comment: Option<String>,
    /// A partitioned table's index created on it alone (`ON ONLY`), the
    /// partitions' own built one by one and attached; false where a
    /// foreign partition needs the one statement for all.
    pub split: bool,
    /// A partition's index that belongs to its parent's: that one.
    pub attach_to: Option<QualName>,
}

/// An index's statements, by where they go in the plan.
#[derive(Debug)]
pub struct RenderedIndex {
    pub build: Statement,
    /// The table it may be built with as soon as its rows are in (not a
    /// partitioned table's).
    pub table: Option<QualName>,
    /// A partition's index attached to its parent's.
    pub to_parent: Option<Statement>,
    pub comment: Option<Statement>,
}

pub fn render_index(i: &IndexDef, m: &Mapper) -> RenderedIndex {
    let mut def = m.sql(&i.definition);
    if i.on_partitioned && !i.split {
        // Created on the whole tree at once.
        def = def.replacen(" ON ONLY ", " ON ", 1);
    }
    let comment = i.comment.as_ref().map(|c| {
        Statement::new(
            Kind::Comment,
            "comment on INDEX",
            format!("COMMENT ON INDEX {} IS {}", m.q(&i.name), quote_literal(c)),
        )
    });
    RenderedIndex {
        build: Statement::new(Kind::Index, format!("index {}", i.name), def),
        table: (!i.on_partitioned).then(|| m.name(&i.table)),
        to_parent: i
            .attach_to
            .as_ref()
            .map(|parent| attach_index(parent, &i.name, &i.table, m)),
        comment,
    }
}

/// `ALTER INDEX parent ATTACH PARTITION child`, a part of `table` (the
/// partition: a restore that leaves it out leaves this out).
fn attach_index(parent: &QualName, child: &QualName, table: &QualName, m: &Mapper) -> Statement {
    Statement::new(
        Kind::Index,
        format!("index {child} as a partition of {parent}"),
        format!(
            "ALTER INDEX {} ATTACH PARTITION {}",
            m.q(parent),
            m.q(child)
        ),
    )
    .of_part(&child.name, m.name(table))
}

#[derive(Debug, Clone)]
pub struct TriggerDef {
    pub name: String,
    pub table: QualName,
    /// `pg_get_triggerdef`.
    pub definition: String,
    /// `tgenabled`: `O` (origin, the default), `D`, `R` or `A`.
    pub enabled: char,
    pub comment: Option<String>,
}

pub fn render_trigger(t: &TriggerDef, m: &Mapper) -> Vec<Statement> {
    let target = m.name(&t.table);
    let of_it = |kind: Kind, what: String, sql: String| {
        Statement::new(kind, what, sql).of_part(&t.name, target.clone())
    };
    let what = format!("trigger {} on {}", t.name, t.table);
    let mut out = vec![of_it(Kind::Trigger, what.clone(), m.sql(&t.definition))];
    let state = match t.enabled {
        'D' => Some("DISABLE TRIGGER"),
        'R' => Some("ENABLE REPLICA TRIGGER"),
        'A' => Some("ENABLE ALWAYS TRIGGER"),
        _ => None,
    };
    if let Some(s) = state {
        out.push(of_it(
            Kind::Trigger,
            what,
            format!("ALTER TABLE {} {s} {}", m.q(&t.table), quote_ident(&t.name)),
        ));
    }
    if let Some(c) = &t.comment {
        out.push(Statement::new(
            Kind::Comment,
            "comment on TRIGGER",
            format!(
                "COMMENT ON TRIGGER {} ON {} IS {}",
                quote_ident(&t.name),
                m.q(&t.table),
                quote_literal(c)
            ),
        ));
    }
    out
}

#[derive(Debug, Clone)]
pub struct RuleDef {
    pub name: String,
    pub table: QualName,
    /// `pg_get_ruledef`.
    pub definition: String,
    /// `ev_enabled`: `O` (the default), `D` disabled, `R` replica, `A`
    /// always.
    pub enabled: char,
}

/// The rule, then how it fires when that is not the default (as
/// pg_dump writes it: `ALTER TABLE .. DISABLE RULE`).
pub fn render_rule(r: &RuleDef, m: &Mapper) -> Vec<Statement> {
    let what = format!("rule {} on {}", r.name, r.table);
    let mut out = vec![
        Statement::new(Kind::Rule, what.clone(), m.sql(&r.definition))
            .of_part(&r.name, m.name(&r.table)),
    ];
    let how = match r.enabled {
        'D' => "DISABLE",
        'R' => "ENABLE REPLICA",
        'A' => "ENABLE ALWAYS",
        _ => return out,
    };
    out.push(
        Statement::new(
            Kind::Rule,
            what,
            format!(
                "ALTER TABLE {} {how} RULE {}",
                m.q(&r.table),
                quote_ident(&r.name)
            ),
        )
        .of_part(&r.name, m.name(&r.table)),
    );
    out
}

#[derive(Debug, Clone)]
pub struct PolicyDef {
    pub name: String,
    pub table: QualName,
    /// `polcmd`: `r`, `a`, `w`, `d` or `*`.
    pub command: char,
    pub permissive: bool,
    /// The roles it applies to; None for PUBLIC.
    pub roles: Option<Vec<String>>,
    /// `pg_get_expr` of `USING` and `WITH CHECK`.
    pub using: Option<String>,
    pub check: Option<String>,
}

pub fn render_policy(p: &PolicyDef, m: &Mapper) -> Statement {
    let cmd = match p.command {
        'r' => "SELECT",
        'a' => "INSERT",
        'w' => "UPDATE",
        'd' => "DELETE",
        _ => "ALL",
    };
    let mut sql = format!(
        "CREATE POLICY {} ON {} AS {} FOR {cmd}",
        quote_ident(&p.name),
        m.q(&p.table),
        if p.permissive {
            "PERMISSIVE"
        } else {
            "RESTRICTIVE"
        }
    );
    if let Some(roles) = &p.roles {
        let roles: Vec<String> = roles.iter().map(|r| quote_ident(r)).collect();
        sql.push_str(&format!(" TO {}", roles.join(", ")));
    }
    if let Some(q) = &p.using {
        sql.push_str(&format!(" USING ({})", m.sql(q)));
    }
    if let Some(w) = &p.check {
        sql.push_str(&format!(" WITH CHECK ({})", m.sql(w)));
    }
    Statement::new(
        Kind::Policy,
        format!("policy {} on {}", p.name, p.table),
        sql,
    )
    .of_part(&p.name, m.name(&p.table))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ddl::model::tests::mapper;

    fn fk(on_partitioned: bool, references_partitioned: bool, definition: &str) -> ConstraintDef {
        ConstraintDef {
            name: "orders_user_fkey".into(),
            table: QualName::new("local_app", "orders"),
            kind: ConstraintType::ForeignKey,
            definition: definition.into(),
            on_partitioned,
            index: None,
            references_partitioned,
            comment: Some("who".into()),
            split: true,
            attach_to: None,
            own_index: None,
        }
    }

    #[test]
    fn foreign_keys_are_added_not_valid_then_validated_except_where_postgresql_refuses() {
        let def = "FOREIGN KEY (user_id) REFERENCES local_app.users(id)";
        let RenderedConstraint::ForeignKey {
            add,
            validation,
            comment,
        } = render_constraint(&fk(false, false, def), &mapper())
        else {
            panic!("not a foreign key")
        };
        assert_eq!(
            add.sql,
            "ALTER TABLE ONLY \"public\".\"orders\" ADD CONSTRAINT \"orders_user_fkey\" \
             FOREIGN KEY (user_id) REFERENCES public.users(id) NOT VALID"
        );
        assert_eq!(
            add.part.as_ref().unwrap().table,
            QualName::new("public", "orders")
        );
        let validation = validation.unwrap();
        assert_eq!(validation.kind, Kind::KeyValidation);
        assert_eq!(
            validation.sql,
            "ALTER TABLE ONLY \"public\".\"orders\" VALIDATE CONSTRAINT \"orders_user_fkey\""
        );
        assert_eq!(
            comment.unwrap().sql,
            "COMMENT ON CONSTRAINT \"orders_user_fkey\" ON \"public\".\"orders\" IS 'who'"
        );
        // On a partitioned table, to one, or NOT VALID at the source: as it is.
        for (on, to, def) in [
            (true, false, def),
            (false, true, def),
            (
                false,
                false,
                "FOREIGN KEY (user_id) REFERENCES local_app.users(id) NOT VALID",
            ),
        ] {
            let RenderedConstraint::ForeignKey {
                add, validation, ..
            } = render_constraint(&fk(on, to, def), &mapper())
            else {
                panic!("not a foreign key")
            };
            assert!(validation.is_none(), "{def}");
            assert_eq!(
                add.sql.matches("NOT VALID").count(),
                usize::from(def.ends_with("NOT VALID"))
            );
            assert_eq!(add.sql.contains(" ONLY "), !on);
        }
    }

    #[test]
    fn keys_are_built_as_their_index_and_attached_after_the_loads() {
        let mut k = ConstraintDef {
            name: "orders_pkey".into(),
            table: QualName::new("local_app", "orders"),
            kind: ConstraintType::PrimaryKey,
            definition: "PRIMARY KEY (id)".into(),
            on_partitioned: false,
            index: Some(
                "CREATE UNIQUE INDEX orders_pkey ON local_app.orders USING btree (id)".into(),
            ),
            references_partitioned: false,
            comment: None,
            split: false,
            attach_to: None,
            own_index: None,
        };
        let RenderedConstraint::Key {
            build,
            table,
            attach,
            ..
        } = render_constraint(&k, &mapper())
        else {
            panic!("not a key")
        };
        assert_eq!(build.kind, Kind::ConstraintIndex);
        assert_eq!(
            build.sql,
            "CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id)"
        );
        assert_eq!(table, Some(QualName::new("public", "orders")));
        assert_eq!(
            attach.unwrap().sql,
            "ALTER TABLE ONLY \"public\".\"orders\" ADD CONSTRAINT \"orders_pkey\" PRIMARY KEY USING INDEX orders_pkey"
        );
        // A partitioned table's key: one statement, after all rows.
        k.on_partitioned = true;
        let RenderedConstraint::Key {
            build,
            table,
            attach,
            ..
        } = render_constraint(&k, &mapper())
        else {
            panic!("not a key")
        };
        assert_eq!(
            build.sql,
            "ALTER TABLE \"public\".\"orders\" ADD CONSTRAINT \"orders_pkey\" PRIMARY KEY (id)"
        );
        assert!(table.is_none() && attach.is_none());
    }

    #[test]
    fn triggers_rules_policies_and_indexes() {
        let m = mapper();
        let t = TriggerDef {
            name: "audit".into(),
            table: QualName::new("local_app", "orders"),
            definition: "CREATE TRIGGER audit AFTER INSERT ON local_app.orders FOR EACH ROW EXECUTE FUNCTION local_app.log()".into(),
            enabled: 'D',
            comment: Some("logs".into()),
        };
        let sql: Vec<String> = render_trigger(&t, &m).into_iter().map(|s| s.sql).collect();
        assert_eq!(
            sql,
            [
                "CREATE TRIGGER audit AFTER INSERT ON public.orders FOR EACH ROW EXECUTE FUNCTION public.log()",
                "ALTER TABLE \"public\".\"orders\" DISABLE TRIGGER \"audit\"",
                "COMMENT ON TRIGGER \"audit\" ON \"public\".\"orders\" IS 'logs'",
            ]
        );
        let p = PolicyDef {
            name: "mine".into(),
            table: QualName::new("local_app", "orders"),
            command: 'w',
            permissive: false,
            roles: Some(vec!["app user".into(), "admin".into()]),
            using: Some("(owner = CURRENT_USER)".into()),
            check: Some("local_app.ok(id)".into()),
        };
        assert_eq!(
            render_policy(&p, &m).sql,
            "CREATE POLICY \"mine\" ON \"public\".\"orders\" AS RESTRICTIVE FOR UPDATE \
             TO \"app user\", \"admin\" USING ((owner = CURRENT_USER)) WITH CHECK (public.ok(id))"
        );
        let p = PolicyDef {
            roles: None,
            command: '*',
            permissive: true,
            using: None,
            check: None,
            ..p
        };
        assert_eq!(
            render_policy(&p, &m).sql,
            "CREATE POLICY \"mine\" ON \"public\".\"orders\" AS PERMISSIVE FOR ALL"
        );
        let r = RuleDef {
            name: "r".into(),
            table: QualName::new("local_app", "v"),
            definition: "CREATE RULE r AS ON INSERT TO local_app.v DO INSTEAD NOTHING;".into(),
            enabled: 'O',
        };
        let sqls = |r: &RuleDef| -> Vec<String> {
            render_rule(r, &m).into_iter().map(|s| s.sql).collect()
        };
        assert_eq!(
            sqls(&r),
            ["CREATE RULE r AS ON INSERT TO public.v DO INSTEAD NOTHING;"]
        );
        assert_eq!(
            sqls(&RuleDef { enabled: 'D', ..r })[1],
            "ALTER TABLE \"public\".\"v\" DISABLE RULE \"r\""
        );
        let i = IndexDef {
            name: QualName::new("local_app", "e_at"),
            table: QualName::new("local_app", "events"),
            definition: "CREATE INDEX e_at ON ONLY local_app.events USING btree (at)".into(),
            on_partitioned: true,
            comment: None,
            split: false,
            attach_to: None,
        };
        let r = render_index(&i, &m);
        assert_eq!(
            r.build.sql,
            "CREATE INDEX e_at ON public.events USING btree (at)"
        );
        assert!(r.table.is_none() && r.comment.is_none() && r.to_parent.is_none());
    }

    /// As pg_dump: a partitioned table's key and index on it alone, each
    /// partition's built with its rows and attached.
    #[test]
    fn partitioned_keys_and_indexes_are_split_over_the_partitions() {
        let m = mapper();
        let key = |table: &str, name: &str, on_partitioned: bool, attach_to: Option<&str>| {
            ConstraintDef {
                name: name.into(),
                table: QualName::new("local_app", table),
                kind: ConstraintType::PrimaryKey,
                definition: "PRIMARY KEY (id, at)".into(),
                on_partitioned,
                index: Some(format!(
                    "CREATE UNIQUE INDEX {name} ON {}local_app.{table} USING btree (id, at)",
                    if on_partitioned { "ONLY " } else { "" }
                )),
                references_partitioned: false,
                comment: None,
                split: on_partitioned,
                attach_to: attach_to.map(|p| QualName::new("local_app", p)),
                own_index: Some(QualName::new("local_app", name)),
            }
        };
        let RenderedConstraint::Key {
            build,
            table,
            attach,
            to_parent,
            ..
        } = render_constraint(&key("events", "events_pkey", true, None), &m)
        else {
            panic!("not a key")
        };
        assert_eq!(
            build.sql,
            "ALTER TABLE ONLY \"public\".\"events\" ADD CONSTRAINT \"events_pkey\" PRIMARY KEY (id, at)"
        );
        assert!(table.is_none() && attach.is_none() && to_parent.is_none());
        let RenderedConstraint::Key {
            build,
            table,
            attach,
            to_parent,
            ..
        } = render_constraint(
            &key(
                "events_2024",
                "events_2024_pkey",
                false,
                Some("events_pkey"),
            ),
            &m,
        )
        else {
            panic!("not a key")
        };
        assert_eq!(
            build.sql,
            "CREATE UNIQUE INDEX events_2024_pkey ON public.events_2024 USING btree (id, at)"
        );
        assert_eq!(table, Some(QualName::new("public", "events_2024")));
        assert!(attach.is_some());
        assert_eq!(
            to_parent.unwrap().sql,
            "ALTER INDEX \"public\".\"events_pkey\" ATTACH PARTITION \"public\".\"events_2024_pkey\""
        );
        let index =
            |name: &str, table: &str, on_partitioned: bool, attach_to: Option<&str>| IndexDef {
                name: QualName::new("local_app", name),
                table: QualName::new("local_app", table),
                definition: format!(
                    "CREATE INDEX {name} ON {}local_app.{table} USING btree (at)",
                    if on_partitioned { "ONLY " } else { "" }
                ),
                on_partitioned,
                comment: None,
                split: on_partitioned,
                attach_to: attach_to.map(|p| QualName::new("local_app", p)),
            };
        let r = render_index(&index("e_at", "events", true, None), &m);
        assert_eq!(
            r.build.sql,
            "CREATE INDEX e_at ON ONLY public.events USING btree (at)"
        );
        assert!(r.table.is_none() && r.to_parent.is_none());
        let r = render_index(
            &index("events_2024_at_idx", "events_2024", false, Some("e_at")),
            &m,
        );
        assert_eq!(r.table, Some(QualName::new("public", "events_2024")));
        assert_eq!(
            r.to_parent.unwrap().sql,
            "ALTER INDEX \"public\".\"e_at\" ATTACH PARTITION \"public\".\"events_2024_at_idx\""
        );
    }

    #[test]
    fn plain_keys_are_built_from_their_index() {
        let (index, using) = key_by_index(
            "accounts_pkey",
            "PRIMARY KEY (id)",
            "CREATE UNIQUE INDEX accounts_pkey ON app.accounts USING btree (id)",
        )
        .unwrap();
        assert_eq!(
            index,
            "CREATE UNIQUE INDEX accounts_pkey ON app.accounts USING btree (id)"
        );
        assert_eq!(using, "PRIMARY KEY USING INDEX accounts_pkey");
        let (_, using) = key_by_index(
            "Odd Key",
            "UNIQUE (\"a)b\", c) DEFERRABLE INITIALLY DEFERRED",
            "CREATE UNIQUE INDEX \"Odd Key\" ON app.t USING btree (\"a)b\", c)",
        )
        .unwrap();
        assert_eq!(
            using,
            "UNIQUE USING INDEX \"Odd Key\" DEFERRABLE INITIALLY DEFERRED"
        );
        let (_, using) = key_by_index(
            "u",
            "UNIQUE NULLS NOT DISTINCT (a)",
            "CREATE UNIQUE INDEX u ON app.t USING btree (a) NULLS NOT DISTINCT",
        )
        .unwrap();
        assert_eq!(using, "UNIQUE USING INDEX u");
    }

    #[test]
    fn keys_with_options_keep_the_one_statement_form() {
        for def in [
            "PRIMARY KEY (id) INCLUDE (v)",
            "PRIMARY KEY (id) WITH (fillfactor='70')",
            "UNIQUE (id) USING INDEX TABLESPACE ts",
            "EXCLUDE USING gist (r WITH &&)",
        ] {
            assert!(
                key_by_index("k", def, "CREATE UNIQUE INDEX k ON app.t USING btree (id)").is_none(),
                "{def}"
            );
        }
        // An index named otherwise (cannot happen for a key) is left alone.
        assert!(key_by_index(
            "k",
            "PRIMARY KEY (id)",
            "CREATE UNIQUE INDEX other ON app.t USING btree (id)"
        )
        .is_none());
    }
}
