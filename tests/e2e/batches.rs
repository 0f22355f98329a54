//! Round trips cut without losing a guarantee: statements sent many to a
//! round trip and small tables loaded many to a transaction still name
//! the exact statement or table that fails, and leave nothing half-made.

use crate::support::*;

/// `n` small tables t1..tn, each with a view and a comment, 10 rows each.
fn many_tables(n: usize) -> String {
    (1..=n)
        .map(|i| {
            format!(
                "CREATE TABLE t{i} (id int PRIMARY KEY, v int); \
                 CREATE VIEW v{i} AS SELECT id FROM t{i}; \
                 COMMENT ON TABLE t{i} IS 'table {i}'; "
            )
        })
        .collect()
}

fn fill(n: usize) -> String {
    (1..=n)
        .map(|i| format!("INSERT INTO t{i} SELECT g, g FROM generate_series(1, 10) g; "))
        .collect()
}

#[test]
fn small_tables_load_together_and_one_that_fails_fails_alone() {
    // Text loads by INSERT, binary by COPY prepared together.
    for format in ["text", "binary"] {
        one_fails_alone(format);
    }
}

fn one_fails_alone(format: &str) {
    let (src, dst) = db_pair("together", &many_tables(30));
    seed_source(&src, &fill(30));
    // The target refuses one row of t17 only.
    servers()
        .target
        .client(&dst)
        .batch_execute("ALTER TABLE t17 ADD CHECK (v < 10)")
        .unwrap();
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    let run = copy(
        &src,
        &dst,
        &[
            "--jobs",
            "1",
            "--format",
            format,
            "--report",
            report.to_str().unwrap(),
        ],
    );
    run.assert_code(3);
    assert!(run.stderr.contains("public.t17"), "{}", run.stderr);
    assert!(run.stderr.contains("check constraint"), "{}", run.stderr);
    let mut t = servers().target.client(&dst);
    for i in 1..=30 {
        let want = if i == 17 { 0 } else { 10 };
        assert_eq!(digest(&mut t, &format!("t{i}")).0, want, "t{i}");
    }
    let r = read_report(&report);
    for i in 1..=30 {
        let t = report_table(&r, &format!("public.t{i}"));
        let want = if i == 17 { "failed" } else { "ok" };
        assert_eq!(t["status"], want, "t{i}: {t}");
    }
    assert_same_content_except(&src, &dst, "t17");
}

fn assert_same_content_except(src: &str, dst: &str, skip: &str) {
    let mut s = servers().source.client(src);
    let mut t = servers().target.client(dst);
    for table in user_tables(&mut s) {
        if table.ends_with(&format!(".{skip}")) || table == skip {
            continue;
        }
        assert_eq!(digest(&mut s, &table), digest(&mut t, &table), "{table}");
    }
}

#[test]
fn a_statement_refused_inside_a_batch_is_named_before_any_row_moves() {
    let s = servers();
    let src = s.source.fresh_db("batchname");
    let dst = s.target.fresh_db("batchname");
    s.source
        .client(&src)
        .batch_execute(&format!("{}{}", many_tables(40), fill(40)))
        .unwrap();
    // The target refuses to create one view of forty (an event trigger
    // stands in for whatever a real target may refuse).
    s.target
        .client(&dst)
        .batch_execute(
            "CREATE FUNCTION refuse_v23() RETURNS event_trigger LANGUAGE plpgsql AS $$ \
             BEGIN \
               IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() \
                           WHERE object_identity = 'public.v23') THEN \
                 RAISE EXCEPTION 'view v23 is not welcome here'; \
               END IF; \
             END $$; \
             CREATE EVENT TRIGGER refuse_v23 ON ddl_command_end EXECUTE FUNCTION refuse_v23();",
        )
        .unwrap();
    let (su, tu) = (s.source.url(&src), s.target.url(&dst));
    let plan = pgbarge(&["plan", "--source", &su, "--target", &tu]);
    assert!(plan.all().contains("v23 is not welcome"), "{}", plan.all());
    assert!(plan.all().contains("view public.v23"), "{}", plan.all());
    let run = copy_full(&src, &dst, &[]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("view public.v23"), "{}", run.stderr);
    assert!(run.stderr.contains("v23 is not welcome"), "{}", run.stderr);
    // Nothing of the schema was left behind.
    let mut t = s.target.client(&dst);
    assert!(user_tables(&mut t).is_empty(), "{:?}", user_tables(&mut t));
    let views: i64 = t
        .query_one(
            "SELECT count(*) FROM pg_views WHERE schemaname = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(views, 0);
}

#[test]
fn small_tables_loaded_together_keep_what_copy_keeps() {
    // Identity ALWAYS values, a table without columns, text that needs
    // escaping, NULL beside '', arrays, bytea and jsonb.
    let ddl = "CREATE TABLE ids (id int GENERATED ALWAYS AS IDENTITY, note text); \
               CREATE TABLE nocols (); \
               CREATE TABLE texts (a text, b text, c bytea, d jsonb, e int[]);";
    let (src, dst) = db_pair("insertpath", ddl);
    seed_source(
        &src,
        r#"INSERT INTO ids (note) SELECT 'n' || g FROM generate_series(1, 5) g;
           DELETE FROM ids WHERE id = 2;
           INSERT INTO nocols SELECT FROM generate_series(1, 4);
           INSERT INTO texts VALUES
             (E'tab\there\nnew line \\ back \r', '', '\x00ff', '{"k": "it''s"}', '{1,NULL,3}'),
             (NULL, 'E''x''', NULL, 'null', '{}');"#,
    );
    copy(&src, &dst, &["--jobs", "1", "--format", "text"]).assert_code(0);
    let mut s = servers().source.client(&src);
    let mut t = servers().target.client(&dst);
    for table in ["ids", "texts"] {
        assert_eq!(digest(&mut s, table), digest(&mut t, table), "{table}");
    }
    let n: i64 = t
        .query_one("SELECT count(*) FROM nocols", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 4);
}

#[test]
fn small_tables_with_insert_rules_on_the_target_still_load_as_copy_loads_them() {
    // COPY ignores rules; an INSERT would be swallowed by this one.
    let (src, dst) = db_pair(
        "ruled",
        "CREATE TABLE ruled (id int); CREATE TABLE plain (id int);",
    );
    seed_source(
        &src,
        "INSERT INTO ruled SELECT generate_series(1, 3); \
         INSERT INTO plain SELECT generate_series(1, 3);",
    );
    servers()
        .target
        .client(&dst)
        .batch_execute("CREATE RULE swallow AS ON INSERT TO ruled DO INSTEAD NOTHING")
        .unwrap();
    copy(&src, &dst, &["--jobs", "1", "--format", "text"]).assert_code(0);
    let mut t = servers().target.client(&dst);
    assert_eq!(digest(&mut t, "ruled").0, 3);
    assert_eq!(digest(&mut t, "plain").0, 3);
}
