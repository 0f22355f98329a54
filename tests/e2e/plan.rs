//! `pgbarge plan` / `copy --dry-run`: blockers and warnings from both
//! servers, and not one write to the target.

use crate::support::*;

/// What a write to the target database would change: its objects (a
/// rewrite changes a relfilenode), schemas, extensions, functions,
/// constraints, and the rows of its one user table. Cluster-wide catalogs
/// and statistics are left out: other tests share this server.
fn target_state(db: &str) -> String {
    servers()
        .target
        .client(db)
        .query_one(
            "SELECT md5(concat_ws('|', \
               (SELECT string_agg(oid::text || relname || relfilenode, ',' ORDER BY oid) FROM pg_class WHERE NOT relisshared), \
               (SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace), \
               (SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension), \
               (SELECT count(*) FROM pg_proc), (SELECT count(*) FROM pg_constraint), \
               (SELECT count(*) FROM app.u)))",
            &[],
        )
        .unwrap()
        .get(0)
}

#[test]
fn plan_reports_blockers_and_writes_nothing() {
    let s = servers();
    let src = s.source.fresh_db("plan");
    let dst = s.target.fresh_db("plan");
    s.source
        .client("postgres")
        .batch_execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgb_planner') \
             THEN CREATE ROLE pgb_planner; END IF; END $$;",
        )
        .unwrap();
    seed_source(
        &src,
        "CREATE SCHEMA app; CREATE TABLE app.t (id int PRIMARY KEY); ALTER TABLE app.t OWNER TO pgb_planner; \
         CREATE TABLE app.u (id int); INSERT INTO app.t SELECT generate_series(1, 100); \
         CREATE FUNCTION app.f() RETURNS int LANGUAGE sql AS 'SELECT count(*)::int FROM app.t';",
    );
    s.target
        .client(&dst)
        .batch_execute("CREATE SCHEMA app; CREATE TABLE app.u (x int);")
        .unwrap();
    s.target
        .client("postgres")
        .batch_execute("DROP ROLE IF EXISTS pgb_planner")
        .unwrap();
    let before = target_state(&dst);
    let (a, b) = (s.source.url(&src), s.target.url(&dst));
    let run = pgbarge(&["plan", "--source", &a, "--target", &b, "--schema", "app"]);
    run.assert_code(1);
    for want in [
        "blocker  table app.u already exists on the target",
        "blocker  role \"pgb_planner\"",
        "PostgreSQL 15",
        "2 tables",
    ] {
        assert!(run.stdout.contains(want), "{want}: {}", run.stdout);
    }
    assert!(run.stderr.contains("blocker"), "{}", run.stderr);

    // The same through copy --dry-run, as JSON through plan --json,
    // and with a schema map that avoids the conflict and no owners: clean.
    let run = pgbarge(&[
        "copy",
        "--dry-run",
        "--source",
        &a,
        "--target",
        &b,
        "--schema",
        "app",
    ]);
    run.assert_code(1);
    let run = pgbarge(&[
        "plan", "--json", "--source", &a, "--target", &b, "--schema", "app",
    ]);
    run.assert_code(1);
    let j: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(j["blockers"], 2, "{j}");
    let run = pgbarge(&[
        "plan",
        "--source",
        &a,
        "--target",
        &b,
        "--schema-map",
        "app=moved",
        "--no-owner",
    ]);
    run.assert_code(0);
    assert!(run.stdout.contains("no blockers"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("function app.f(): its body mentions schema app"),
        "{}",
        run.stdout
    );
    assert_eq!(target_state(&dst), before, "plan wrote to the target");
}

/// `plan --data-only`: target tables must exist and be empty, unless
/// `--truncate`.
#[test]
fn plan_checks_a_rows_only_copy() {
    let ddl = "CREATE TABLE t (id int); CREATE TABLE u (id int);";
    let (src, dst) = db_pair("plandata", ddl);
    seed_source(&src, "INSERT INTO t VALUES (1)");
    let s = servers();
    s.target
        .client(&dst)
        .batch_execute("INSERT INTO u VALUES (1); DROP TABLE t;")
        .unwrap();
    let (a, b) = (s.source.url(&src), s.target.url(&dst));
    let run = pgbarge(&["plan", "--data-only", "--source", &a, "--target", &b]);
    run.assert_code(1);
    assert!(
        run.stdout.contains("public.t does not exist"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("public.u already holds rows"),
        "{}",
        run.stdout
    );
    let run = pgbarge(&[
        "plan",
        "--data-only",
        "--truncate",
        "--source",
        &a,
        "--target",
        &b,
    ]);
    run.assert_code(1);
    assert!(!run.stdout.contains("already holds rows"), "{}", run.stdout);
}

/// An extension the copied objects need that the target role may not
/// create (not a superuser, extension not trusted) is named before the
/// copy, and the plan still writes nothing.
#[test]
fn plan_warns_about_an_extension_the_target_role_may_not_create() {
    let s = servers();
    let src = s.source.fresh_db("planext");
    let dst = s.target.fresh_db("planext");
    seed_source(
        &src,
        "CREATE EXTENSION pg_buffercache; CREATE SCHEMA app; \
         CREATE VIEW app.buffers AS SELECT count(*) AS n FROM public.pg_buffercache;",
    );
    s.target
        .client("postgres")
        .batch_execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgb_plain') \
             THEN CREATE ROLE pgb_plain LOGIN; END IF; END $$;",
        )
        .unwrap();
    // It may create schemas, just not that extension.
    s.target
        .client(&dst)
        .batch_execute(&format!(
            "GRANT CREATE ON DATABASE \"{dst}\" TO pgb_plain; \
             CREATE SCHEMA app; CREATE TABLE app.u (x int)"
        ))
        .unwrap();
    let before = target_state(&dst);
    let target = format!(
        "postgres://pgb_plain@127.0.0.1:{}/{dst}?sslmode=disable",
        s.target.port
    );
    let run = pgbarge(&[
        "plan",
        "--source",
        &s.source.url(&src),
        "--target",
        &target,
        "--schema",
        "app",
        "--no-owner",
        "--no-privileges",
    ]);
    assert!(
        run.stdout
            .contains("warning  extension pg_buffercache is not installed on the target"),
        "{}",
        run.all()
    );
    assert_eq!(target_state(&dst), before, "plan wrote to the target");
}
