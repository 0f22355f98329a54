//! Which tables a command works on: `--schema`, `--exclude-schema`,
//! `--table`, `--exclude-table`, `--exclude-table-data`.
//!
//! Pure code. Patterns are globs (`*`, `?`, `[...]`, `{a,b}`). A table
//! pattern is `schema.table` or just `table` (any schema); double quotes
//! group a name containing a dot (`"my.schema".t`). A partition is selected
//! when it or the root of its partition tree matches. System schemas are
//! never candidates. Every pattern must match something.

use globset::{Glob, GlobMatcher};

use crate::catalog::{QualName, Table};

/// Raw patterns, as given on the command line or in the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patterns {
    pub schema: Vec<String>,
    pub exclude_schema: Vec<String>,
    pub table: Vec<String>,
    pub exclude_table: Vec<String>,
    pub exclude_table_data: Vec<String>,
    /// Schemas a preset leaves out: like `--exclude-schema`, but one that
    /// matches nothing is no error.
    pub preset_exclude_schema: Vec<String>,
    /// Kinds of objects pgbarge cannot recreate yet that the user chose
    /// to leave out (`--leave-out`); see `SchemaPlan::leave_out`.
    pub leave_out: Vec<String>,
}

struct TablePattern {
    text: String,
    flag: &'static str,
    schema: GlobMatcher,
    table: GlobMatcher,
    hits: bool,
}

impl TablePattern {
    fn new(text: &str, flag: &'static str) -> Result<Self, String> {
        let (s, t) = split_pattern(text);
        let (s, t) = match t {
            Some(t) => (s, t),
            None => ("*".to_string(), s),
        };
        Ok(TablePattern {
            text: text.to_string(),
            flag,
            schema: glob(&s, text, flag)?,
            table: glob(&t, text, flag)?,
            hits: false,
        })
    }

    fn matches(&mut self, n: &QualName) -> bool {
        let m = self.schema.is_match(&n.schema) && self.table.is_match(&n.name);
        self.hits |= m;
        m
    }
}

struct SchemaPattern {
    text: String,
    flag: &'static str,
    glob: GlobMatcher,
    hits: bool,
}

impl SchemaPattern {
    fn new(text: &str, flag: &'static str) -> Result<Self, String> {
        let (s, rest) = split_pattern(text);
        if rest.is_some() {
            return Err(format!(
                "{flag} \"{text}\": a schema pattern has no dot; quote a schema name that contains one"
            ));
        }
        Ok(SchemaPattern {
            text: text.to_string(),
            flag,
            glob: glob(&s, text, flag)?,
            hits: false,
        })
    }

    fn matches(&mut self, schema: &str) -> bool {
        let m = self.glob.is_match(schema);
        self.hits |= m;
        m
    }
}

fn glob(p: &str, whole: &str, flag: &str) -> Result<GlobMatcher, String> {
    Glob::new(p)
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("{flag} \"{whole}\": invalid pattern: {}", e.kind()))
}

/// Split `a.b` at the first dot outside double quotes, removing the quotes
/// (`""` inside quotes is a literal quote).
fn split_pattern(p: &str) -> (String, Option<String>) {
    let mut parts = vec![String::new()];
    let mut in_quotes = false;
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                chars.next();
                parts.last_mut().expect("never empty").push('"');
            }
            '"' => in_quotes = !in_quotes,
            '.' if !in_quotes && parts.len() == 1 => parts.push(String::new()),
            c => parts.last_mut().expect("never empty").push(c),
        }
    }
    let second = if parts.len() > 1 { parts.pop() } else { None };
    (parts.pop().unwrap_or_default(), second)
}

/// One table chosen for work.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// Index into the table list given to [`select`].
    pub index: usize,
    /// False under `--exclude-table-data`.
    pub copy_data: bool,
}

