//! A PostgreSQL SQL lexer, and the schema rename built on it.
//!
//! Pure code, no I/O. It knows exactly the token classes that matter for
//! renaming a schema without touching anything else: identifiers (folded
//! to lower case), quoted identifiers, string literals (standard, `E''`
//! with backslash escapes), dollar-quoted strings, comments (nested block
//! comments too), numbers and parameters. Concatenating the tokens gives
//! back the input byte for byte, so a rewrite changes only the tokens it
//! means to change.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Space,
    Comment,
    /// Unquoted identifier or keyword.
    Ident,
    QuotedIdent,
    /// `'...'` or `E'...'`.
    String,
    /// `$tag$...$tag$`.
    Dollar,
    Number,
    /// `$1`.
    Param,
    Dot,
    Comma,
    /// `::`.
    Cast,
    /// Any other operator or punctuation.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub kind: Kind,
    pub text: &'a str,
}

impl Token<'_> {
    /// The name an identifier token stands for: unquoted ones fold to
    /// lower case, quoted ones keep their case with `""` undone.
    pub fn name(&self) -> Option<String> {
        match self.kind {
            Kind::Ident => Some(self.text.to_lowercase()),
            Kind::QuotedIdent => Some(self.text[1..self.text.len() - 1].replace("\"\"", "\"")),
            _ => None,
        }
    }

    /// The value of a string literal token.
    pub fn string_value(&self) -> Option<String> {
        if self.kind != Kind::String {
            return None;
        }
        let t = self.text;
        if t.starts_with(['E', 'e']) {
            Some(unescape_e(&t[2..t.len() - 1]))
        } else {
            Some(t[1..t.len() - 1].replace("''", "'"))
        }
    }

    fn is_trivia(&self) -> bool {
        matches!(self.kind, Kind::Space | Kind::Comment)
    }
}

fn unescape_e(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('b') => out.push('\u{8}'),
                Some('f') => out.push('\u{c}'),
                Some(o) => out.push(o),
                None => {}
            },
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                out.push('\'');
            }
            o => out.push(o),
        }
    }
    out
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || !c.is_ascii()
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

const OPERATOR_CHARS: &str = "+-*/<>=~!@#%^&|`?";

/// Every `schema.name` pair the statement spells outside strings and
/// comments (identifiers or quoted identifiers around a dot), in order.
pub fn qualified_names(sql: &str) -> Vec<(String, String)> {
    pairs(&solid_tokens(sql))
}

fn solid_tokens(sql: &str) -> Vec<Token<'_>> {
    tokenize(sql)
        .into_iter()
        .filter(|t| !t.is_trivia())
        .collect()
}

/// `name . name` among tokens without trivia.
fn pairs(toks: &[Token]) -> Vec<(String, String)> {
    toks.windows(3)
        .filter_map(|w| match (w[0].name(), w[1].kind, w[2].name()) {
            (Some(a), Kind::Dot, Some(b)) => Some((a, b)),
            _ => None,
        })
        .collect()
}

/// [`qualified_names`], plus the names inside `'s.n'::regclass`-style
/// literals (`nextval('s.seq'::regclass)` needs sequence `s.seq`).
pub fn referenced_names(sql: &str) -> Vec<(String, String)> {
    let toks = solid_tokens(sql);
    let mut out = pairs(&toks);
    for w in toks.windows(3) {
        if let (Kind::String, Kind::Cast, Some(reg)) = (w[0].kind, w[1].kind, w[2].name()) {
            if REG_TYPES.contains(&reg.as_str()) {
                let value = w[0].string_value().unwrap_or_default();
                out.extend(qualified_names(&value).into_iter().take(1));
            }
        }
    }
    out
}

/// The object a `CREATE [OR REPLACE] [UNLOGGED] TABLE | VIEW |
/// MATERIALIZED VIEW | FUNCTION | PROCEDURE | AGGREGATE | TYPE | DOMAIN |
/// SEQUENCE` statement creates: its first qualified name. None for other
/// statements (indexes, triggers, policies and rules belong to a table,
/// they do not name a new schema object).
pub fn created_object(sql: &str) -> Option<(String, String)> {
    let toks = solid_tokens(sql);
    let words: Vec<String> = toks
        .iter()
        .take(6)
        .map(|t| t.text.to_ascii_uppercase())
        .collect();
    let mut w = words.iter().map(String::as_str);
    if w.next() != Some("CREATE") {
        return None;
    }
    let mut kind = w.next()?;
    if kind == "OR" {
        w.next(); // REPLACE
        kind = w.next()?;
    }
    if kind == "UNLOGGED" {
        kind = w.next()?;
    }
    matches!(
        kind,
        "TABLE"
            | "VIEW"
            | "MATERIALIZED"
            | "FUNCTION"
            | "PROCEDURE"
            | "AGGREGATE"
            | "TYPE"
            | "DOMAIN"
            | "SEQUENCE"
    )
    .then(|| pairs(&toks).into_iter().next())
    .flatten()
}

