//! A small table's rows as one INSERT statement, so that many small
//! tables load in one round trip (a COPY costs two of its own, which over
//! a distant link is far more than a small table's bytes).
//!
//! Pure code. The rows come from the source as COPY text: rows end with a
//! newline, fields are split by tabs, `\N` is NULL, and a backslash
//! escapes the rest (PostgreSQL's `CopyReadAttributesText`). Each field
//! becomes a string literal that the target reads with the column type's
//! input function, exactly as COPY would. The data is untrusted: anything
//! that does not decode to text without NUL is refused (the caller then
//! loads the table by COPY).

use crate::ddl::quote::quote_literal;

/// `INSERT INTO table (columns) OVERRIDING SYSTEM VALUE VALUES ...` for
/// the rows of `copy_text` (text format, all columns of the list), and
/// how many rows; `None` for no rows. A table without columns gets one
/// row per empty line.
pub fn insert_sql(
    table: &str,
    columns: &str,
    copy_text: &[u8],
) -> Result<Option<(String, u64)>, String> {
    let mut rows = 0u64;
    let mut values = String::with_capacity(copy_text.len() * 2);
    let mut data = copy_text;
    if data.is_empty() {
        return Ok(None);
    }
    if data.last() != Some(&b'\n') {
        return Err("COPY data does not end with a line end".into());
    }
    data = &data[..data.len() - 1];
    for line in data.split(|&b| b == b'\n') {
        rows += 1;
        if columns.trim().is_empty() {
            if !line.is_empty() {
                return Err(format!(
                    "row {rows} has fields but the table has no columns"
                ));
            }
            continue;
        }
        if rows > 1 {
            values.push_str(",\n");
        }
        values.push('(');
        for (i, field) in line.split(|&b| b == b'\t').enumerate() {
            if i > 0 {
                values.push_str(", ");
            }
            if field == b"\\N" {
                values.push_str("NULL");
            } else {
                let text = decode(field).map_err(|e| format!("row {rows}: {e}"))?;
                values.push_str(&quote_literal(&text));
            }
        }
        values.push(')');
    }
    let sql = if columns.trim().is_empty() {
        format!("INSERT INTO {table} SELECT FROM pg_catalog.generate_series(1, {rows})")
    } else {
        format!("INSERT INTO {table} ({columns}) OVERRIDING SYSTEM VALUE VALUES\n{values}")
    };
    Ok(Some((sql, rows)))
}

/// One field of COPY text, its escapes undone.
fn decode(field: &[u8]) -> Result<String, String> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let b = field[i];
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let Some(&c) = field.get(i) else {
            return Err("a field ends with a lone backslash".into());
        };
        i += 1;
        match c {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match field.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' if field.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let mut v = 0u32;
                for _ in 0..2 {
                    match field.get(i) {
                        Some(&d) if d.is_ascii_hexdigit() => {
                            v = v * 16 + (d as char).to_digit(16).unwrap_or(0);
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(v as u8);
            }
            other => out.push(other),
        }
    }
    if out.contains(&0) {
        return Err("a field holds a NUL byte".into());
    }
    String::from_utf8(out).map_err(|_| "a field is not valid UTF-8".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_literals_and_nulls() {
        let (sql, rows) = insert_sql("\"s\".\"t\"", "\"a\", \"b\"", b"1\tit's\n2\t\\N\n")
            .unwrap()
            .unwrap();
        assert_eq!(rows, 2);
        assert_eq!(
            sql,
            "INSERT INTO \"s\".\"t\" (\"a\", \"b\") OVERRIDING SYSTEM VALUE VALUES\n\
             ('1', 'it''s'),\n('2', NULL)"
        );
    }

    #[test]
    fn escapes_are_undone_and_backslashes_stay_inert() {
        let (sql, _) = insert_sql("t", "\"a\"", b"x\\ty\\nz\\\\w\\101\\x42\\.\n")
            .unwrap()
            .unwrap();
        // tab, newline, one backslash, 'A' (octal), 'B' (hex), '.'
        assert!(sql.ends_with("(E'x\ty\nz\\\\wAB.')"), "{sql}");
    }

    #[test]
    fn an_empty_string_is_not_null() {
        let (sql, _) = insert_sql("t", "\"a\", \"b\"", b"\t\\N\n")
            .unwrap()
            .unwrap();
        assert!(sql.ends_with("('', NULL)"), "{sql}");
    }

    #[test]
    fn no_rows_and_no_columns() {
        assert_eq!(insert_sql("t", "\"a\"", b"").unwrap(), None);
        let (sql, rows) = insert_sql("t", "", b"\n\n\n").unwrap().unwrap();
        assert_eq!(rows, 3);
        assert_eq!(
            sql,
            "INSERT INTO t SELECT FROM pg_catalog.generate_series(1, 3)"
        );
    }

    /// COPY text as PostgreSQL writes a field (`CopyAttributeOutText`).
    fn encode(s: &str) -> String {
        let mut out = String::new();
        for c in s.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\u{b}' => out.push_str("\\v"),
                c => out.push(c),
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn decoding_undoes_what_the_server_encodes(s in "[^\\x00]*") {
            proptest::prop_assert_eq!(decode(encode(&s).as_bytes()).unwrap(), s);
        }
    }

    #[test]
    fn what_cannot_be_text_is_refused() {
        assert!(insert_sql("t", "\"a\"", b"x\\0\n").is_err(), "NUL");
        assert!(insert_sql("t", "\"a\"", b"\\377\n").is_err(), "not UTF-8");
        assert!(
            insert_sql("t", "\"a\"", b"x\\\n").is_err(),
            "lone backslash"
        );
        assert!(insert_sql("t", "\"a\"", b"x").is_err(), "no line end");
        assert!(
            insert_sql("t", "", b"x\n").is_err(),
            "fields without columns"
        );
    }
}