/// Choose tables. `schemas` lists every user schema of the database, so a
/// schema pattern can match a schema that holds no table.
pub fn select(tables: &[Table], schemas: &[String], p: &Patterns) -> Result<Vec<Chosen>, String> {
    let mut inc_s = compile_schemas(&p.schema, "--schema")?;
    let mut exc_s = compile_schemas(&p.exclude_schema, "--exclude-schema")?;
    let mut inc_t = compile_tables(&p.table, "--table")?;
    let mut exc_t = compile_tables(&p.exclude_table, "--exclude-table")?;
    let mut exc_d = compile_tables(&p.exclude_table_data, "--exclude-table-data")?;
    let mut preset = compile_schemas(&p.preset_exclude_schema, "--preset")?;

    for s in schemas {
        inc_s.iter_mut().for_each(|m| {
            m.matches(s);
        });
        exc_s.iter_mut().for_each(|m| {
            m.matches(s);
        });
    }

    let mut chosen = Vec::new();
    for (index, t) in tables.iter().enumerate() {
        if t.extension_member {
            continue;
        }
        let names: Vec<&QualName> = std::iter::once(&t.name)
            .chain(t.partition_root.as_ref())
            .collect();
        // Every pattern is tried against every name, so `hits` records
        // matches even for tables another rule leaves out.
        let schema_in = inc_s.is_empty() || any_schema(&mut inc_s, &t.name.schema);
        let schema_out =
            any_schema(&mut exc_s, &t.name.schema) | any_schema(&mut preset, &t.name.schema);
        let table_in = inc_t.is_empty() || any_table(&mut inc_t, &names);
        let table_out = any_table(&mut exc_t, &names);
        let data_out = any_table(&mut exc_d, &names);
        if schema_in && !schema_out && table_in && !table_out {
            chosen.push(Chosen {
                index,
                copy_data: !data_out,
            });
        }
    }

    let unmatched: Vec<String> = inc_s
        .iter()
        .chain(&exc_s)
        .filter(|m| !m.hits)
        .map(|m| format!("{} \"{}\"", m.flag, m.text))
        .chain(
            inc_t
                .iter()
                .chain(&exc_t)
                .chain(&exc_d)
                .filter(|m| !m.hits)
                .map(|m| format!("{} \"{}\"", m.flag, m.text)),
        )
        .collect();
    if !unmatched.is_empty() {
        return Err(format!(
            "no schema or table matches {} (patterns are case-sensitive globs on schema.table)",
            unmatched.join(", ")
        ));
    }
    Ok(chosen)
}

/// Schemas named by `--schema` (and not by `--exclude-schema`), whether
/// or not they hold tables: their types, functions and views come along.
pub fn named_schemas(schemas: &[String], p: &Patterns) -> Result<Vec<String>, String> {
    let kept = kept_schemas(schemas, p)?;
    Ok(if p.schema.is_empty() {
        Vec::new()
    } else {
        kept
    })
}

/// Schemas whose objects a selection keeps: the ones `--schema` names (all
/// when it is not given) that `--exclude-schema` (or a preset) does not.
pub fn kept_schemas(schemas: &[String], p: &Patterns) -> Result<Vec<String>, String> {
    let mut inc = compile_schemas(&p.schema, "--schema")?;
    let mut exc = compile_schemas(&p.exclude_schema, "--exclude-schema")?;
    let mut preset = compile_schemas(&p.preset_exclude_schema, "--preset")?;
    Ok(schemas
        .iter()
        .filter(|s| {
            (inc.is_empty() || any_schema(&mut inc, s))
                && !any_schema(&mut exc, s)
                && !any_schema(&mut preset, s)
        })
        .cloned()
        .collect())
}

fn any_schema(ms: &mut [SchemaPattern], s: &str) -> bool {
    ms.iter_mut().fold(false, |acc, m| m.matches(s) | acc)
}

fn any_table(ms: &mut [TablePattern], names: &[&QualName]) -> bool {
    ms.iter_mut().fold(false, |acc, m| {
        names.iter().fold(false, |a, n| m.matches(n) | a) | acc
    })
}

fn compile_schemas(v: &[String], flag: &'static str) -> Result<Vec<SchemaPattern>, String> {
    v.iter().map(|p| SchemaPattern::new(p, flag)).collect()
}