/// Whether `sql` ends outside any quote, dollar-quoted body or comment:
/// whether a statement sent after it (past a `;`) would be read as one.
/// Statements are sent many to a round trip only when this holds for
/// each, so one that does not end cleanly can never swallow the next.
pub fn ends_cleanly(sql: &str) -> bool {
    let probe = format!("{sql}\n;pgbarge_end");
    let tokens: Vec<_> = tokenize(&probe)
        .into_iter()
        .filter(|t| t.kind != Kind::Space)
        .collect();
    matches!(
        tokens.as_slice(),
        [.., semi, end] if semi.text == ";" && end.kind == Kind::Ident && end.text == "pgbarge_end"
    )
}

/// The statements `sql` holds, split at each `;` outside quotes, comments
/// and parentheses (a rule's actions are the one place one stands inside
/// them); a `;` at the end, with nothing after it, ends the last one.
/// Statements are assembled from text a server printed (`pg_get_*def`,
/// `format_type`) or read from a dump, and both are untrusted input: the
/// caller checks the parts are the ones it wrote, so a second statement
/// carried in such text would not run. Text that ends inside a quote or
/// comment, or holds a backslash outside quotes (psql reads a command
/// there when a SQL dump is restored), is refused with the reason.
pub fn statement_parts(sql: &str) -> Result<Vec<&str>, &'static str> {
    if !ends_cleanly(sql) {
        return Err("it ends inside a quote or a comment");
    }
    let mut parts = Vec::new();
    let (mut depth, mut start, mut at) = (0i64, 0, 0);
    for t in tokenize(sql) {
        match (t.kind, t.text) {
            (Kind::Other, "(") => depth += 1,
            (Kind::Other, ")") if depth == 0 => {
                return Err("it closes a parenthesis it did not open")
            }
            (Kind::Other, ")") => depth -= 1,
            (Kind::Other, ";") if depth == 0 => {
                parts.push(&sql[start..at]);
                start = at + 1;
            }
            (Kind::Other, "\\") => return Err("it holds a backslash outside quotes"),
            _ => {}
        }
        at += t.text.len();
    }
    let rest = &sql[start..];
    if parts.is_empty()
        || tokenize(rest)
            .iter()
            .any(|t| !matches!(t.kind, Kind::Space | Kind::Comment))
    {
        parts.push(rest);
    }
    Ok(parts)
}

/// Split SQL into tokens, as PostgreSQL does with
/// `standard_conforming_strings` on. Unterminated quotes and comments run
/// to the end of the input (the server produced it, so that does not
/// happen in practice; the text is kept either way).
pub fn tokenize(sql: &str) -> Vec<Token<'_>> {
    tokenize_with(sql, false)
}

/// Tokens as a server with `standard_conforming_strings` off sees them:
/// every `'...'` takes backslash escapes. Tests use it to show that
/// generated SQL means the same under either setting.
pub fn tokenize_backslash_strings(sql: &str) -> Vec<Token<'_>> {
    tokenize_with(sql, true)
}

/// PostgreSQL's whitespace (`scan.l`: space, tab, newline, carriage
/// return, form feed, vertical tab); other Unicode spaces are identifier
/// characters there.
fn is_pg_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{c}' | '\u{b}')
}

fn tokenize_with(sql: &str, backslash_strings: bool) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let b = sql.as_bytes();
    let mut i = 0;
    while i < sql.len() {
        let rest = &sql[i..];
        let c = rest.chars().next().unwrap_or(' ');
        let (kind, len) = if is_pg_space(c) {
            let n = rest
                .char_indices()
                .find(|&(_, ch)| !is_pg_space(ch))
                .map_or(rest.len(), |(k, _)| k);
            (Kind::Space, n)
        } else if rest.starts_with("--") {
            // Ends at a carriage return as well as a newline.
            (Kind::Comment, rest.find(['\n', '\r']).unwrap_or(rest.len()))
        } else if rest.starts_with("/*") {
            (Kind::Comment, block_comment_len(rest))
        } else if c == '\'' {
            (Kind::String, quoted_len(rest, 0, '\'', backslash_strings))
        } else if (c == 'E' || c == 'e') && b.get(i + 1) == Some(&b'\'') {
            (Kind::String, quoted_len(rest, 1, '\'', true))
        } else if c == '"' {
            (Kind::QuotedIdent, quoted_len(rest, 0, '"', false))
        } else if c == '$' {
            if let Some(n) = dollar_len(rest) {
                (Kind::Dollar, n)
            } else {
                let n = 1 + rest[1..]
                    .char_indices()
                    .find(|&(_, ch)| !ch.is_ascii_digit())
                    .map_or(rest.len() - 1, |(k, _)| k);
                (if n > 1 { Kind::Param } else { Kind::Other }, n)
            }
        } else if is_ident_start(c) {
            let n = rest
                .char_indices()
                .find(|&(_, ch)| !is_ident_char(ch))
                .map_or(rest.len(), |(k, _)| k);
            (Kind::Ident, n)
        } else if c.is_ascii_digit() || (c == '.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let n = rest
                .char_indices()
                .find(|&(_, ch)| !(ch.is_ascii_alphanumeric() || ch == '.' || ch == '_'))
                .map_or(rest.len(), |(k, _)| k);
            (Kind::Number, n)
        } else if c == '.' {
            (Kind::Dot, 1)
        } else if c == ',' {
            (Kind::Comma, 1)
        } else if rest.starts_with("::") {
            (Kind::Cast, 2)
        } else if OPERATOR_CHARS.contains(c) {
            let n = rest
                .char_indices()
                .find(|&(k, ch)| {
                    !OPERATOR_CHARS.contains(ch)
                        || rest[k..].starts_with("--")
                        || rest[k..].starts_with("/*")
                })
                .map_or(rest.len(), |(k, _)| k)
                .max(1);
            (Kind::Other, n)
        } else {
            (Kind::Other, c.len_utf8())
        };
        out.push(Token {
            kind,
            text: &sql[i..i + len],
        });
        i += len;
    }
    out
}

