//! Quoting: the only ways a name or a string read from a server or an
//! archive reaches generated SQL.
//!
//! Pure code. Names and strings are untrusted (PostgreSQL names may hold
//! any character but NUL), so each form here keeps its input inert in
//! every setting a script can meet:
//! - identifiers are always double-quoted, `"` doubled;
//! - literals double `'`, and a literal holding a backslash is written
//!   `E'...'` with the backslash doubled (as PostgreSQL's own
//!   `quote_literal` does), so it reads the same whether
//!   `standard_conforming_strings` is on or off;
//! - text in a `--` comment has every control character escaped, since
//!   PostgreSQL's lexer (and psql's) ends such a comment at a carriage
//!   return as well as at a newline.

/// Quote an identifier the way PostgreSQL's `quote_ident` does, but always.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Quote a string literal; see the module notes for backslashes.
pub fn quote_literal(s: &str) -> String {
    let body = s.replace('\'', "''");
    if s.contains('\\') {
        format!("E'{}'", body.replace('\\', "\\\\"))
    } else {
        format!("'{body}'")
    }
}

/// Text that is safe inside a `--` comment and on a terminal: control
/// characters (line ends, escape sequences, ...) are written as `\r`,
/// `\n`, `\t` or `\u{..}`, and a backslash as `\\` so the escaping can be
/// read back unambiguously.
pub fn comment_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || is_line_break(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Text for a terminal that may span lines (an error message): as
/// `comment_text`, but newlines and tabs stay, so a name from a server
/// cannot move the cursor, clear the screen or overwrite a line.
pub fn terminal_text(s: &str) -> String {
    s.split('\n')
        .map(|line| {
            line.split('\t')
                .map(|part| comment_text(part).replace("\\\\", "\\"))
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Unicode line and paragraph separators: not control characters, but
/// editors and some terminals break lines there.
fn is_line_break(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}')
}

/// A privilege word as `aclexplode` reports it, checked against
/// PostgreSQL's fixed list before it is written into a GRANT: it comes
/// from a server, and a GRANT has no quoting that would keep an unknown
/// word inert. `None` for anything else (the caller names the object).
pub fn privilege(word: &str) -> Option<&'static str> {
    const KNOWN: [&str; 15] = [
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "TRUNCATE",
        "REFERENCES",
        "TRIGGER",
        "EXECUTE",
        "USAGE",
        "CREATE",
        "CONNECT",
        "TEMPORARY",
        "SET",
        "ALTER SYSTEM",
        "MAINTAIN",
    ];
    KNOWN.into_iter().find(|k| *k == word)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ddl::lexer::{tokenize, Kind};
    use proptest::prelude::*;

    #[test]
    fn privilege_words_are_only_postgresql_own() {
        assert_eq!(privilege("SELECT"), Some("SELECT"));
        assert_eq!(privilege("ALTER SYSTEM"), Some("ALTER SYSTEM"));
        assert_eq!(privilege("MAINTAIN"), Some("MAINTAIN"));
        for bad in [
            "select",
            "SELECT ",
            "SELECT ON t TO x; DROP TABLE t; --",
            "",
            "ALL",
        ] {
            assert_eq!(privilege(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn examples() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal(r"a\'b"), r"E'a\\''b'");
        assert_eq!(
            terminal_text("a\\b\n\tc\rd\u{1b}[2J"),
            "a\\b\n\tc\\rd\\u{1b}[2J"
        );
        assert_eq!(
            comment_text("u\rCREATE TABLE x;--\n\u{1b}[2J\\"),
            r"u\rCREATE TABLE x;--\n\u{1b}[2J\\"
        );
    }

    /// Any character a name may hold (all but NUL), with the ones that
    /// end quotes and comments made likely.
    fn hostile() -> impl Strategy<Value = String> {
        let tricky = prop::sample::select(vec![
            "\r", "\n", "\r\n", "--", "/*", "*/", ";", "'", "\"", "\\", "$$", "$a$", "E'", "\\.",
            "\u{2028}", "\u{1b}", ":x", "\t", "é",
        ]);
        let piece = prop_oneof![
            tricky.prop_map(str::to_string),
            any::<char>()
                .prop_filter("no NUL", |c| *c != '\0')
                .prop_map(String::from),
            "[a-zA-Z0-9 ]{1,4}",
        ];
        prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
    }

    /// Lex as PostgreSQL would with `standard_conforming_strings` on, and
    /// also as it would with it off (every `'...'` then takes backslash
    /// escapes, which is what an `E` prefix does).
    fn lex_both(sql: &str) -> [Vec<(Kind, String)>; 2] {
        let on = tokenize(sql)
            .iter()
            .map(|t| (t.kind, t.text.to_string()))
            .collect();
        // Off: PostgreSQL treats '...' like E'...'; the lexer's E-string
        // rule stands in for it.
        let off = crate::ddl::lexer::tokenize_backslash_strings(sql)
            .iter()
            .map(|t| (t.kind, t.text.to_string()))
            .collect();
        [on, off]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// A name or string from the catalog never ends the comment,
        /// identifier or literal it is placed in: the statement around it
        /// lexes to the same shape whatever it holds, and the value reads
        /// back unchanged.
        #[test]
        fn names_and_strings_stay_inside_their_token(name in hostile(), text in hostile()) {
            let sql = format!(
                "-- comment on {}\nCOMMENT ON TABLE {}.{} IS {};\n",
                comment_text(&name),
                quote_ident(&name),
                quote_ident(&text),
                quote_literal(&text)
            );
            for toks in lex_both(&sql) {
                let shape: Vec<Kind> = toks
                    .iter()
                    .map(|t| t.0)
                    .filter(|k| *k != Kind::Space)
                    .collect();
                prop_assert_eq!(
                    shape,
                    vec![
                        Kind::Comment, Kind::Ident, Kind::Ident, Kind::Ident,
                        Kind::QuotedIdent, Kind::Dot, Kind::QuotedIdent,
                        Kind::Ident, Kind::String, Kind::Other
                    ],
                    "{:?}", sql
                );
                let comment = &toks[0].1;
                prop_assert!(!comment.contains(['\r', '\n']));
            }
            let toks = tokenize(&sql);
            let words: Vec<_> = toks.iter().filter(|t| t.kind != Kind::Space).collect();
            prop_assert_eq!(words[4].name(), Some(name.clone()));
            prop_assert_eq!(words[6].name(), Some(text.clone()));
            prop_assert_eq!(words[8].string_value(), Some(text.clone()));
        }
    }
}