fn compile_tables(v: &[String], flag: &'static str) -> Result<Vec<TablePattern>, String> {
    v.iter().map(|p| TablePattern::new(p, flag)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(s: &str, n: &str, root: Option<(&str, &str)>) -> Table {
        Table {
            oid: 0,
            name: QualName::new(s, n),
            relkind: 'r',
            partition_root: root.map(|(a, b)| QualName::new(a, b)),
            est_rows: 0,
            bytes: 0,
            extension_member: false,
            columns: vec![],
        }
    }

    fn names(tables: &[Table], c: &[Chosen]) -> Vec<String> {
        c.iter().map(|c| tables[c.index].name.to_string()).collect()
    }

    fn fixture() -> (Vec<Table>, Vec<String>) {
        (
            vec![
                table("app", "users", None),
                table("app", "audit_log", None),
                table("app", "audit_x", None),
                table("app", "ev_2024", Some(("app", "events"))),
                table("other", "users", None),
                table("my.schema", "t", None),
            ],
            vec![
                "app".into(),
                "other".into(),
                "my.schema".into(),
                "empty".into(),
            ],
        )
    }

    #[test]
    fn split_respects_quotes() {
        assert_eq!(split_pattern("a.b"), ("a".into(), Some("b".into())));
        assert_eq!(split_pattern("t"), ("t".into(), None));
        assert_eq!(
            split_pattern("\"my.schema\".t"),
            ("my.schema".into(), Some("t".into()))
        );
        assert_eq!(
            split_pattern("\"a\"\"b\".c.d"),
            ("a\"b".into(), Some("c.d".into()))
        );
    }

    #[test]
    fn schema_and_exclusions() {
        let (t, s) = fixture();
        let p = Patterns {
            schema: vec!["app".into()],
            exclude_table: vec!["app.audit_*".into()],
            ..Default::default()
        };
        assert_eq!(
            names(&t, &select(&t, &s, &p).unwrap()),
            ["app.users", "app.ev_2024"]
        );
    }

    #[test]
    fn table_without_schema_matches_any_schema() {
        let (t, s) = fixture();
        let p = Patterns {
            table: vec!["users".into()],
            ..Default::default()
        };
        assert_eq!(
            names(&t, &select(&t, &s, &p).unwrap()),
            ["app.users", "other.users"]
        );
    }

    #[test]
    fn partition_follows_its_root() {
        let (t, s) = fixture();
        let p = Patterns {
            table: vec!["app.events".into()],
            ..Default::default()
        };
        assert_eq!(names(&t, &select(&t, &s, &p).unwrap()), ["app.ev_2024"]);
    }

    #[test]
    fn exclude_data_keeps_table() {
        let (t, s) = fixture();
        let p = Patterns {
            table: vec!["\"my.schema\".*".into()],
            exclude_table_data: vec!["t".into()],
            ..Default::default()
        };
        let c = select(&t, &s, &p).unwrap();
        assert_eq!(names(&t, &c), ["my.schema.t"]);
        assert!(!c[0].copy_data);
    }

    #[test]
    fn empty_schema_counts_as_a_match() {
        let (t, s) = fixture();
        let p = Patterns {
            schema: vec!["empty".into()],
            ..Default::default()
        };
        assert!(select(&t, &s, &p).unwrap().is_empty());
    }

    #[test]
    fn unmatched_patterns_are_named() {
        let (t, s) = fixture();
        let p = Patterns {
            schema: vec!["nope".into()],
            exclude_table: vec!["app.zzz".into()],
            ..Default::default()
        };
        let e = select(&t, &s, &p).unwrap_err();
        assert!(e.contains("--schema \"nope\""), "{e}");
        assert!(e.contains("--exclude-table \"app.zzz\""), "{e}");
    }

    #[test]
    fn bad_glob_is_an_error() {
        let (t, s) = fixture();
        let p = Patterns {
            table: vec!["app.[".into()],
            ..Default::default()
        };
        assert!(select(&t, &s, &p)
            .unwrap_err()
            .contains("--table \"app.[\""));
    }
}