fn block_comment_len(s: &str) -> usize {
    let mut depth = 0usize;
    let mut i = 0;
    let b = s.as_bytes();
    while i < b.len() {
        if b[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if b[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    s.len()
}

/// Length of a quoted token starting at `start` (the opening quote),
/// where a doubled quote stands for itself.
fn quoted_len(s: &str, start: usize, q: char, backslash: bool) -> usize {
    let b = s.as_bytes();
    let q = q as u8;
    let mut i = start + 1;
    while i < b.len() {
        if backslash && b[i] == b'\\' {
            i += 2;
        } else if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    s.len()
}

/// `$tag$ ... $tag$`: the length, or `None` when `s` does not open one.
fn dollar_len(s: &str) -> Option<usize> {
    let close = s[1..].find('$')? + 1;
    let tag = &s[1..close];
    if tag.starts_with(|c: char| c.is_ascii_digit())
        || !tag.chars().all(|c| is_ident_char(c) && c != '$')
    {
        return None;
    }
    let delim = &s[..=close];
    let body = &s[close + 1..];
    Some(
        body.find(delim)
            .map_or(s.len(), |k| close + 1 + k + delim.len()),
    )
}

/// A role named in an owner or grant statement (`OWNER TO r`, `TO r`,
/// `FROM r`) replaced by another: identifiers after those keywords only,
/// never strings, bodies or object names.
pub fn rename_role(sql: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut last_word: Option<String> = None;
    for t in tokenize(sql) {
        let is_role = matches!(last_word.as_deref(), Some("to" | "from"))
            && t.name().as_deref() == Some(from);
        if is_role {
            out.push_str(&ident(to));
        } else {
            out.push_str(t.text);
        }
        match t.kind {
            Kind::Space | Kind::Comment => {}
            Kind::Ident => last_word = Some(t.text.to_lowercase()),
            _ => last_word = None,
        }
    }
    out
}

/// Quote an identifier only where PostgreSQL needs it.
pub fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !is_reserved(name);
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Words that must be quoted as identifiers (reserved and the
/// type/function-name classes of PostgreSQL's keyword list): quoting one
/// too many is harmless, one too few is a syntax error.
fn is_reserved(w: &str) -> bool {
    const WORDS: &[&str] = &[
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "authorization",
        "between",
        "bigint",
        "binary",
        "bit",
        "boolean",
        "both",
        "case",
        "cast",
        "char",
        "character",
        "check",
        "coalesce",
        "collate",
        "collation",
        "column",
        "concurrently",
        "constraint",
        "create",
        "cross",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "dec",
        "decimal",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "exists",
        "extract",
        "false",
        "fetch",
        "float",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "grant",
        "greatest",
        "group",
        "grouping",
        "having",
        "ilike",
        "in",
        "initially",
        "inner",
        "inout",
        "int",
        "integer",
        "intersect",
        "interval",
        "into",
        "is",
        "isnull",
        "join",
        "json",
        "lateral",
        "leading",
        "least",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "national",
        "natural",
        "nchar",
        "none",
        "normalize",
        "not",
        "notnull",
        "null",
        "nullif",
        "numeric",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "out",
        "outer",
        "overlaps",
        "overlay",
        "placing",
        "position",
        "precision",
        "primary",
        "real",
        "references",
        "returning",
        "right",
        "row",
        "select",
        "session_user",
        "setof",
        "similar",
        "smallint",
        "some",
        "substring",
        "symmetric",
        "system_user",
        "table",
        "tablesample",
        "then",
        "time",
        "timestamp",
        "to",
        "trailing",
        "treat",
        "trim",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "values",
        "varchar",
        "variadic",
        "verbose",
        "when",
        "where",
        "window",
        "with",
        "xmlattributes",
        "xmlconcat",
        "xmlelement",
        "xmlexists",
        "xmlforest",
        "xmlnamespaces",
        "xmlparse",
        "xmlpi",
        "xmlroot",
        "xmlserialize",
        "xmltable",
    ];
    WORDS.contains(&w)
}

/// Cast targets whose string literal holds an object name (`'s.t'::regclass`).
const REG_TYPES: &[&str] = &[
    "regclass",
    "regtype",
    "regproc",
    "regprocedure",
    "regoper",
    "regoperator",
    "regconfig",
    "regdictionary",
    "regcollation",
];

/// How a rename decides whether `X.Y` is schema-qualified: `X.Y.Z` always
/// is, `X.Y` only when schema `X` holds an object named `Y` (otherwise it
/// may be `table.column` of a table named like the schema).
pub trait Qualifies {
    fn holds(&self, schema: &str, name: &str) -> bool;

    /// A new schema for one object `schema.name` whose schema is not
    /// mapped as a whole: an extension member whose extension lives in
    /// another schema on the target.
    fn relocated(&self, _schema: &str, _name: &str) -> Option<String> {
        None
    }
}

/// Every `X.Y` with a mapped `X` counts as schema-qualified.
pub struct AnyName;
impl Qualifies for AnyName {
    fn holds(&self, _: &str, _: &str) -> bool {
        true
    }
}

/// Rename schemas in SQL text produced by the server (an expression, a
/// view or index definition, a function header): schema qualifiers,
/// names inside `'...'::regclass`-style literals, and `search_path`
/// settings. Dollar-quoted bodies, other literals and comments are left
/// alone. Returns the text unchanged when nothing matched.
pub fn rename_schemas(sql: &str, map: &HashMap<String, String>, known: &dyn Qualifies) -> String {
    rename(sql, map, known, false)
}

/// [`rename_schemas`], plus schema names standing alone after the keyword
/// `SCHEMA` (`CREATE SCHEMA s`, `GRANT USAGE ON SCHEMA s`, `WITH SCHEMA
/// s`). For statements pgbarge rendered itself with source names (a
/// dump's DDL restored under a new map), never for server expressions.
pub fn rename_statement(sql: &str, map: &HashMap<String, String>, known: &dyn Qualifies) -> String {
    rename(sql, map, known, true)
}

fn rename(
    sql: &str,
    map: &HashMap<String, String>,
    known: &dyn Qualifies,
    schema_words: bool,
) -> String {
    let toks = tokenize(sql);
    let mut out = String::with_capacity(sql.len() + 16);
    // `SET search_path TO a, 'b'`: 0 outside, 1 after the name, 2 before
    // an item, 3 after an item.
    let mut path = 0u8;
    for (i, t) in toks.iter().enumerate() {
        if t.is_trivia() {
            out.push_str(t.text);
            continue;
        }
        let mut replaced = None;
        path = match (path, t.kind) {
            (1, Kind::Other) if t.text == "=" => 2,
            (1, Kind::Ident) if t.text.eq_ignore_ascii_case("to") => 2,
            (2, Kind::Ident | Kind::QuotedIdent | Kind::String) => {
                let value = t.name().or_else(|| t.string_value()).unwrap_or_default();
                if let Some(to) = map.get(&value) {
                    replaced = Some(if t.kind == Kind::String {
                        crate::catalog::quote_literal(to)
                    } else {
                        ident(to)
                    });
                }
                3
            }
            (3, Kind::Comma) => 2,
            _ => 0,
        };
        if path == 0 {
            replaced = rename_token(&toks, i, map, known);
            if schema_words && replaced.is_none() {
                replaced = rename_after_schema_word(&toks, i, map);
            }
            if t.kind == Kind::Ident && t.text.eq_ignore_ascii_case("search_path") {
                path = 1;
            }
        }
        match replaced {
            Some(r) => out.push_str(&r),
            None => out.push_str(t.text),
        }
    }
    out
}

/// The replacement for token `i` outside a `search_path` setting.
fn rename_token(
    toks: &[Token],
    i: usize,
    map: &HashMap<String, String>,
    known: &dyn Qualifies,
) -> Option<String> {
    let next = |i: usize| (i + 1..toks.len()).find(|&k| !toks[k].is_trivia());
    let prev = |i: usize| (0..i).rev().find(|&k| !toks[k].is_trivia());
    let t = &toks[i];
    match t.kind {
        Kind::Ident | Kind::QuotedIdent => {
            let name = t.name()?;
            if prev(i).is_some_and(|k| toks[k].kind == Kind::Dot) {
                return None;
            }
            let d = next(i).filter(|&k| toks[k].kind == Kind::Dot)?;
            let k = next(d)?;
            // An extension's member that moves with its extension (also an
            // operator: `OPERATOR(schema.%)`) goes where the extension
            // goes, even when its schema is mapped elsewhere.
            let member = match toks[k].kind {
                Kind::Other => Some(toks[k].text.to_string()),
                _ => toks[k].name(),
            };
            if let Some(to) = member.and_then(|m| known.relocated(&name, &m)) {
                return Some(ident(&to));
            }
            let to = map.get(&name)?;
            let qualified = if toks[k].kind == Kind::Other {
                true // OPERATOR(schema.+)
            } else {
                let member = toks[k].name()?;
                next(k).is_some_and(|m| toks[m].kind == Kind::Dot) || known.holds(&name, &member)
            };
            qualified.then(|| ident(to))
        }
        Kind::String => {
            let value = t.string_value()?;
            let reg = next(i)
                .filter(|&k| toks[k].kind == Kind::Cast)
                .and_then(next)
                .and_then(|k| toks[k].name())?;
            rename_in_name_literal(&value, &reg, map).map(|v| crate::catalog::quote_literal(&v))
        }
        _ => None,
    }
}

/// `SCHEMA name` where `name` is a mapped schema standing alone.
fn rename_after_schema_word(
    toks: &[Token],
    i: usize,
    map: &HashMap<String, String>,
) -> Option<String> {
    let t = &toks[i];
    if !matches!(t.kind, Kind::Ident | Kind::QuotedIdent) {
        return None;
    }
    // The keyword before, looking past `IF [NOT] EXISTS`.
    let word =
        |k: usize, w: &str| toks[k].kind == Kind::Ident && toks[k].text.eq_ignore_ascii_case(w);
    let mut prev = (0..i).rev().find(|&k| !toks[k].is_trivia())?;
    while ["exists", "not", "if"].iter().any(|w| word(prev, w)) {
        prev = (0..prev).rev().find(|&k| !toks[k].is_trivia())?;
    }
    let next = (i + 1..toks.len()).find(|&k| !toks[k].is_trivia());
    let after_keyword = word(prev, "schema");
    if !after_keyword || next.is_some_and(|k| toks[k].kind == Kind::Dot) {
        return None;
    }
    map.get(&t.name()?).map(|to| ident(to))
}

/// A `format_type` name as the target spells it under `--schema-map`
/// pairs (`local_app.mood[]` -> `public.mood[]`).
pub fn rename_type(type_name: &str, pairs: &[(String, String)]) -> String {
    let map: HashMap<String, String> = pairs.iter().cloned().collect();
    rename_schemas(type_name, &map, &AnyName)
}

/// The value of a `'...'::regclass`-style literal with its schema renamed,
/// or `None` when it names no mapped schema.
fn rename_in_name_literal(value: &str, reg: &str, map: &HashMap<String, String>) -> Option<String> {
    if reg == "regnamespace" {
        let toks: Vec<Token> = tokenize(value);
        let [one] = toks.as_slice() else { return None };
        return map.get(&one.name()?).map(|to| ident(to));
    }
    if !REG_TYPES.contains(&reg) {
        return None;
    }
    // `schema.name(args)`: the first token must be a mapped schema,
    // directly followed by a dot.
    let toks = tokenize(value);
    let first = toks.first()?;
    let to = map.get(&first.name()?)?;
    if toks.get(1)?.kind != Kind::Dot {
        return None;
    }
    // Argument types of regprocedure/regoperator may be qualified too.
    let rest = rename_schemas(&value[first.text.len()..], map, &AnyName);
    Some(format!("{}{rest}", ident(to)))
}

/// Schemas of `map` that a function body mentions as a qualifier, also
/// inside string literals (dynamic SQL). Used to warn, never to rewrite
/// silently.
pub fn mentioned_schemas(body: &str, map: &HashMap<String, String>) -> Vec<String> {
    let mut found = Vec::new();
    scan_mentions(body, map, &mut found, 0);
    found.sort();
    found.dedup();
    found
}

fn scan_mentions(sql: &str, map: &HashMap<String, String>, found: &mut Vec<String>, depth: u8) {
    let toks = tokenize(sql);
    for (i, t) in toks.iter().enumerate() {
        match t.kind {
            Kind::Ident | Kind::QuotedIdent => {
                let name = t.name().unwrap_or_default();
                if map.contains_key(&name) && toks.get(i + 1).is_some_and(|n| n.kind == Kind::Dot) {
                    found.push(name);
                }
            }
            Kind::String if depth < 3 => {
                scan_mentions(&t.string_value().unwrap_or_default(), map, found, depth + 1)
            }
            Kind::Dollar if depth < 3 => {
                if let Some(inner) = dollar_inner(t.text) {
                    scan_mentions(inner, map, found, depth + 1)
                }
            }
            _ => {}
        }
    }
}

/// The text between the delimiters of a dollar-quoted token.
fn dollar_inner(text: &str) -> Option<&str> {
    let open = text[1..].find('$').map_or(0, |k| k + 2);
    let close = text.len().saturating_sub(open);
    (open <= close).then(|| &text[open..close])
}

/// The `schema.name` pairs a function's dollar-quoted body spells, also
/// inside string literals there (dynamic SQL). The body is not parsed:
/// used to warn, never to decide.
pub fn body_names(sql: &str) -> Vec<(String, String)> {
    fn inside(sql: &str, out: &mut Vec<(String, String)>, depth: u8) {
        out.extend(qualified_names(sql));
        if depth >= 3 {
            return;
        }
        for t in tokenize(sql) {
            match t.kind {
                Kind::String => inside(&t.string_value().unwrap_or_default(), out, depth + 1),
                Kind::Dollar => {
                    if let Some(b) = dollar_inner(t.text) {
                        inside(b, out, depth + 1)
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    for t in tokenize(sql).iter().filter(|t| t.kind == Kind::Dollar) {
        if let Some(b) = dollar_inner(t.text) {
            inside(b, &mut out, 1);
        }
    }
    out
}

/// Rewrite the inside of every dollar-quoted string with `rename_schemas`
/// (`--rewrite-function-bodies`): for function bodies the user asked to
/// have renamed.
pub fn rename_in_bodies(sql: &str, map: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(sql.len());
    for t in tokenize(sql) {
        if t.kind == Kind::Dollar {
            let open = t.text[1..].find('$').map_or(0, |k| k + 2);
            let close = t.text.len().saturating_sub(open);
            if open <= close {
                out.push_str(&t.text[..open]);
                out.push_str(&rename_schemas(&t.text[open..close], map, &AnyName));
                out.push_str(&t.text[close..]);
                continue;
            }
        }
        out.push_str(t.text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_and_their_parts() {
        for sql in [
            "CREATE TABLE t (a int)",
            "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $x$ BEGIN RETURN 1; END $x$",
            "CREATE RULE r AS ON INSERT TO t DO INSTEAD ( INSERT INTO u VALUES (1); DELETE FROM v; );",
            "CREATE RULE r AS ON DELETE TO t DO INSTEAD NOTHING; -- done",
            "COMMENT ON TABLE t IS 'a; b \\ c'",
            "COMMENT ON TABLE t IS E'a\\'; DROP TABLE t; --'",
            "SELECT 1 -- ; \\! ls",
            "CREATE VIEW \"a;b\\\" AS SELECT 1",
        ] {
            assert_eq!(statement_parts(sql).map(|p| p.len()), Ok(1), "{sql}");
        }
        assert_eq!(
            statement_parts("REVOKE ALL ON t FROM PUBLIC; REVOKE ALL ON t FROM \"a;\""),
            Ok(vec![
                "REVOKE ALL ON t FROM PUBLIC",
                " REVOKE ALL ON t FROM \"a;\""
            ])
        );
        for (sql, parts) in [
            ("CREATE TABLE t (a int); DROP TABLE u", 2),
            ("COMMENT ON TABLE t IS 'a\\'; DROP TABLE t; --'", 2),
            ("CREATE TABLE t (a int);;", 2),
        ] {
            assert_eq!(statement_parts(sql).map(|p| p.len()), Ok(parts), "{sql}");
        }
        for sql in [
            "CREATE TABLE t (a int)\n\\! rm -rf x\n",
            "COMMENT ON TABLE t IS 'open",
            "CREATE TABLE t (a int /* open",
            "CREATE TABLE t (a int)) ; DROP TABLE u; SELECT (1",
        ] {
            assert!(statement_parts(sql).is_err(), "{sql}");
        }
    }

    #[test]
    fn statements_that_end_cleanly() {
        for sql in [
            "CREATE TABLE t (a int)",
            "COMMENT ON TABLE t IS 'it''s'",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $x$ SELECT 1 $x$",
            "SELECT 1 -- a comment at the end",
            "SELECT 1 /* a /* nested */ comment */",
            "SELECT \"a;b\"",
        ] {
            assert!(ends_cleanly(sql), "{sql}");
        }
        for sql in [
            "COMMENT ON TABLE t IS 'open",
            "COMMENT ON TABLE t IS 'open''",
            "CREATE FUNCTION f() RETURNS int AS $x$ SELECT 1",
            "SELECT 1 /* open /* nested */",
            "SELECT \"open",
            "SELECT E'open\\'",
        ] {
            assert!(!ends_cleanly(sql), "{sql}");
        }
    }

    #[test]
    fn qualified_names_and_created_objects() {
        let sql = r#"CREATE VIEW "App"."v 1" AS SELECT 'x.y', a.b FROM app.t /* c.d */ JOIN "Q"."r" ON true"#;
        assert_eq!(
            qualified_names(sql),
            [("App", "v 1"), ("a", "b"), ("app", "t"), ("Q", "r")]
                .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert_eq!(created_object(sql), Some(("App".into(), "v 1".into())));
        assert_eq!(
            created_object(
                "CREATE OR REPLACE FUNCTION app.f() RETURNS int LANGUAGE sql AS 'SELECT 1'"
            ),
            Some(("app".into(), "f".into()))
        );
        assert_eq!(
            created_object("CREATE UNLOGGED TABLE app.u (id int)"),
            Some(("app".into(), "u".into()))
        );
        assert_eq!(created_object("CREATE INDEX i ON app.t (a)"), None);
        assert_eq!(
            created_object("ALTER TABLE app.t ADD CONSTRAINT k CHECK (a > 0)"),
            None
        );
    }

    #[test]
    fn statements_rename_schema_words_too() {
        let map = HashMap::from([("app".to_string(), "app copy".to_string())]);
        let sql = "CREATE SCHEMA IF NOT EXISTS \"app\"; CREATE EXTENSION IF NOT EXISTS \"citext\" \
                   WITH SCHEMA app; GRANT USAGE ON SCHEMA \"app\" TO \"r\"; \
                   COMMENT ON SCHEMA app IS 'schema app'";
        assert_eq!(
            rename_statement(sql, &map, &AnyName),
            "CREATE SCHEMA IF NOT EXISTS \"app copy\"; CREATE EXTENSION IF NOT EXISTS \"citext\" \
                   WITH SCHEMA \"app copy\"; GRANT USAGE ON SCHEMA \"app copy\" TO \"r\"; \
                   COMMENT ON SCHEMA \"app copy\" IS 'schema app'"
        );
        // Server expressions keep a column called "schema" alone.
        assert_eq!(
            rename_schemas("SELECT schema app", &map, &AnyName),
            "SELECT schema app"
        );
    }

    fn map() -> HashMap<String, String> {
        HashMap::from([
            ("local_app".to_string(), "public".to_string()),
            ("Mixed Case".to_string(), "new".to_string()),
        ])
    }

    fn r(sql: &str) -> String {
        rename_schemas(sql, &map(), &AnyName)
    }

    #[test]
    fn tokens_concatenate_back_to_the_input() {
        let sql = "SELECT $1, 'it''s', E'a\\'b', $fn$ body 'x' $fn$, \"q\"\"x\" /* a /* nested */ c */ -- tail\n x.y::int, 1.5e3, a$b FROM t WHERE a <> b;";
        let toks = tokenize(sql);
        assert_eq!(toks.iter().map(|t| t.text).collect::<String>(), sql);
        let kinds: Vec<Kind> = toks
            .iter()
            .filter(|t| !t.is_trivia())
            .map(|t| t.kind)
            .collect();
        assert_eq!(kinds[1], Kind::Param);
        assert!(toks
            .iter()
            .any(|t| t.kind == Kind::Dollar && t.text == "$fn$ body 'x' $fn$"));
        assert!(toks
            .iter()
            .any(|t| t.kind == Kind::String && t.text == "E'a\\'b'"));
        assert!(toks
            .iter()
            .any(|t| t.kind == Kind::Comment && t.text.ends_with("c */")));
        assert!(toks
            .iter()
            .any(|t| t.kind == Kind::Ident && t.text == "a$b"));
    }

    #[test]
    fn renames_qualifiers_only() {
        assert_eq!(r("local_app.orders"), "public.orders");
        assert_eq!(r("LOCAL_APP.orders"), "public.orders");
        assert_eq!(r("\"local_app\".\"Orders\""), "public.\"Orders\"");
        assert_eq!(r("\"Mixed Case\".t"), "new.t");
        // Not a qualifier: a column or table named like the schema.
        assert_eq!(r("SELECT local_app FROM x"), "SELECT local_app FROM x");
        assert_eq!(r("x.local_app"), "x.local_app");
        // Unquoted Mixed Case folds to "mixed case", not a mapped name.
        assert_eq!(r("mixed.t"), "mixed.t");
        assert_eq!(r("local_app.t.c"), "public.t.c");
        assert_eq!(r("OPERATOR(local_app.===)"), "OPERATOR(public.===)");
    }

    #[test]
    fn leaves_data_and_comments_alone() {
        let sql = "'local_app.orders' || $$local_app.x$$ -- local_app.y\n/* local_app.z */";
        assert_eq!(r(sql), sql);
        assert_eq!(r("E'local_app.t'"), "E'local_app.t'");
    }

    #[test]
    fn body_names_read_bodies_and_their_dynamic_sql() {
        let sql = "CREATE FUNCTION a.f() RETURNS int LANGUAGE plpgsql AS $f$ BEGIN \
                   PERFORM 1 FROM b.t; EXECUTE 'DELETE FROM c.u'; RETURN 1; END $f$";
        let names = body_names(sql);
        assert!(names.contains(&("b".into(), "t".into())), "{names:?}");
        assert!(names.contains(&("c".into(), "u".into())), "{names:?}");
        assert!(!names.contains(&("a".into(), "f".into())), "{names:?}");
    }

    #[test]
    fn referenced_names_include_regclass_literals() {
        let sql = r#"CREATE TABLE a.t (id int DEFAULT nextval('a.s'::regclass), m "B".mood, x text DEFAULT 'c.d')"#;
        let names = referenced_names(sql);
        for (s, n) in [("a", "t"), ("B", "mood"), ("a", "s")] {
            assert!(
                names.contains(&(s.into(), n.into())),
                "{s}.{n} in {names:?}"
            );
        }
        assert!(!names.contains(&("c".into(), "d".into())));
    }

    #[test]
    fn renames_inside_regclass_literals() {
        assert_eq!(
            r("nextval('local_app.orders_id_seq'::regclass)"),
            "nextval('public.orders_id_seq'::regclass)"
        );
        assert_eq!(
            r("nextval('\"Mixed Case\".\"S\"'::regclass)"),
            "nextval('new.\"S\"'::regclass)"
        );
        assert_eq!(
            r("'local_app.f(local_app.t)'::regprocedure"),
            "'public.f(public.t)'::regprocedure"
        );
        assert_eq!(r("'local_app'::regnamespace"), "'public'::regnamespace");
        assert_eq!(r("'local_app.x'::text"), "'local_app.x'::text");
        assert_eq!(
            r("'it''s'::regclass"),
            "'it''s'::regclass",
            "unqualified names stay"
        );
    }

    #[test]
    fn renames_search_path_settings() {
        assert_eq!(
            r(" SET search_path TO 'local_app', 'pg_temp'\nAS $f$ SELECT 1 $f$"),
            " SET search_path TO 'public', 'pg_temp'\nAS $f$ SELECT 1 $f$"
        );
        assert_eq!(
            r("SET search_path = local_app, x"),
            "SET search_path = public, x"
        );
    }

    #[test]
    fn known_objects_decide_two_part_names() {
        struct Only;
        impl Qualifies for Only {
            fn holds(&self, schema: &str, name: &str) -> bool {
                schema == "local_app" && name == "orders"
            }
        }
        let m = map();
        assert_eq!(
            rename_schemas("local_app.orders, local_app.id", &m, &Only),
            "public.orders, local_app.id"
        );
    }

    #[test]
    fn relocates_single_objects_of_an_unmapped_schema() {
        struct Ext;
        impl Qualifies for Ext {
            fn holds(&self, _: &str, _: &str) -> bool {
                true
            }
            fn relocated(&self, schema: &str, name: &str) -> Option<String> {
                (schema == "public" && name == "uuid_generate_v4").then(|| "extensions".into())
            }
        }
        assert_eq!(
            rename_schemas("public.uuid_generate_v4(), public.other()", &map(), &Ext),
            "extensions.uuid_generate_v4(), public.other()"
        );
    }

    #[test]
    fn finds_mentions_in_bodies_and_dynamic_sql() {
        let body = "BEGIN EXECUTE 'SELECT * FROM local_app.t'; PERFORM 1; END";
        assert_eq!(mentioned_schemas(body, &map()), vec!["local_app"]);
        assert!(mentioned_schemas("SELECT 'local_app'", &map()).is_empty());
        let def = "CREATE FUNCTION public.f() AS $b$ SELECT local_app.g() $b$";
        assert_eq!(
            rename_in_bodies(def, &map()),
            "CREATE FUNCTION public.f() AS $b$ SELECT public.g() $b$"
        );
    }

    #[test]
    fn quotes_only_where_needed() {
        assert_eq!(ident("public"), "public");
        assert_eq!(ident("Public"), "\"Public\"");
        assert_eq!(ident("select"), "\"select\"");
        assert_eq!(ident("a b"), "\"a b\"");
        assert_eq!(ident("ünï"), "\"ünï\"");
    }
    #[test]
    fn rename_role_touches_roles_only() {
        assert_eq!(
            super::rename_role(
                "GRANT ALL ON SCHEMA pg_database_owner TO pg_database_owner WITH GRANT OPTION",
                "pg_database_owner",
                "Old Owner"
            ),
            "GRANT ALL ON SCHEMA pg_database_owner TO \"Old Owner\" WITH GRANT OPTION"
        );
        assert_eq!(
            super::rename_role(
                "REVOKE ALL ON SCHEMA public FROM \"pg_database_owner\"; ALTER SCHEMA s OWNER TO pg_database_owner",
                "pg_database_owner",
                "postgres"
            ),
            "REVOKE ALL ON SCHEMA public FROM postgres; ALTER SCHEMA s OWNER TO postgres"
        );
        assert_eq!(
            super::rename_role(
                "COMMENT ON SCHEMA s IS 'TO pg_database_owner'",
                "pg_database_owner",
                "x"
            ),
            "COMMENT ON SCHEMA s IS 'TO pg_database_owner'"
        );
    }
}
