//! Which column types survive binary COPY between two servers: found out
//! by trying it on real servers, and checked against pgbarge's choice.

use std::io::{Read, Write};

use crate::support::*;

const TYPES: &str = "CREATE SCHEMA app; \
    CREATE TYPE app.mood AS ENUM ('sad', 'ok'); \
    CREATE TYPE app.pair AS (a int, b text); \
    CREATE TYPE app.tagged AS (n int, m app.mood); \
    CREATE DOMAIN app.posint AS int CHECK (VALUE > 0); \
    CREATE TYPE app.floatrange AS RANGE (subtype = float8); \
    CREATE TYPE app.nobin; \
    CREATE FUNCTION app.nobin_in(cstring) RETURNS app.nobin AS 'textin' LANGUAGE internal IMMUTABLE STRICT; \
    CREATE FUNCTION app.nobin_out(app.nobin) RETURNS cstring AS 'textout' LANGUAGE internal IMMUTABLE STRICT; \
    CREATE TYPE app.nobin (INPUT = app.nobin_in, OUTPUT = app.nobin_out, LIKE = text);";

/// (column type, a value, portable in binary?)
const CASES: &[(&str, &str, bool)] = &[
    // PostgreSQL 14+ targets ignore user-type OIDs inside binary arrays
    // and composites (older ones reject them; see catalog::types).
    ("app.mood", "'ok'", true),
    ("app.mood[]", "'{sad,ok}'", true),
    ("app.pair", "'(1,x)'", true),
    ("app.pair[]", "ARRAY['(1,x)'::app.pair]", true),
    ("app.tagged", "'(1,ok)'", true),
    ("app.posint", "5", true),
    ("app.posint[]", "'{1,2}'", true),
    // A type without binary send/receive functions.
    ("app.nobin", "'plain'", false),
    ("app.floatrange", "'[1.5,2)'", true),
    ("int4range", "'[1,5)'", true),
    ("int4multirange", "'{[1,2)}'", true),
    ("int[]", "'{1,NULL,3}'", true),
    ("text[]", "'{a,b}'", true),
    ("jsonb", "'{\"a\": 1}'", true),
    ("numeric", "'NaN'", true),
    ("timestamptz", "'infinity'", true),
    ("tsvector", "'a:1 b:2'", true),
    ("xml", "'<a/>'", true),
    ("money", "'1.25'", true),
];

fn raw_binary_copy(src: &mut postgres::Client, dst: &mut postgres::Client, table: &str) -> bool {
    let data = try_copy_out(src, table);
    if data.is_empty() {
        return false; // the source could not even send it
    }
    let mut tx = dst.transaction().unwrap();
    let ok = (|| -> Result<(), postgres::Error> {
        let mut w = tx.copy_in(&format!("COPY {table} FROM STDIN (FORMAT binary)"))?;
        let _ = w.write_all(&data);
        w.finish()?;
        Ok(())
    })()
    .is_ok();
    let _ = tx.rollback();
    ok
}

fn try_copy_out(src: &mut postgres::Client, table: &str) -> Vec<u8> {
    let mut data = Vec::new();
    if let Ok(mut r) = src.copy_out(&format!("COPY {table} TO STDOUT (FORMAT binary)")) {
        if r.read_to_end(&mut data).is_err() {
            data.clear();
        }
    }
    data
}

#[test]
fn binary_portability_matches_server() {
    let s = servers();
    let src = s.source.fresh_db("port");
    let dst = s.target.fresh_db("port");
    let mut a = s.source.client(&src);
    let mut b = s.target.client(&dst);
    // Shift the target's OIDs so no user type can share its source OID.
    b.batch_execute(
        "CREATE TYPE public.shift1 AS ENUM ('x'); CREATE TYPE public.shift2 AS (x int);",
    )
    .unwrap();
    a.batch_execute(TYPES).unwrap();
    b.batch_execute(TYPES).unwrap();
    for (i, (ty, value, _)) in CASES.iter().enumerate() {
        let ddl = format!("CREATE TABLE public.c{i} (v {ty});");
        a.batch_execute(&format!("{ddl} INSERT INTO public.c{i} VALUES ({value});"))
            .unwrap();
        b.batch_execute(&ddl).unwrap();
    }
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    copy(
        &src,
        &dst,
        &["--format", "binary", "--report", report.to_str().unwrap()],
    )
    .assert_code(0);
    assert_same_content(&src, &dst);
    let r = read_report(&report);
    let mut wrong = Vec::new();
    for (i, (ty, _, expected)) in CASES.iter().enumerate() {
        let table = format!("public.c{i}");
        let actual = raw_binary_copy(&mut a, &mut b, &table);
        let chosen = report_table(&r, &table)["format"] == "binary";
        if actual != *expected || chosen != *expected {
            wrong.push(format!("{ty}: server accepts binary = {actual}, pgbarge chose binary = {chosen}, expected {expected}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A column whose type differs between the sides (int on the source,
/// bigint on the target): binary is rejected, text works, and pgbarge
/// falls back to text for that table only, saying why.
#[test]
fn differing_column_types_fall_back_to_text() {
    let s = servers();
    let src = s.source.fresh_db("mismatch");
    let dst = s.target.fresh_db("mismatch");
    let mut a = s.source.client(&src);
    let mut b = s.target.client(&dst);
    a.batch_execute(
        "CREATE TABLE t (id int, v text); INSERT INTO t VALUES (1, 'x'), (2, NULL); \
                     CREATE TABLE same (id int); INSERT INTO same VALUES (1);",
    )
    .unwrap();
    b.batch_execute("CREATE TABLE t (id bigint, v text); CREATE TABLE same (id int);")
        .unwrap();
    assert!(
        !raw_binary_copy(&mut a, &mut b, "t"),
        "the server accepted int4 binary into int8"
    );
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    copy(&src, &dst, &["--report", report.to_str().unwrap()]).assert_code(0);
    assert_same_content(&src, &dst);
    let r = read_report(&report);
    let t = report_table(&r, "public.t");
    assert_eq!(t["format"], "text", "{t}");
    assert!(
        t["format_reason"]
            .as_str()
            .unwrap()
            .contains("integer on the source and bigint on the target"),
        "{t}"
    );
    let same = report_table(&r, "public.same");
    assert_eq!(same["format"], "binary");
}
