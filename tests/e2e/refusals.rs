//! Every refusal: exit 2, a message that names the object, and nothing
//! written to the target.

use crate::support::*;

#[test]
fn refuses_same_database() {
    let s = servers();
    let db = s.source.fresh_db("same");
    s.source
        .client(&db)
        .batch_execute("CREATE TABLE t (id int)")
        .unwrap();
    let url = s.source.url(&db);
    // Same database through a different spelling of the address.
    let other = format!(
        "host=localhost port={} user=postgres dbname={db} sslmode=disable",
        s.source.port
    );
    let run = pgbarge(&["copy", "--data-only", "--source", &url, "--target", &other]);
    run.assert_code(2);
    assert!(run.stderr.contains("same database"), "{}", run.stderr);

    // Another database of the same cluster is fine.
    let db2 = s.source.fresh_db("same2");
    s.source
        .client(&db2)
        .batch_execute("CREATE TABLE t (id int)")
        .unwrap();
    pgbarge(&[
        "copy",
        "--data-only",
        "--source",
        &url,
        "--target",
        &s.source.url(&db2),
    ])
    .assert_code(0);
}

#[test]
fn refuses_non_empty_target_unless_truncate() {
    let ddl = "CREATE TABLE parent (id int PRIMARY KEY); \
               CREATE TABLE child (id int, parent_id int REFERENCES parent); \
               CREATE TABLE solo (id int);";
    let (src, dst) = db_pair("nonempty", ddl);
    servers()
        .source
        .client(&src)
        .batch_execute("INSERT INTO parent VALUES (1), (2); INSERT INTO child VALUES (1, 2); INSERT INTO solo VALUES (5);")
        .unwrap();
    servers()
        .target
        .client(&dst)
        .batch_execute("INSERT INTO parent VALUES (9); INSERT INTO child VALUES (1, 9); INSERT INTO solo VALUES (7);")
        .unwrap();
    let run = copy(&src, &dst, &[]);
    run.assert_code(2);
    assert!(run.stderr.contains("public.parent"), "{}", run.stderr);
    assert!(run.stderr.contains("--truncate"), "{}", run.stderr);
    // Nothing was touched.
    let mut t = servers().target.client(&dst);
    assert_eq!(digest(&mut t, "solo").0, 1);
    let solo: i32 = t.query_one("SELECT id FROM solo", &[]).unwrap().get(0);
    assert_eq!(solo, 7);

    copy(&src, &dst, &["--truncate"]).assert_code(0);
    assert_same_content(&src, &dst);

    // --truncate cannot empty a referenced table whose referencing table
    // is left out of the selection.
    let run = copy(&src, &dst, &["--truncate", "--exclude-table", "child"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("public.child references it"),
        "{}",
        run.stderr
    );
}

#[test]
fn refuses_target_lacking_a_column_or_table() {
    let (src, dst) = db_pair(
        "cols",
        "CREATE TABLE t (id int, extra text); CREATE TABLE u (id int);",
    );
    servers()
        .target
        .client(&dst)
        .batch_execute("ALTER TABLE t DROP COLUMN extra; DROP TABLE u;")
        .unwrap();
    let run = copy(&src, &dst, &[]);
    run.assert_code(2);
    assert!(
        run.stderr.contains(
            "target table public.t has no column \"extra\" (source table public.t has it)"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("the target has no table public.u"),
        "{}",
        run.stderr
    );
}

#[test]
fn selection_filters_and_unmatched_patterns() {
    let ddl = "CREATE SCHEMA app; CREATE SCHEMA other; \
               CREATE TABLE app.users (id int); CREATE TABLE app.audit_log (id int); \
               CREATE TABLE app.audit_x (id int); CREATE TABLE app.big_data (id int); \
               CREATE TABLE other.t (id int);";
    let (src, dst) = db_pair("filters", ddl);
    servers()
        .source
        .client(&src)
        .batch_execute(
            "INSERT INTO app.users VALUES (1); INSERT INTO app.audit_log VALUES (1); \
             INSERT INTO app.audit_x VALUES (1); INSERT INTO app.big_data VALUES (1); \
             INSERT INTO other.t VALUES (1);",
        )
        .unwrap();
    let run = copy(
        &src,
        &dst,
        &[
            "--schema",
            "app",
            "--exclude-table",
            "app.audit_*",
            "--exclude-table-data",
            "big_*",
        ],
    );
    run.assert_code(0);
    let mut t = servers().target.client(&dst);
    let count = |t: &mut postgres::Client, n: &str| digest(t, n).0;
    assert_eq!(count(&mut t, "app.users"), 1);
    assert_eq!(count(&mut t, "app.audit_log"), 0);
    assert_eq!(count(&mut t, "app.audit_x"), 0);
    assert_eq!(count(&mut t, "app.big_data"), 0);
    assert_eq!(count(&mut t, "other.t"), 0);

    let run = copy(
        &src,
        &dst,
        &[
            "--truncate",
            "--table",
            "app.nope*",
            "--exclude-schema",
            "zzz",
        ],
    );
    run.assert_code(2);
    assert!(
        run.stderr.contains("--table \"app.nope*\""),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--exclude-schema \"zzz\""),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_input_is_exit_2_with_a_clear_message() {
    let s = servers();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["copy".into(), "--data-only".into()], "no source given"),
        (
            vec![
                "copy".into(),
                "--data-only".into(),
                "--source".into(),
                "postgres://u:hunter2@h:99999/d".into(),
                "--target".into(),
                s.target.url("x"),
            ],
            "invalid port",
        ),
        (
            vec![
                "copy".into(),
                "--schema-only".into(),
                "--data-only".into(),
                "--source".into(),
                s.source.url("x"),
                "--target".into(),
                s.target.url("x"),
            ],
            "--data-only",
        ),
        (
            vec![
                "copy".into(),
                "--data-only".into(),
                "--jobs".into(),
                "0".into(),
                "--source".into(),
                "x=y".into(),
            ],
            "--jobs",
        ),
        (
            vec![
                "copy".into(),
                "--data-only".into(),
                "--schema-map".into(),
                "a".into(),
                "--source".into(),
                s.source.url("x"),
                "--target".into(),
                s.target.url("x"),
            ],
            "SRC=DST",
        ),
    ];
    for (args, want) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = pgbarge(&args);
        run.assert_code(2);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
        assert!(!run.all().contains("hunter2"));
        assert!(!run.stderr.contains("panicked"));
    }
}

