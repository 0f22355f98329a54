//! Rows arrive exactly: every ugly type, awkward names, partitions, big
//! and wide tables, foreign-key order and cycles.

use crate::support::*;

const FIXTURE: &str = include_str!("fixture.sql");
const FIXTURE_DATA: &str = include_str!("fixture_data.sql");

#[test]
fn copies_every_ugly_type_exactly() {
    let (src, dst) = db_pair("ugly", FIXTURE);
    seed_source(&src, FIXTURE_DATA);
    let dir = temp_dir();
    let report = dir.path().join("run.json");
    let run = copy(
        &src,
        &dst,
        &["--jobs", "3", "--report", report.to_str().unwrap()],
    );
    run.assert_code(0);
    assert_same_content(&src, &dst);

    // The summary names every table with its format.
    assert!(run.stdout.contains("app.kitchen_sink"), "{}", run.stdout);
    assert!(run.stdout.contains("ünïcödé.täble"), "{}", run.stdout);
    // Progress went to stderr as plain lines (no terminal).
    assert!(
        run.stderr.contains("copied app.events_2024"),
        "{}",
        run.stderr
    );

    let r = read_report(&report);
    assert_eq!(r["ok"], true);
    assert!(r["snapshot"].is_string());
    assert_eq!(r["no_snapshot"], false);
    let table = |name: &str| report_table(&r, name);
    // Every ugly type travels in binary to a PostgreSQL 14+ target
    // (arrays and composites of user types included; see portability.rs).
    let ks = table("app.kitchen_sink");
    assert_eq!(ks["format"], "binary", "{ks}");
    assert_eq!(ks["rows"], 3);
    // Plain tables on a local link go binary.
    let ev = table("app.events_2024");
    assert_eq!(ev["format"], "binary", "{ev}");
    assert_eq!(table("app.empty_table")["rows"], 0);
    let other: i64 = servers()
        .source
        .client(&src)
        .query_one("SELECT count(*) FROM app.events_other", &[])
        .unwrap()
        .get(0);
    assert_eq!(table("app.events_other")["rows"], other);
    assert!(r["foreign_keys"]
        .as_str()
        .unwrap()
        .contains("dependency order"));

    // Identity and serial columns continue after the copied values.
    let mut t = servers().target.client(&dst);
    let id: i64 = t
        .query_one(
            "INSERT INTO app.parents (name) VALUES ('new') RETURNING id",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(id, 4);
    let id: i32 = t
        .query_one(
            "INSERT INTO app.kitchen_sink DEFAULT VALUES RETURNING id",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(id, 4);
    // Generated columns were recomputed by the target.
    let twice: i64 = t
        .query_one("SELECT twice FROM app.kitchen_sink WHERE id = 2", &[])
        .unwrap()
        .get(0);
    assert_eq!(twice, 4);
}

#[test]
fn format_text_and_binary_flags_are_honoured() {
    let (src, dst) = db_pair("fmt", FIXTURE);
    seed_source(&src, FIXTURE_DATA);
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    copy(
        &src,
        &dst,
        &["--format", "text", "--report", report.to_str().unwrap()],
    )
    .assert_code(0);
    assert_same_content(&src, &dst);
    let r = read_report(&report);
    assert!(r["tables"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["format"] == "text"));

    let dst2 = servers().target.fresh_db("fmt2");
    servers()
        .target
        .client(&dst2)
        .batch_execute(FIXTURE)
        .unwrap();
    copy(
        &src,
        &dst2,
        &["--format", "binary", "--report", report.to_str().unwrap()],
    )
    .assert_code(0);
    assert_same_content(&src, &dst2);
    let r = read_report(&report);
    for t in r["tables"].as_array().unwrap() {
        assert_eq!(t["format"], "binary", "{t}");
    }
}

#[test]
fn big_table_and_wide_row() {
    let ddl = "CREATE TABLE big (id bigint PRIMARY KEY, v text, at timestamptz); \
               CREATE TABLE wide (id int, blob bytea, doc text);";
    let (src, dst) = db_pair("big", ddl);
    servers()
        .source
        .client(&src)
        .batch_execute(
            "INSERT INTO big SELECT g, md5(g::text), now() - g * interval '1 second' FROM generate_series(1, 1200000) g; \
             INSERT INTO wide SELECT 1, decode(repeat(md5('x'), 400000), 'hex'), repeat('w', 12000000); \
             INSERT INTO wide VALUES (2, '\\x00', 'small');",
        )
        .unwrap();
    copy(&src, &dst, &["--jobs", "2"]).assert_code(0);
    assert_same_content(&src, &dst);
    let (n, _) = digest(&mut servers().target.client(&dst), "public.big");
    assert_eq!(n, 1_200_000);
    let len: i32 = servers()
        .target
        .client(&dst)
        .query_one("SELECT octet_length(blob) FROM wide WHERE id = 1", &[])
        .unwrap()
        .get(0);
    assert!(len > 6_000_000, "{len}");
}

#[test]
fn foreign_key_cycles_deferrable_and_disabled() {
    let ddl = "CREATE TABLE a (id int PRIMARY KEY, b_id int); \
               CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a DEFERRABLE); \
               ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b DEFERRABLE; \
               CREATE TABLE c (id int PRIMARY KEY, a_id int REFERENCES a, c_id int REFERENCES c);";
    let (src, dst) = db_pair("cycle", ddl);
    servers()
        .source
        .client(&src)
        .batch_execute(
            "BEGIN; SET CONSTRAINTS ALL DEFERRED; \
             INSERT INTO a VALUES (1, 1), (2, 1); INSERT INTO b VALUES (1, 2); COMMIT; \
             INSERT INTO c VALUES (1, 1, NULL), (2, 2, 1), (3, 1, 2);",
        )
        .unwrap();
    let run = copy(&src, &dst, &[]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("deferred constraints: [public.a, public.b]"),
        "{}",
        run.stderr
    );
    assert_same_content(&src, &dst);

    // The same cycle with keys that cannot be deferred: refused up front,
    // naming the keys; accepted with --disable-triggers.
    let ddl2 = ddl.replace(" DEFERRABLE", "");
    let (src2, dst2) = db_pair("cycle2", &ddl2);
    servers()
        .source
        .client(&src2)
        .batch_execute(
            "INSERT INTO a VALUES (1, NULL); INSERT INTO b VALUES (1, 1); UPDATE a SET b_id = 1;",
        )
        .unwrap();
    let run = copy(&src2, &dst2, &[]);
    run.assert_code(2);
    assert!(run.stderr.contains("not DEFERRABLE"), "{}", run.stderr);
    assert!(run.stderr.contains("--disable-triggers"), "{}", run.stderr);
    let run = copy(&src2, &dst2, &["--disable-triggers"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("session_replication_role"),
        "{}",
        run.stderr
    );
    assert_same_content(&src2, &dst2);
}

#[test]
fn failed_table_leaves_nothing_half_loaded() {
    // The target rejects the last row of `strict`: that table must stay
    // empty while the others load, and the run exits 3 naming it.
    let ddl = "CREATE TABLE strict (id int); CREATE TABLE fine (id int); \
               CREATE TABLE child_of_strict (id int);";
    let (src, dst) = db_pair("fail", ddl);
    servers()
        .source
        .client(&src)
        .batch_execute(
            "INSERT INTO strict SELECT generate_series(1, 50000); \
             INSERT INTO fine SELECT generate_series(1, 10);",
        )
        .unwrap();
    servers()
        .target
        .client(&dst)
        .batch_execute("ALTER TABLE strict ADD CHECK (id < 50000)")
        .unwrap();
    let run = copy(&src, &dst, &[]);
    run.assert_code(3);
    assert!(run.stderr.contains("public.strict"), "{}", run.stderr);
    assert!(run.stderr.contains("check constraint"), "{}", run.stderr);
    let mut t = servers().target.client(&dst);
    assert_eq!(digest(&mut t, "strict").0, 0);
    assert_eq!(digest(&mut t, "fine").0, 10);
}

#[test]
fn no_snapshot_is_recorded() {
    let (src, dst) = db_pair("nosnap", "CREATE TABLE t (id int); ");
    seed_source(&src, "INSERT INTO t VALUES (1)");
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    copy(
        &src,
        &dst,
        &["--no-snapshot", "--report", report.to_str().unwrap()],
    )
    .assert_code(0);
    let r = read_report(&report);
    assert_eq!(r["no_snapshot"], true);
    assert!(r["snapshot"].is_null());
    assert!(r["warnings"][0].as_str().unwrap().contains("--no-snapshot"));
}

#[test]
fn schema_map_loads_into_renamed_schema() {
    let s = servers();
    let src = s.source.fresh_db("map");
    let dst = s.target.fresh_db("map");
    s.source
        .client(&src)
        .batch_execute(
            "CREATE SCHEMA local_app; CREATE TABLE local_app.notes (id int, body text); \
             INSERT INTO local_app.notes VALUES (1, 'mentions local_app.notes in data');",
        )
        .unwrap();
    s.target
        .client(&dst)
        .batch_execute("CREATE TABLE public.notes (id int, body text);")
        .unwrap();
    copy(
        &src,
        &dst,
        &["--schema", "local_app", "--schema-map", "local_app=public"],
    )
    .assert_code(0);
    let body: String = s
        .target
        .client(&dst)
        .query_one("SELECT body FROM public.notes", &[])
        .unwrap()
        .get(0);
    assert_eq!(body, "mentions local_app.notes in data");
}

/// On a network-bound link `auto` copies a sample both ways and keeps the
/// smaller encoding: bytea is smaller in binary, short numbers and
/// timestamps in text. A small table is not sampled: it goes as text,
/// with others (round trips decide there, not bytes).
#[test]
fn auto_picks_smaller_encoding_on_a_slow_link() {
    let ddl = "CREATE TABLE blobs (id int, b bytea); CREATE TABLE nums (a int, b numeric, c timestamptz, d jsonb); \
               CREATE TABLE tiny (id int, b bytea);";
    let (src, dst) = db_pair("slowlink", ddl);
    servers()
        .source
        .client(&src)
        .batch_execute(
            "INSERT INTO blobs SELECT g, decode(md5(g::text) || md5(g::text), 'hex') FROM generate_series(1, 40000) g; \
             INSERT INTO nums SELECT g % 10, g % 7, '2024-01-01', jsonb_build_object('k', g % 3) FROM generate_series(1, 40000) g; \
             INSERT INTO tiny SELECT g, decode(md5(g::text), 'hex') FROM generate_series(1, 100) g; \
             ANALYZE blobs, nums, tiny;",
        )
        .unwrap();
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    let mut c = pgbarge_cmd();
    let (s, t) = (servers().source.url(&src), servers().target.url(&dst));
    c.args([
        "copy",
        "--data-only",
        "--source",
        &s,
        "--target",
        &t,
        "--report",
        report.to_str().unwrap(),
    ])
    .env("PGBARGE_SLOW_LINK_RTT_MS", "0");
    run_cmd(c).assert_code(0);
    assert_same_content(&src, &dst);
    let r = read_report(&report);
    assert_eq!(r["link"]["network_bound"], true);
    let get = |n: &str| report_table(&r, n);
    let blobs = get("public.blobs");
    assert_eq!(blobs["format"], "binary", "{blobs}");
    assert!(
        blobs["format_reason"]
            .as_str()
            .unwrap()
            .contains("smaller on a 1000-row sample"),
        "{blobs}"
    );
    let nums = get("public.nums");
    assert_eq!(nums["format"], "text", "{nums}");
    assert!(
        nums["format_reason"]
            .as_str()
            .unwrap()
            .contains("smaller on a 1000-row sample"),
        "{nums}"
    );
    let tiny = get("public.tiny");
    assert_eq!(tiny["format"], "text", "{tiny}");
    assert!(
        tiny["format_reason"]
            .as_str()
            .unwrap()
            .contains("a small table"),
        "{tiny}"
    );
}

/// SIGTERM in the middle of a load: exit 130, and the table being loaded
/// is rolled back, not left half full.
#[test]
fn interrupted_copy_rolls_back() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let (src, dst) = db_pair("interrupt", "CREATE TABLE big (id bigint, v text);");
    seed_source(
        &src,
        "INSERT INTO big SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 3000000) g",
    );
    let (s, t) = (servers().source.url(&src), servers().target.url(&dst));
    let mut child = pgbarge_cmd()
        .args(["copy", "--data-only", "--source", &s, "--target", &t])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 && !line.contains("copying") {
        line.clear();
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut err, &mut rest);
    let code = child.wait().unwrap().code();
    assert_eq!(code, Some(130), "{rest}");
    assert!(rest.contains("interrupted"), "{rest}");
    // The server rolls the load back once pgbarge's session is gone.
    let mut target = servers().target.client(&dst);
    let mut n = -1;
    for _ in 0..50 {
        n = digest(&mut target, "big").0;
        let active: i64 = target
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgbarge' AND datname = current_database()", &[])
            .unwrap()
            .get(0);
        if active == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(n, 0);
}

/// The target's foreign keys are dropped inside each table's load
/// transaction and added back before the commit: afterwards they are the
/// same keys (definition, comment, validated); an orphan row fails the
/// table, which stays empty, with its key intact.
#[test]
fn foreign_keys_are_rebuilt_exactly_or_rolled_back() {
    let ddl = "CREATE TABLE parent (id int PRIMARY KEY, code text UNIQUE); \
               CREATE TABLE \"Child\" (id int PRIMARY KEY, \
                 p int CONSTRAINT \"Child→parent\" REFERENCES parent ON DELETE CASCADE, \
                 code text REFERENCES parent (code) MATCH FULL ON UPDATE SET NULL DEFERRABLE INITIALLY DEFERRED, \
                 up int REFERENCES \"Child\"); \
               COMMENT ON CONSTRAINT \"Child→parent\" ON \"Child\" IS 'it''s the parent';";
    let keys = "SELECT conname::text, pg_get_constraintdef(oid), convalidated, \
                       coalesce(obj_description(oid, 'pg_constraint'), '') \
                  FROM pg_constraint WHERE contype = 'f' \
                   AND connamespace::regnamespace::text <> '_pgbarge' ORDER BY 1";
    let snapshot = |db: &str| -> Vec<(String, String, bool, String)> {
        servers()
            .target
            .client(db)
            .query(keys, &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect()
    };
    let (src, dst) = db_pair("fkrebuild", ddl);
    seed_source(
        &src,
        "INSERT INTO parent SELECT g, 'c' || g FROM generate_series(1, 100) g; \
         INSERT INTO \"Child\" SELECT g, 1 + g % 100, 'c' || (1 + g % 100), nullif(g - 1, 0) \
           FROM generate_series(1, 5000) g;",
    );
    let before = snapshot(&dst);
    assert_eq!(before.len(), 3);
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    copy(&src, &dst, &["--report", report.to_str().unwrap()]).assert_code(0);
    assert_eq!(snapshot(&dst), before);
    assert_same_content(&src, &dst);
    let r = read_report(&report);
    assert!(
        r["foreign_keys"]
            .as_str()
            .unwrap()
            .contains("3 foreign key(s) dropped and added back"),
        "{r}"
    );

    // An orphan on the source (its key was dropped there) fails the child
    // table on the target, naming the key; nothing of it stays.
    let (src2, dst2) = db_pair("fkorphan", ddl);
    seed_source(
        &src2,
        "ALTER TABLE \"Child\" DROP CONSTRAINT \"Child→parent\"; \
         INSERT INTO parent VALUES (1, 'c1'); \
         INSERT INTO \"Child\" VALUES (1, 1, 'c1', NULL), (2, 99, 'c1', 1);",
    );
    let before = snapshot(&dst2);
    for extra in [&[][..], &["--keep-foreign-keys"][..]] {
        let run = copy(&src2, &dst2, &[&["--truncate"], extra].concat());
        run.assert_code(3);
        assert!(run.stderr.contains("Child→parent"), "{}", run.stderr);
        let mut t = servers().target.client(&dst2);
        assert_eq!(digest(&mut t, "\"Child\"").0, 0, "{extra:?}");
        assert_eq!(digest(&mut t, "parent").0, 1, "{extra:?}");
        assert_eq!(snapshot(&dst2), before, "{extra:?}");
    }
}

/// Sequences are carried over all at once: each target sequence found
/// through its column and set as of the snapshot, identity columns too;
/// a target column without a sequence is a warning naming it, and the
/// others are still set.
#[test]
fn sequences_are_set_together_and_a_column_without_one_is_named() {
    let s = servers();
    let (src, dst) = db_pair(
        "seqs",
        "CREATE SCHEMA app; \
         CREATE TABLE app.a (id serial PRIMARY KEY, v text); \
         CREATE TABLE app.b (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);",
    );
    // The target's app.c has a plain column where the source has a serial.
    s.source
        .client(&src)
        .batch_execute(
            "CREATE TABLE app.c (id serial PRIMARY KEY); \
             INSERT INTO app.a (v) SELECT 'x' FROM generate_series(1, 7); \
             INSERT INTO app.b (v) SELECT 'y' FROM generate_series(1, 4); \
             INSERT INTO app.c SELECT FROM generate_series(1, 3);",
        )
        .unwrap();
    s.target
        .client(&dst)
        .batch_execute("CREATE TABLE app.c (id int PRIMARY KEY)")
        .unwrap();
    let run = copy(&src, &dst, &[]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("app.c_id_seq not carried over")
            && run.stderr.contains("has no sequence"),
        "{}",
        run.stderr
    );
    let mut c = s.target.client(&dst);
    let next: Vec<i32> = c
        .query_one(
            "SELECT nextval('app.a_id_seq')::int4, nextval('app.b_id_seq')::int4",
            &[],
        )
        .map(|r| vec![r.get(0), r.get(1)])
        .unwrap();
    assert_eq!(next, [8, 5]);
}

/// More sequences than one query reads (they go 500 to a query): each
/// arrives with its own position, called or not.
#[test]
fn many_sequences_arrive_each_with_its_position() {
    let s = servers();
    let src = s.source.fresh_db("manyseqs");
    seed_source(
        &src,
        "CREATE TABLE t (id int); \
         DO $$ BEGIN FOR g IN 1..520 LOOP \
           EXECUTE format('CREATE SEQUENCE s%s', g); \
           PERFORM setval(format('s%s', g), g * 3, g % 2 = 0); \
         END LOOP; END $$;",
    );
    let dst = s.target.fresh_db("manyseqs");
    copy_full(&src, &dst, &[]).assert_code(0);
    let positions = |c: &mut postgres::Client| -> Vec<(String, Option<i64>)> {
        c.query(
            "SELECT sequencename::text, last_value FROM pg_sequences ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
    };
    let want = positions(&mut s.source.client(&src));
    assert_eq!(want.len(), 520);
    assert_eq!(positions(&mut s.target.client(&dst)), want);
}

/// `--truncate` replaces what small tables held, also when they load many
/// to a transaction: by COPY (a fast link; each emptied in the
/// transaction, so COPY FREEZE may load it) and by INSERT (a slow one).
#[test]
fn truncate_replaces_the_rows_of_small_tables_loading_together() {
    let ddl = "CREATE TABLE a (id int PRIMARY KEY, v text); \
               CREATE TABLE b (id int, v text); CREATE TABLE c (id int, v text);";
    for slow in [false, true] {
        let (src, dst) = db_pair(if slow { "truncslow" } else { "truncfast" }, ddl);
        seed_source(
            &src,
            "INSERT INTO a SELECT g, 'new' FROM generate_series(1, 10) g; \
             INSERT INTO b SELECT g, 'new' FROM generate_series(1, 10) g; \
             INSERT INTO c SELECT g, 'new' FROM generate_series(1, 10) g;",
        );
        servers()
            .target
            .client(&dst)
            .batch_execute(
                "INSERT INTO a SELECT g, 'old' FROM generate_series(5, 20) g; \
                 INSERT INTO b VALUES (99, 'old'); INSERT INTO c VALUES (98, 'old');",
            )
            .unwrap();
        let (s, t) = (servers().source.url(&src), servers().target.url(&dst));
        let mut c = pgbarge_cmd();
        // One worker: it takes the three tables together.
        c.args([
            "copy",
            "--data-only",
            "--truncate",
            "--jobs",
            "1",
            "--source",
            &s,
        ])
        .args(["--target", &t]);
        if slow {
            c.env("PGBARGE_SLOW_LINK_RTT_MS", "0");
        }
        let run = run_cmd(c);
        run.assert_code(0);
        // Together, not each alone after a failed try.
        assert!(!run.stderr.contains("rolled back"), "{}", run.stderr);
        assert_same_content(&src, &dst);
    }
}
