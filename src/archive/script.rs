//! Plain SQL renderings of a schema plan, in the order `copy` and
//! `restore` run it, for psql and for people.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::{Codec, TableEntry};
use crate::catalog::{
    model::{Kind, Statement},
    quote_ident,
};
use crate::ddl::quote::comment_text;
use crate::transfer::schema::{setval_sql, SchemaPlan, SequenceValue};

/// Session settings a script needs in psql: no search_path (every name is
/// qualified), standard strings, no body checks before everything exists.
pub const PREAMBLE: &str = "\
SET statement_timeout = 0;
SET lock_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET client_min_messages = warning;
SET row_security = off;
";

fn push(out: &mut String, st: &Statement) {
    out.push_str("\n-- ");
    out.push_str(&comment_text(&st.what));
    out.push('\n');
    out.push_str(st.sql.trim_end());
    out.push_str(";\n");
}

/// Schemas, extensions, types, functions, sequences, tables, views.
pub fn pre_data(plan: &SchemaPlan) -> String {
    let mut out = String::from(PREAMBLE);
    for s in &plan.schemas {
        out.push_str(&format!(
            "\nCREATE SCHEMA IF NOT EXISTS {};\n",
            quote_ident(s)
        ));
    }
    for st in plan.extensions.iter().chain(&plan.pre) {
        push(&mut out, st);
    }
    out
}

/// Keys and indexes, foreign keys and the rest, validations, sequence
/// values, owners and grants, publications.
pub fn post_data(plan: &SchemaPlan, sequences: &[SequenceValue]) -> String {
    let mut out = String::from(PREAMBLE);
    for st in plan
        .indexes
        .iter()
        .chain(&plan.post)
        .chain(&plan.validations)
    {
        push(&mut out, st);
    }
    for v in sequences {
        push(
            &mut out,
            &Statement::new(
                Kind::SequenceValue,
                format!("sequence {}", v.sequence),
                setval_sql(v),
            ),
        );
    }
    for st in plan.access.iter().chain(&plan.publications) {
        push(&mut out, st);
    }
    out
}

/// The line before a table's rows in a SQL script.
pub fn copy_header(t: &TableEntry) -> String {
    let list = if t.columns.trim().is_empty() {
        String::new()
    } else {
        format!(" ({})", t.columns)
    };
    format!(
        "\n-- rows of {}\nCOPY {}{list} FROM stdin;\n",
        comment_text(&t.name.to_string()),
        t.name.quoted(),
    )
}

/// The line after a table's rows.
pub const COPY_END: &str = "\\.\n";

/// Before the large objects' rows: the temporary table they load into.
pub fn large_objects_head(t: &TableEntry) -> String {
    format!(
        "\n-- large objects: their chunks load into a temporary table, then become objects\n{};\n{}",
        super::lobj::create_table_sql(),
        copy_header(t)
    )
}

/// After them: the objects made from the rows.
pub fn large_objects_tail() -> String {
    format!("{COPY_END}{};\n", super::lobj::create_objects_sql())
}

/// The first line of a (possibly compressed) file, or a usage error
/// saying why it cannot be read.
pub fn read_header_line(path: &Path, codec: Codec) -> crate::Result<String> {
    let bad = |e: std::io::Error| {
        crate::Error::usage(format!(
            "{} is not a pgbarge dump: cannot read it{}: {e}",
            path.display(),
            match codec {
                Codec::None => String::new(),
                c => format!(" as {} data", c.to_string().split(':').next().unwrap_or("")),
            }
        ))
    };
    let file = std::fs::File::open(path).map_err(bad)?;
    let mut r = BufReader::new(codec.decoder(file).map_err(bad)?);
    let mut line = Vec::new();
    // The header is one line; a cap keeps a foreign binary file from
    // being read whole.
    let mut limited = (&mut r).take(1 << 30);
    limited.read_until(b'\n', &mut line).map_err(bad)?;
    String::from_utf8(line).map_err(|_| {
        crate::Error::usage(format!(
            "{} is not a pgbarge dump (its first line is not text)",
            path.display()
        ))
    })
}