/// A schema map that cannot mean what it says is refused before anything
/// is written: two "=", a source schema the source lacks (a typo would
/// have sent the copy to the old name), a system name or one past 63
/// bytes as the target.
#[test]
fn schema_maps_that_cannot_work_are_refused_up_front() {
    let s = servers();
    let src = s.source.fresh_db("badmap");
    seed_source(&src, "CREATE SCHEMA app; CREATE TABLE app.t (id int);");
    let dst = s.target.fresh_db("badmap");
    let long = format!("app={}", "x".repeat(64));
    for (map, want) in [
        ("app=b=c", "more than one \"=\""),
        ("nosuch=x", "the source has no schema \"nosuch\""),
        ("app=pg_catalog", "reserved for the system"),
        ("app=pg_mine", "reserved for the system"),
        ("app=information_schema", "reserved for the system"),
        (long.as_str(), "PostgreSQL names hold at most 63"),
    ] {
        let run = copy_full(&src, &dst, &["--schema-map", map]);
        run.assert_code(2);
        assert!(run.stderr.contains(want), "{map}: {}", run.stderr);
        let (surl, turl) = (s.source.url(&src), s.target.url(&dst));
        let run = pgbarge(&[
            "plan",
            "--source",
            &surl,
            "--target",
            &turl,
            "--schema-map",
            map,
        ]);
        assert_ne!(run.code, 0, "{map}: {}", run.all());
        assert!(run.all().contains(want), "{map}: {}", run.all());
        assert_eq!(
            user_tables(&mut s.target.client(&dst)),
            Vec::<String>::new(),
            "{map}: something was written"
        );
    }
}

/// One mistake, one blocker: a pattern that matches nothing stops both
/// the selection and the schema plan, and is named once.
#[test]
fn one_mistake_is_one_blocker() {
    let s = servers();
    let src = s.source.fresh_db("oneblock");
    seed_source(&src, "CREATE SCHEMA myapp; CREATE TABLE myapp.t (id int);");
    let dst = s.target.fresh_db("oneblock");
    let (surl, turl) = (s.source.url(&src), s.target.url(&dst));
    for args in [["--schema", "MyApp"], ["--exclude-table-data", "nomatch"]] {
        let mut v = vec!["plan", "--source", &surl, "--target", &turl];
        v.extend_from_slice(&args);
        let run = pgbarge(&v);
        run.assert_code(1);
        let blockers = run
            .stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("blocker"))
            .count();
        assert_eq!(blockers, 1, "{args:?}: {}", run.stdout);
        assert!(run.stdout.contains("1 blocker:"), "{}", run.stdout);
    }
    // A schema copy loads into tables without foreign keys yet: it does
    // not claim a foreign-key order.
    let run = copy_full(&src, &dst, &[]);
    run.assert_code(0);
    assert!(run.stderr.contains("any order"), "{}", run.stderr);
    assert!(!run.stderr.contains("parents committed"), "{}", run.stderr);
}
