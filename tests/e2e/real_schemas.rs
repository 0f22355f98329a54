//! What real application schemas did that our fixtures did not: each
//! failure a user met, pinned. Every case copies whole (pg_dump of the
//! target, map undone, equals the source's; rows equal), and the ones
//! about scripts also go through a SQL dump run by psql.

use std::process::Command;

use crate::schema::{assert_same_text, pg_dump_schema, pg_dump_schema_with};
use crate::support::*;

/// Copy `sql`'s schema `app` with its rows, then require pg_dump of both
/// sides to match, the rows to match, and a SQL dump to restore with psql
/// to the same result.
#[track_caller]
fn assert_moves_whole(hint: &str, sql: &str) {
    let s = servers();
    let src = s.source.fresh_db(hint);
    seed_source(&src, sql);
    let dst = s.target.fresh_db(hint);
    copy_full(&src, &dst, &["--verify"]).assert_code(0);
    assert_same_text(
        &pg_dump_schema(&s.source, &src),
        &pg_dump_schema(&s.target, &dst),
    );
    assert_same_content(&src, &dst);

    let dir = temp_dir();
    let out = dir.path().join("d.sql.gz");
    let url = s.source.url(&src);
    pgbarge(&["dump", "--source", &url, "--output", out.to_str().unwrap()]).assert_code(0);
    let via_psql = s.target.fresh_db(hint);
    psql_restore_script(&out, &s.target, &via_psql);
    assert_same_text(
        &pg_dump_schema(&s.source, &src),
        &pg_dump_schema(&s.target, &via_psql),
    );

    // Under another schema name and back: every name that points into
    // `app` moves with it, and nothing else changes.
    let mid = s.target.fresh_db(&format!("{hint}_mid"));
    copy_full(&src, &mid, &["--schema-map", "app=moved_app", "--verify"]).assert_code(0);
    let back = s.source.fresh_db(&format!("{hint}_back"));
    pgbarge(&[
        "copy",
        "--source",
        &s.target.url(&mid),
        "--target",
        &s.source.url(&back),
        "--schema-map",
        "moved_app=app",
    ])
    .assert_code(0);
    assert_same_text(
        &pg_dump_schema(&s.source, &src),
        &pg_dump_schema(&s.source, &back),
    );
    // The dump, restored under the same map, gives what the copy gave.
    let restored = s.target.fresh_db(&format!("{hint}_remap"));
    pgbarge(&[
        "restore",
        "--input",
        out.to_str().unwrap(),
        "--target",
        &s.target.url(&restored),
        "--schema-map",
        "app=moved_app",
    ])
    .assert_code(0);
    assert_same_text(
        &pg_dump_schema(&s.target, &mid),
        &pg_dump_schema(&s.target, &restored),
    );
}

/// `SELECT t.id, t.name ... GROUP BY t.id` is valid through the primary
/// key, so the view cannot exist before the key, which is built after
/// the rows: a placeholder view first, its definition after the keys.
#[test]
fn view_grouped_by_a_primary_key_waits_for_the_key() {
    assert_moves_whole(
        "groupbypk",
        "CREATE SCHEMA app; \
         CREATE TABLE app.t (id int PRIMARY KEY, name text); \
         INSERT INTO app.t VALUES (1, 'a'), (2, 'b'); \
         CREATE VIEW app.v WITH (security_barrier) AS SELECT t.id, t.name, count(*) AS n \
           FROM app.t GROUP BY t.id; \
         CREATE VIEW app.over_v AS SELECT name FROM app.v; \
         CREATE MATERIALIZED VIEW app.mv AS SELECT t.id, t.name FROM app.t GROUP BY t.id; \
         COMMENT ON VIEW app.v IS 'grouped';",
    );
}

/// A foreign key of a partitioned table cannot be added NOT VALID.
#[test]
fn partitioned_table_foreign_key_is_added_validated() {
    assert_moves_whole(
        "partfk",
        "CREATE SCHEMA app; \
         CREATE TABLE app.p (id int PRIMARY KEY); \
         CREATE TABLE app.e (id int, pid int REFERENCES app.p, PRIMARY KEY (id)) \
           PARTITION BY RANGE (id); \
         CREATE TABLE app.e1 PARTITION OF app.e FOR VALUES FROM (0) TO (100); \
         INSERT INTO app.p VALUES (1); INSERT INTO app.e VALUES (1, 1);",
    );
}

/// `agg(*)` is not `agg()`: not when created, commented on or owned.
#[test]
fn zero_argument_aggregate_keeps_its_star() {
    assert_moves_whole(
        "aggstar",
        "CREATE SCHEMA app; \
         CREATE AGGREGATE app.cnt(*) (SFUNC = int8inc, STYPE = int8, INITCOND = '0'); \
         COMMENT ON AGGREGATE app.cnt(*) IS 'counts'; \
         REVOKE ALL ON FUNCTION app.cnt() FROM PUBLIC; \
         CREATE TABLE app.t (id int); INSERT INTO app.t VALUES (1), (2); \
         CREATE VIEW app.n AS SELECT app.cnt(*) FROM app.t;",
    );
}

/// Every option an aggregate can have: moving-aggregate functions, final
/// function modes, initial states, a sort operator and parallel safety.
#[test]
fn aggregates_keep_every_option() {
    assert_moves_whole(
        "aggopts",
        "CREATE SCHEMA app; \
         CREATE FUNCTION app.acc(int8, int4) RETURNS int8 LANGUAGE sql IMMUTABLE AS 'SELECT $1 + $2'; \
         CREATE FUNCTION app.unacc(int8, int4) RETURNS int8 LANGUAGE sql IMMUTABLE AS 'SELECT $1 - $2'; \
         CREATE FUNCTION app.fin(int8) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT $1::numeric'; \
         CREATE AGGREGATE app.msum(int4) (SFUNC = app.acc, STYPE = int8, INITCOND = '0', \
             FINALFUNC = app.fin, FINALFUNC_MODIFY = SHAREABLE, MSFUNC = app.acc, \
             MINVFUNC = app.unacc, MSTYPE = int8, MINITCOND = '0', MFINALFUNC = app.fin, \
             MFINALFUNC_MODIFY = SHAREABLE, PARALLEL = SAFE); \
         CREATE AGGREGATE app.top(int4) (SFUNC = int4larger, STYPE = int4, SORTOP = >, \
             COMBINEFUNC = int4larger, PARALLEL = RESTRICTED); \
         CREATE TABLE app.t (id int PRIMARY KEY, v int); \
         INSERT INTO app.t SELECT g, g * 2 FROM generate_series(1, 10) g; \
         CREATE VIEW app.w AS SELECT id, app.msum(v) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING \
             AND CURRENT ROW), app.top(v) OVER () FROM app.t;",
    );
}

/// Views that read each other, a view that reads itself, and a view
/// that reads a function returning its own row type: placeholders first,
/// as pg_dump does (pg_dump itself emits the self-reading one as is).
#[test]
fn recursive_views_are_created_through_placeholders() {
    assert_moves_whole(
        "recviews",
        "CREATE SCHEMA app; \
         CREATE TABLE app.node (id int PRIMARY KEY); \
         CREATE VIEW app.v1 AS SELECT 1 AS a, 'x'::text AS b; \
         CREATE VIEW app.v2 AS SELECT a, b FROM app.v1; \
         CREATE OR REPLACE VIEW app.v1 AS SELECT 1 AS a, 'x'::text AS b \
           UNION ALL SELECT a + 1, b FROM app.v2 WHERE false; \
         CREATE VIEW app.selfref AS SELECT 1 AS n; \
         CREATE OR REPLACE VIEW app.selfref AS SELECT 1 AS n \
           UNION ALL SELECT n FROM app.selfref WHERE false; \
         CREATE VIEW app.rowv AS SELECT 1 AS id; \
         CREATE FUNCTION app.first_row() RETURNS SETOF app.rowv LANGUAGE sql AS 'SELECT 1'; \
         CREATE OR REPLACE VIEW app.rowv AS SELECT 1 AS id \
           UNION ALL SELECT id FROM app.first_row() WHERE false;",
    );
}

/// `CREATE TABLE t ()` is legal and holds rows.
#[test]
fn table_without_columns_moves_with_its_rows() {
    assert_moves_whole(
        "nocols",
        "CREATE SCHEMA app; CREATE TABLE app.empty (); \
         INSERT INTO app.empty DEFAULT VALUES; INSERT INTO app.empty DEFAULT VALUES; \
         CREATE TABLE app.t (id int); INSERT INTO app.t VALUES (1);",
    );
    // And through a directory dump and restore.
    let s = servers();
    let src = s.source.fresh_db("nocols_dir");
    seed_source(
        &src,
        "CREATE TABLE public.e (); INSERT INTO public.e DEFAULT VALUES;",
    );
    let dir = temp_dir();
    let out = dir.path().join("d");
    let url = s.source.url(&src);
    pgbarge(&["dump", "--source", &url, "--output", out.to_str().unwrap()]).assert_code(0);
    let dst = s.target.fresh_db("nocols_dir");
    let turl = s.target.url(&dst);
    pgbarge(&[
        "restore",
        "--input",
        out.to_str().unwrap(),
        "--target",
        &turl,
    ])
    .assert_code(0);
    let n: i64 = s
        .target
        .client(&dst)
        .query_one("SELECT count(*) FROM public.e", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

/// A serial column's sequence belongs to its table: its owner follows the
/// table's (ALTER SEQUENCE ... OWNER on its own is refused).
#[test]
fn serial_sequence_owner_follows_its_table() {
    ensure_role("other_owner");
    assert_moves_whole(
        "seqowner",
        "CREATE SCHEMA app; \
         CREATE TABLE app.t (id serial PRIMARY KEY, n int GENERATED ALWAYS AS IDENTITY, v text); \
         ALTER TABLE app.t OWNER TO other_owner; \
         GRANT USAGE ON SEQUENCE app.t_id_seq TO PUBLIC; \
         INSERT INTO app.t (v) VALUES ('x');",
    );
}

/// Prisma installs extensions under the app's own schema; with
/// `--preset supabase` they move to `extensions`, and so must every
/// reference to their operator classes, operators and functions.
#[test]
fn extension_inside_a_mapped_schema_follows_the_preset() {
    let s = servers();
    let src = s.source.fresh_db("extinside");
    let dst = s.target.fresh_db("extinside");
    seed_source(
        &src,
        "CREATE SCHEMA local_app; \
         CREATE EXTENSION pg_trgm SCHEMA local_app; \
         CREATE TABLE local_app.docs (id int PRIMARY KEY, body text); \
         CREATE INDEX docs_trgm ON local_app.docs USING gin (body local_app.gin_trgm_ops); \
         CREATE INDEX docs_gist ON local_app.docs USING gist (body local_app.gist_trgm_ops); \
         CREATE VIEW local_app.similar AS SELECT id FROM local_app.docs \
           WHERE body OPERATOR(local_app.%) 'hello' AND local_app.similarity(body, 'x') > 0; \
         INSERT INTO local_app.docs VALUES (1, 'hello world'), (2, 'other');",
    );
    let target = format!(
        "postgres://postgres@127.0.0.1:{}/{dst}?sslmode=require",
        s.target.port
    );
    let run = pgbarge(&[
        "copy",
        "--preset",
        "supabase",
        "--verify",
        "--source",
        &s.source.url(&src),
        "--target",
        &target,
        "--schema",
        "local_app",
        "--schema-map",
        "local_app=public",
    ]);
    run.assert_code(0);
    let mut t = s.target.client(&dst);
    let row = t
        .query_one(
            "SELECT (SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'), \
                    pg_get_indexdef('public.docs_trgm'::regclass), \
                    (SELECT count(*) FROM public.docs WHERE body OPERATOR(extensions.%) 'hello')",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "extensions");
    assert!(
        row.get::<_, String>(1).contains("extensions.gin_trgm_ops"),
        "{}",
        row.get::<_, String>(1)
    );
    assert_eq!(row.get::<_, i64>(2), 1);
}

/// `INSTEAD OF` triggers and rules on views were lost without a word.
#[test]
fn triggers_and_rules_on_views_come_along() {
    assert_moves_whole(
        "viewtriggers",
        "CREATE SCHEMA app; \
         CREATE TABLE app.t (id int PRIMARY KEY, v text); INSERT INTO app.t VALUES (1, 'a'); \
         CREATE VIEW app.v AS SELECT id, v FROM app.t; \
         CREATE FUNCTION app.v_ins() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN INSERT INTO app.t VALUES (NEW.id, NEW.v); RETURN NEW; END $$; \
         CREATE TRIGGER v_ins INSTEAD OF INSERT ON app.v FOR EACH ROW EXECUTE FUNCTION app.v_ins(); \
         COMMENT ON TRIGGER v_ins ON app.v IS 'redirect'; \
         CREATE VIEW app.w AS SELECT id, v FROM app.t; \
         CREATE RULE w_del AS ON DELETE TO app.w DO INSTEAD DELETE FROM app.t WHERE id = OLD.id;",
    );
}

/// A statement the target refuses after the rows (here an index whose
/// name another table's index already has) is found before any row
/// moves: plan and the dry runs name it as a blocker, copy and restore
/// stop with nothing written. (The table is over a megabyte: a smaller
/// one's indexes are built with the schema, before its rows.)
#[test]
fn a_statement_refused_after_the_rows_stops_the_run_before_them() {
    let s = servers();
    let src = s.source.fresh_db("late");
    seed_source(
        &src,
        "CREATE TABLE public.t (id int PRIMARY KEY, v text); CREATE INDEX t_v_idx ON public.t (v); \
         INSERT INTO public.t SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g;",
    );
    let clash = "CREATE TABLE public.other (v text); CREATE INDEX t_v_idx ON public.other (v);";
    let dst = s.target.fresh_db("late");
    s.target.client(&dst).batch_execute(clash).unwrap();
    let (surl, turl) = (s.source.url(&src), s.target.url(&dst));
    let untouched = || {
        assert_eq!(
            user_tables(&mut s.target.client(&dst)),
            vec!["public.other".to_string()],
            "something was written"
        );
    };

    let run = pgbarge(&["plan", "--source", &surl, "--target", &turl]);
    run.assert_code(1);
    assert!(run.stdout.contains("t_v_idx"), "{}", run.all());
    untouched();

    let run = pgbarge(&["copy", "--source", &surl, "--target", &turl]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("found before any row moved") && run.stderr.contains("t_v_idx"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("copied public.t"), "{}", run.stderr);
    untouched();

    let dir = temp_dir();
    let out = dir.path().join("d");
    pgbarge(&["dump", "--source", &surl, "--output", out.to_str().unwrap()]).assert_code(0);
    let input = out.to_str().unwrap();
    let run = pgbarge(&["restore", "--input", input, "--target", &turl, "--dry-run"]);
    run.assert_code(1);
    assert!(run.stdout.contains("t_v_idx"), "{}", run.all());
    let run = pgbarge(&["restore", "--input", input, "--target", &turl]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("found before any row moved"),
        "{}",
        run.stderr
    );
    untouched();
}

/// Schemas that hold no table (functions only, or nothing yet) came
/// along with nothing in them, or not at all; their comments and grants
/// too. An empty `public` stays behind (every target has one).
#[test]
fn schemas_without_tables_come_along_whole() {
    assert_moves_whole(
        "notables",
        "CREATE SCHEMA app; CREATE TABLE app.t (id int); INSERT INTO app.t VALUES (1); \
         CREATE SCHEMA util; \
         CREATE FUNCTION util.double(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2'; \
         CREATE TYPE util.level AS ENUM ('low', 'high'); \
         GRANT USAGE ON SCHEMA util TO PUBLIC; \
         COMMENT ON SCHEMA util IS 'helpers'; \
         CREATE SCHEMA later; COMMENT ON SCHEMA later IS 'nothing yet';",
    );
}

/// A database whose schemas hold no table (types, a sequence, functions)
/// is copied whole; the copy said "nothing to copy" (exit 2) after it
/// had made the schema and its run state on the target. A rows-only copy
/// of it still refuses, before writing anything.
#[test]
fn a_schema_without_tables_is_copied_not_refused_half_made() {
    let s = servers();
    let src = s.source.fresh_db("notables_only");
    seed_source(
        &src,
        "CREATE SCHEMA app; CREATE TYPE app.mood AS ENUM ('sad', 'ok'); \
         CREATE SEQUENCE app.ids START 40; SELECT nextval('app.ids'); \
         CREATE FUNCTION app.twice(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2';",
    );
    let dst = s.target.fresh_db("notables_only");
    let run = copy_full(&src, &dst, &["--verify"]);
    run.assert_code(0);
    assert!(run.stdout.contains("0 tables match"), "{}", run.stdout);
    assert_same_text(
        &pg_dump_schema(&s.source, &src),
        &pg_dump_schema(&s.target, &dst),
    );
    let rows_only = s.target.fresh_db("notables_rows");
    let run = pgbarge(&[
        "copy",
        "--data-only",
        "--source",
        &s.source.url(&src),
        "--target",
        &s.target.url(&rows_only),
    ]);
    run.assert_code(2);
    assert!(run.stderr.contains("nothing to copy"), "{}", run.stderr);
    assert_eq!(
        pg_dump_schema(&s.target, &rows_only),
        pg_dump_schema(&s.target, &s.target.fresh_db("notables_empty")),
        "a refused rows-only copy left something on the target"
    );
}

/// A comment the user set on `public` was left behind without a word
/// (only the one initdb gives it is not theirs, and stays behind).
#[test]
fn a_comment_set_on_public_comes_along() {
    assert_moves_whole(
        "pubcomment",
        "CREATE SCHEMA app; CREATE TABLE app.t (id int); INSERT INTO app.t VALUES (1); \
         COMMENT ON SCHEMA public IS 'where the reports live'; \
         CREATE TABLE public.r (id int); INSERT INTO public.r VALUES (2);",
    );
}

/// Casts between a schema's types were lost without a word; a view that
/// relies on one must come after it.
#[test]
fn casts_come_along_before_what_uses_them() {
    assert_moves_whole(
        "casts",
        "CREATE SCHEMA app; \
         CREATE TYPE app.pair AS (a int, b int); \
         CREATE FUNCTION app.pair_json(app.pair) RETURNS json LANGUAGE sql IMMUTABLE \
           AS $$ SELECT json_build_array($1.a, $1.b) $$; \
         CREATE CAST (app.pair AS json) WITH FUNCTION app.pair_json(app.pair) AS ASSIGNMENT; \
         CREATE TYPE app.code AS (v text); \
         CREATE CAST (app.code AS text) WITH INOUT; \
         COMMENT ON CAST (app.code AS text) IS 'as text'; \
         CREATE TABLE app.t (id int, p app.pair); INSERT INTO app.t VALUES (1, ROW(2, 3)); \
         CREATE VIEW app.v AS SELECT id, p::json AS j FROM app.t;",
    );
}

/// Found in PostgREST's test schema: a view's column default, grants on
/// an identity column's sequence, and a foreign key that references a
/// partitioned table (VALIDATE left its per-partition clones not valid).
#[test]
fn view_defaults_identity_grants_and_keys_to_partitioned_tables() {
    ensure_role("web_anon");
    assert_moves_whole(
        "pgrstbits",
        "CREATE SCHEMA app; \
         CREATE TABLE app.items (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name text); \
         GRANT USAGE ON SEQUENCE app.items_id_seq TO web_anon; \
         CREATE VIEW app.items_view AS SELECT * FROM app.items; \
         ALTER VIEW app.items_view ALTER COLUMN name SET DEFAULT 'Default'; \
         CREATE TABLE app.models (name text, year int, PRIMARY KEY (name, year)) \
           PARTITION BY LIST (year); \
         CREATE TABLE app.models_2021 PARTITION OF app.models FOR VALUES IN (2021); \
         CREATE TABLE app.models_2022 PARTITION OF app.models FOR VALUES IN (2022); \
         CREATE TABLE app.racers (name text PRIMARY KEY, model text, year int, \
           FOREIGN KEY (model, year) REFERENCES app.models (name, year)); \
         INSERT INTO app.models VALUES ('a', 2021), ('b', 2022); \
         INSERT INTO app.racers VALUES ('x', 'a', 2021);",
    );
}

/// Column privileges were named "not reproduced": they are now granted.
#[test]
fn column_privileges_come_along() {
    ensure_role("col_reader");
    assert_moves_whole(
        "colgrants",
        "CREATE SCHEMA app; \
         CREATE TABLE app.users (id int PRIMARY KEY, email text, secret text); \
         GRANT SELECT (id), SELECT (email) ON app.users TO col_reader; \
         GRANT SELECT (id), INSERT (id), UPDATE (id) ON app.users TO PUBLIC; \
         CREATE VIEW app.v AS SELECT id, email FROM app.users; \
         GRANT SELECT (email) ON app.v TO col_reader WITH GRANT OPTION;",
    );
}

/// A replica identity other than the default (FULL, USING INDEX) was
/// named "not reproduced": it is now set after the indexes.
#[test]
fn replica_identities_come_along() {
    assert_moves_whole(
        "replident",
        "CREATE SCHEMA app; \
         CREATE TABLE app.full_t (id int PRIMARY KEY, v text); \
         ALTER TABLE app.full_t REPLICA IDENTITY FULL; \
         CREATE TABLE app.idx_t (id int NOT NULL, v text); \
         CREATE UNIQUE INDEX idx_t_id ON app.idx_t (id); \
         ALTER TABLE app.idx_t REPLICA IDENTITY USING INDEX idx_t_id; \
         INSERT INTO app.full_t VALUES (1, 'a'); INSERT INTO app.idx_t VALUES (1, 'b');",
    );
}

/// Foreign tables that are partitions or inheritance children were
/// refused ("--leave-out foreign-table"): a partition is now created
/// `PARTITION OF` its parent with its own checks, column options and
/// defaults, a child with its own columns and `INHERITS`, as pg_dump
/// does; copy, pgbarge's restore and psql's all match the source's
/// `pg_dump -s`. No rows are read through them, and a table a foreign
/// table inherits from is not analyzed (that would read the remote
/// server): named in a warning and in the report.
#[test]
fn foreign_partitions_and_inheritance_children_come_along() {
    let s = servers();
    let src = s.source.fresh_db("fpart");
    seed_source(
        &src,
        "CREATE SCHEMA app; CREATE EXTENSION postgres_fdw; \
         CREATE SERVER far FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'nowhere.invalid'); \
         CREATE TABLE app.p (id int NOT NULL, v text DEFAULT 'p', CONSTRAINT p_pos CHECK (id >= 0)) \
           PARTITION BY RANGE (id); \
         CREATE TABLE app.p_here PARTITION OF app.p FOR VALUES FROM (0) TO (100); \
         CREATE FOREIGN TABLE app.p_far PARTITION OF app.p (CONSTRAINT far_small CHECK (id < 1000)) \
           FOR VALUES FROM (100) TO (200) SERVER far OPTIONS (table_name 'p2'); \
         ALTER FOREIGN TABLE app.p_far ALTER COLUMN v OPTIONS (column_name 'val'); \
         ALTER FOREIGN TABLE app.p_far ALTER COLUMN v SET DEFAULT 'far'; \
         COMMENT ON FOREIGN TABLE app.p_far IS 'remote part'; \
         CREATE TABLE app.base (id int, note text); \
         CREATE FOREIGN TABLE app.kid (extra int OPTIONS (column_name 'x') NOT NULL) \
           INHERITS (app.base) SERVER far; \
         ALTER FOREIGN TABLE app.kid ALTER COLUMN note OPTIONS (column_name 'n'); \
         INSERT INTO app.p_here VALUES (1, 'a'), (2, 'b'); INSERT INTO app.base VALUES (1, 'x');",
    );
    let dst = s.target.fresh_db("fpart");
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    copy_full(
        &src,
        &dst,
        &["--verify", "--report", report.to_str().unwrap()],
    )
    .assert_code(0);
    let want = pg_dump_schema(&s.source, &src);
    assert_same_text(&want, &pg_dump_schema(&s.target, &dst));
    // (Reading a parent reads its foreign children: ONLY the local rows.)
    for t in ["ONLY app.base", "app.p_here"] {
        assert_eq!(
            digest(&mut s.source.client(&src), t),
            digest(&mut s.target.client(&dst), t),
            "{t}"
        );
    }
    let r = read_report(&report);
    assert!(
        r["warnings"]
            .to_string()
            .contains("table app.base is not analyzed on the target: foreign table app.kid"),
        "{r}"
    );
    assert_eq!(
        report_table(&r, "app.base")["statistics"],
        "none (a foreign table inherits from it)",
        "{r}"
    );
    let url = s.source.url(&src);
    for name in ["d", "d.sql"] {
        let out = dir.path().join(name);
        pgbarge(&["dump", "--source", &url, "--output", out.to_str().unwrap()]).assert_code(0);
        let restored = s.target.fresh_db("fpart");
        pgbarge(&[
            "restore",
            "--input",
            out.to_str().unwrap(),
            "--target",
            &s.target.url(&restored),
        ])
        .assert_code(0);
        assert_same_text(&want, &pg_dump_schema(&s.target, &restored));
    }
    let via_psql = s.target.fresh_db("fpart");
    let ok = Command::new(pg_bin().join("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(dir.path().join("d.sql"))
        .args(["-d", &s.target.url(&via_psql)])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "psql could not restore the dump");
    assert_same_text(&want, &pg_dump_schema(&s.target, &via_psql));
}

/// A partitioned table's keys and indexes were created on the whole tree
/// after every row, in one statement each, by one session, with names
/// the server chose: now, as pg_dump writes them, on the table alone,
/// each partition's built with its rows (under its own name) and
/// attached; two levels deep too. A table with a foreign partition keeps
/// the one statement (that partition holds no index).
#[test]
fn partitioned_indexes_build_per_partition_under_their_own_names() {
    assert_moves_whole(
        "partidx",
        "CREATE SCHEMA app; CREATE EXTENSION postgres_fdw; \
         CREATE SERVER far FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'nowhere.invalid'); \
         CREATE TABLE app.events (id bigint NOT NULL, at date NOT NULL, account int) PARTITION BY RANGE (at); \
         CREATE TABLE app.events_2023 PARTITION OF app.events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01'); \
         CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') \
           PARTITION BY LIST (account); \
         CREATE TABLE app.events_2024_a PARTITION OF app.events_2024 FOR VALUES IN (1, 2); \
         CREATE TABLE app.events_2024_b PARTITION OF app.events_2024 DEFAULT; \
         ALTER TABLE app.events ADD CONSTRAINT events_pkey PRIMARY KEY (id, at, account); \
         CREATE INDEX events_by_account ON app.events (account, at); \
         ALTER INDEX app.events_2023_account_at_idx RENAME TO custom_2023_name; \
         INSERT INTO app.events SELECT g, date '2023-01-01' + g % 700, g % 4 FROM generate_series(1, 5000) g; \
         CREATE TABLE app.mixed (id int, at date) PARTITION BY RANGE (at); \
         CREATE TABLE app.mixed_here PARTITION OF app.mixed FOR VALUES FROM ('2000-01-01') TO ('2100-01-01'); \
         CREATE FOREIGN TABLE app.mixed_far PARTITION OF app.mixed FOR VALUES FROM ('1900-01-01') TO ('2000-01-01') SERVER far; \
         CREATE INDEX mixed_at ON app.mixed (at); \
         INSERT INTO app.mixed_here VALUES (1, '2020-01-01');",
    );
}

/// `--leave-out KIND` goes on without objects of that kind and names them
/// in the report; an unknown kind is refused. (What pgbarge cannot
/// recreate at all stops the run unless left out: unit-tested in
/// `catalog::model`, since only security labels remain, and they need a
/// label provider loaded into the server.)
#[test]
fn leave_out_names_what_it_leaves_out() {
    let s = servers();
    let src = s.source.fresh_db("leaveout");
    seed_source(
        &src,
        "CREATE SCHEMA app; SELECT lo_create(0); \
         CREATE TABLE app.t (id int PRIMARY KEY, v text); INSERT INTO app.t VALUES (1, 'x');",
    );
    let dst = s.target.fresh_db("leaveout");
    let (from, to) = (s.source.url(&src), s.target.url(&dst));
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    let run = pgbarge(&[
        "copy",
        "--source",
        &from,
        "--target",
        &to,
        "--leave-out",
        "large-object",
        "--report",
        report.to_str().unwrap(),
    ]);
    run.assert_code(0);
    let r = read_report(&report);
    let want = "left out (--leave-out large-object): 1 large object(s)";
    assert!(r["warnings"].to_string().contains(want), "{want}: {r}");
    assert!(large_object_facts(&mut s.target.client(&dst)).is_empty());
    let bad = pgbarge(&[
        "copy",
        "--source",
        &from,
        "--target",
        &to,
        "--leave-out",
        "colation",
    ]);
    bad.assert_code(2);
    assert!(bad.stderr.contains("not a kind"), "{}", bad.stderr);
}

/// Large objects were refused ("--leave-out large-object"): a copy now
/// carries them under their oids (which `oid` columns hold), in chunks,
/// with owner, grants and comment; a target that has one of those oids
/// is refused up front; verify names one the target lost.
#[test]
fn large_objects_come_along_under_their_oids() {
    ensure_role("lo_owner");
    ensure_role("lo_reader");
    let s = servers();
    let src = s.source.fresh_db("lobj");
    seed_source(
        &src,
        "CREATE SCHEMA app; CREATE TABLE app.docs (id int PRIMARY KEY, body oid); \
         SELECT lo_from_bytea(90001, 'hello'::bytea); \
         SELECT lo_from_bytea(90002, convert_to(repeat('0123456789', 300000), 'UTF8')); \
         INSERT INTO app.docs VALUES (1, 90001), (2, 90002); \
         ALTER LARGE OBJECT 90002 OWNER TO lo_owner; \
         GRANT SELECT ON LARGE OBJECT 90002 TO lo_reader; \
         COMMENT ON LARGE OBJECT 90001 IS 'greeting';",
    );
    let dst = s.target.fresh_db("lobj");
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    copy_full(
        &src,
        &dst,
        &["--verify", "--report", report.to_str().unwrap()],
    )
    .assert_code(0);
    let r = read_report(&report);
    assert_eq!(r["schema"]["large_objects"], 2, "{r}");
    assert_eq!(r["schema"]["large_object_bytes"], 3_000_005, "{r}");
    assert_eq!(
        large_object_facts(&mut s.source.client(&src)),
        large_object_facts(&mut s.target.client(&dst))
    );
    // A target that holds one of the oids is refused before any write.
    let taken = s.target.fresh_db("lobj_taken");
    s.target
        .client(&taken)
        .batch_execute("SELECT lo_create(90001)")
        .unwrap();
    let run = copy_full(&src, &taken, &[]);
    run.assert_code(2);
    assert!(run.stderr.contains("large object 90001"), "{}", run.stderr);
    assert!(user_tables(&mut s.target.client(&taken)).is_empty());
    // verify names a lost one.
    s.target
        .client(&dst)
        .batch_execute("SELECT lo_unlink(90002)")
        .unwrap();
    let run = pgbarge(&[
        "verify",
        "--source",
        &s.source.url(&src),
        "--target",
        &s.target.url(&dst),
    ]);
    run.assert_code(1);
    assert!(
        run.stdout.contains("large object 90002 is missing"),
        "{}",
        run.all()
    );
}

/// A rows-only copy left the source's large objects behind without a
/// word while `oid` columns pointed at them: it now carries them after
/// the rows (as `pg_dump --data-only` does); ones the target has under
/// the same oids stop the run before anything is written unless
/// `--truncate`, which refills them and keeps their owner, grants and
/// comment, as a truncated table keeps its own.
#[test]
fn rows_only_copies_carry_large_objects() {
    let s = servers();
    let src = s.source.fresh_db("lorows");
    seed_source(
        &src,
        "CREATE TABLE docs (id int PRIMARY KEY, body oid); \
         SELECT lo_from_bytea(92001, 'hello'::bytea); \
         SELECT lo_from_bytea(92002, convert_to(repeat('0123456789', 300000), 'UTF8')); \
         INSERT INTO docs VALUES (1, 92001), (2, 92002); \
         CREATE TABLE other (id int); INSERT INTO other VALUES (1);",
    );
    let dst = s.target.fresh_db("lorows");
    let (from, to) = (s.source.url(&src), s.target.url(&dst));
    pgbarge(&["copy", "--schema-only", "--source", &from, "--target", &to]).assert_code(0);
    let bytes =
        "SELECT oid::text || ' ' || md5(lo_get(oid)) FROM pg_largeobject_metadata ORDER BY oid";
    let lines = |c: &mut postgres::Client, q: &str| -> Vec<String> {
        c.query(q, &[]).unwrap().iter().map(|r| r.get(0)).collect()
    };
    assert!(lines(&mut s.target.client(&dst), bytes).is_empty());
    let rows_only = |extra: &[&str]| {
        let mut args = vec!["copy", "--data-only", "--source", &from, "--target", &to];
        args.extend_from_slice(extra);
        pgbarge(&args)
    };
    let run = rows_only(&[]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("copied 2 large objects"),
        "{}",
        run.stderr
    );
    let want = lines(&mut s.source.client(&src), bytes);
    assert_eq!(lines(&mut s.target.client(&dst), bytes), want);
    // The target's own are not overwritten unasked.
    s.target
        .client(&dst)
        .batch_execute(
            "SELECT lo_put(92001, 0, 'HELLO, WORLD'); \
             COMMENT ON LARGE OBJECT 92001 IS 'the target''s'",
        )
        .unwrap();
    let changed = lines(&mut s.target.client(&dst), bytes);
    let run = rows_only(&["--truncate", "--exclude-table", "public.docs"]);
    run.assert_code(0);
    assert_eq!(lines(&mut s.target.client(&dst), bytes), want);
    s.target
        .client(&dst)
        .batch_execute("SELECT lo_put(92001, 0, 'HELLO, WORLD')")
        .unwrap();
    let run = rows_only(&["--exclude-table", "public.docs"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("large objects under the source's oids: 92001, 92002")
            && run.stderr.contains("--truncate")
            && run.stderr.contains("--leave-out large-object"),
        "{}",
        run.stderr
    );
    assert_eq!(lines(&mut s.target.client(&dst), bytes), changed);
    let comment = "SELECT obj_description(92001, 'pg_largeobject')";
    assert_eq!(lines(&mut s.target.client(&dst), comment), ["the target's"]);
    rows_only(&[
        "--truncate",
        "--exclude-table",
        "public.docs",
        "--leave-out",
        "large-object",
    ])
    .assert_code(0);
    assert_eq!(lines(&mut s.target.client(&dst), bytes), changed);
}

/// Collations (ICU, nondeterministic; libc) were named "not reproduced":
/// they are now created first, and columns and domains use them. Under a
/// schema map the names that use them move with them: a domain's
/// collation was once written as the source named it, and the copy into
/// `public` failed on `schema "app" does not exist`.
#[test]
fn collations_come_along() {
    let sql = "CREATE SCHEMA app; \
         CREATE COLLATION app.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false); \
         CREATE COLLATION app.c_copy (provider = libc, lc_collate = 'C', lc_ctype = 'C'); \
         COMMENT ON COLLATION app.ci IS 'case-insensitive'; \
         CREATE DOMAIN app.email AS text COLLATE app.ci; \
         CREATE TYPE app.pair AS (a text COLLATE app.c_copy, b int); \
         CREATE TABLE app.users (id int PRIMARY KEY, email app.email, nick text COLLATE app.c_copy, p app.pair); \
         CREATE VIEW app.nicks AS SELECT nick COLLATE app.ci AS n FROM app.users; \
         INSERT INTO app.users VALUES (1, 'A@x', 'b', ('x', 1));";
    assert_moves_whole("collations", sql);
    let s = servers();
    let src = s.source.fresh_db("collations_map");
    seed_source(&src, sql);
    let dst = s.target.fresh_db("collations_map");
    copy_full(&src, &dst, &["--schema-map", "app=public", "--verify"]).assert_code(0);
    let mut t = s.target.client(&dst);
    let used: Vec<String> = t
        .query(
            "SELECT DISTINCT cn.nspname || '.' || co.collname FROM pg_attribute a \
               JOIN pg_collation co ON co.oid = a.attcollation \
               JOIN pg_namespace cn ON cn.oid = co.collnamespace \
              WHERE a.attrelid IN ('public.users'::regclass, \
                                   (SELECT typrelid FROM pg_type WHERE oid = 'public.pair'::regtype)) \
             UNION SELECT cn.nspname || '.' || co.collname FROM pg_type d \
               JOIN pg_collation co ON co.oid = d.typcollation \
               JOIN pg_namespace cn ON cn.oid = co.collnamespace \
              WHERE d.oid = 'public.email'::regtype ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        used.contains(&"public.ci".to_string()) && used.contains(&"public.c_copy".to_string()),
        "{used:?}"
    );
    let view: String = t
        .query_one("SELECT pg_get_viewdef('public.nicks'::regclass)", &[])
        .unwrap()
        .get(0);
    assert!(
        view.contains("COLLATE ci") || view.contains("public.ci"),
        "{view}"
    );
}

/// Transforms (as pg_dump's own tests make one: functions of `internal`,
/// here in the copied schema) were lost without a word: they are now
/// created after their functions, with their comments.
#[test]
fn transforms_come_along() {
    assert_moves_whole(
        "transforms",
        "CREATE SCHEMA app; \
         CREATE FUNCTION app.from_sql(internal) RETURNS internal LANGUAGE internal STRICT \
           IMMUTABLE AS 'prsd_lextype'; \
         CREATE FUNCTION app.to_sql(internal) RETURNS int LANGUAGE internal STRICT \
           IMMUTABLE AS 'int4recv'; \
         CREATE TRANSFORM FOR int LANGUAGE sql \
           (FROM SQL WITH FUNCTION app.from_sql(internal), TO SQL WITH FUNCTION app.to_sql(internal)); \
         COMMENT ON TRANSFORM FOR int LANGUAGE sql IS 'for tests'; \
         CREATE FUNCTION app.twice(int) RETURNS int LANGUAGE sql AS 'SELECT $1 * 2'; \
         CREATE TABLE app.t (id int PRIMARY KEY); INSERT INTO app.t VALUES (1);",
    );
}

/// A table's access method other than heap (pg_dump sets
/// `default_table_access_method`) was dropped without a word: the table
/// is now created `USING` it, and verify names a target that lost it.
#[test]
fn a_tables_access_method_comes_along() {
    let setup = "DO $$ BEGIN CREATE ACCESS METHOD heap2 TYPE TABLE HANDLER heap_tableam_handler; \
                 EXCEPTION WHEN duplicate_object THEN NULL; END $$";
    let s = servers();
    let src = s.source.fresh_db("tableam");
    let dst = s.target.fresh_db("tableam");
    // The access method belongs to the database (pg_dump -s of a whole
    // database carries it; a schema's copy needs it on the target).
    s.target.client(&dst).batch_execute(setup).unwrap();
    seed_source(
        &src,
        &format!(
            "{setup}; CREATE SCHEMA app; CREATE TABLE app.t (id int PRIMARY KEY, v text) USING heap2; \
             CREATE TABLE app.h (id int); INSERT INTO app.t VALUES (1, 'a');"
        ),
    );
    copy_full(&src, &dst, &["--verify"]).assert_code(0);
    assert_same_text(
        &pg_dump_schema(&s.source, &src),
        &pg_dump_schema(&s.target, &dst),
    );
    assert_same_content(&src, &dst);
    // A target whose table lost it: verify says so.
    let lost = s.target.fresh_db("tableam_lost");
    s.target.client(&lost).batch_execute(setup).unwrap();
    copy_full(&src, &lost, &[]).assert_code(0);
    s.target
        .client(&lost)
        .batch_execute("ALTER TABLE app.t SET ACCESS METHOD heap")
        .unwrap();
    let run = pgbarge(&[
        "verify",
        "--source",
        &s.source.url(&src),
        "--target",
        &s.target.url(&lost),
    ]);
    run.assert_code(1);
    assert!(
        run.stdout.contains("access method of app.t differs")
            || run.stderr.contains("access method of app.t differs"),
        "{}{}",
        run.stdout,
        run.stderr
    );
}

/// Settings pg_dump writes after a table or index and that were lost
/// without a word: a column's compression and options, an unlogged
/// sequence, an index column's statistics target, the index a table is
/// clustered on, a disabled rule (and triggers that fire always or not).
#[test]
fn table_and_index_settings_come_along() {
    assert_moves_whole(
        "settings",
        "CREATE SCHEMA app; \
         CREATE TABLE app.t (id int PRIMARY KEY, body text COMPRESSION lz4, n int); \
         ALTER TABLE app.t ALTER COLUMN n SET (n_distinct = 100); \
         CREATE INDEX t_n ON app.t (n); ALTER TABLE app.t CLUSTER ON t_n; \
         CREATE TABLE app.k (id int PRIMARY KEY); ALTER TABLE app.k CLUSTER ON k_pkey; \
         CREATE INDEX t_expr ON app.t ((n + 1)); \
         ALTER INDEX app.t_expr ALTER COLUMN 1 SET STATISTICS 500; \
         CREATE UNLOGGED SEQUENCE app.s; \
         CREATE FUNCTION app.tf() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; \
         CREATE TRIGGER tr1 BEFORE INSERT ON app.t FOR EACH ROW EXECUTE FUNCTION app.tf(); \
         ALTER TABLE app.t DISABLE TRIGGER tr1; \
         CREATE TRIGGER tr2 BEFORE UPDATE ON app.t FOR EACH ROW EXECUTE FUNCTION app.tf(); \
         ALTER TABLE app.t ENABLE ALWAYS TRIGGER tr2; \
         CREATE RULE r1 AS ON DELETE TO app.t DO INSTEAD NOTHING; ALTER TABLE app.t DISABLE RULE r1; \
         CREATE RULE r2 AS ON UPDATE TO app.k DO INSTEAD NOTHING; ALTER TABLE app.k ENABLE ALWAYS RULE r2; \
         INSERT INTO app.t VALUES (1, repeat('x', 5000), 2); INSERT INTO app.k VALUES (1);",
    );
}

/// Default privileges of a copied schema were named "not reproduced":
/// they are now set, for the same role and grantees.
#[test]
fn default_privileges_come_along() {
    ensure_role("col_reader");
    assert_moves_whole(
        "defacl",
        "CREATE SCHEMA app; CREATE TABLE app.t (id int PRIMARY KEY); \
         ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO col_reader; \
         ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT USAGE ON SEQUENCES TO col_reader WITH GRANT OPTION; \
         ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT EXECUTE ON FUNCTIONS TO PUBLIC;",
    );
}

/// Text search dictionaries and configurations were named "not
/// reproduced": they are now created (with their token mappings) before
/// the tables and indexes that use them. Templates and parsers were lost
/// without a word: they now come first.
#[test]
fn text_search_objects_come_along() {
    assert_moves_whole(
        "textsearch",
        "CREATE SCHEMA app; \
         CREATE TEXT SEARCH DICTIONARY app.simple_nostop (TEMPLATE = pg_catalog.simple, STOPWORDS = english); \
         CREATE TEXT SEARCH CONFIGURATION app.cfg (COPY = pg_catalog.english); \
         CREATE TEXT SEARCH TEMPLATE app.tmpl (INIT = dsimple_init, LEXIZE = dsimple_lexize); \
         COMMENT ON TEXT SEARCH TEMPLATE app.tmpl IS 'a template'; \
         CREATE TEXT SEARCH DICTIONARY app.mine (TEMPLATE = app.tmpl, STOPWORDS = english); \
         CREATE TEXT SEARCH PARSER app.prs (START = prsd_start, GETTOKEN = prsd_nexttoken, \
           END = prsd_end, LEXTYPES = prsd_lextype, HEADLINE = prsd_headline); \
         CREATE TEXT SEARCH CONFIGURATION app.own_parser (PARSER = app.prs); \
         ALTER TEXT SEARCH CONFIGURATION app.own_parser ADD MAPPING FOR word WITH app.mine; \
         ALTER TEXT SEARCH CONFIGURATION app.cfg ALTER MAPPING FOR asciiword WITH app.simple_nostop, english_stem; \
         COMMENT ON TEXT SEARCH CONFIGURATION app.cfg IS 'app search'; \
         CREATE TABLE app.docs (id int PRIMARY KEY, body text, \
           tsv tsvector GENERATED ALWAYS AS (to_tsvector('app.cfg', body)) STORED); \
         CREATE INDEX docs_fts ON app.docs USING gin (to_tsvector('app.cfg'::regconfig, body)); \
         INSERT INTO app.docs (id, body) VALUES (1, 'the quick brown foxes');",
    );
}

/// Operators (with commutator, negator, estimators, MERGES/HASHES off)
/// were named "not reproduced": they are now nodes of the dependency
/// graph, after their function and before the view that uses them.
#[test]
fn operators_come_along() {
    assert_moves_whole(
        "operators",
        "CREATE SCHEMA app; \
         CREATE FUNCTION app.ci_eq(text, text) RETURNS bool LANGUAGE sql IMMUTABLE \
           AS 'SELECT lower($1) = lower($2)'; \
         CREATE FUNCTION app.ci_ne(text, text) RETURNS bool LANGUAGE sql IMMUTABLE \
           AS 'SELECT lower($1) <> lower($2)'; \
         CREATE OPERATOR app.=~= (FUNCTION = app.ci_eq, LEFTARG = text, RIGHTARG = text, \
           COMMUTATOR = OPERATOR(app.=~=), NEGATOR = OPERATOR(app.<~>), RESTRICT = eqsel, JOIN = eqjoinsel); \
         CREATE OPERATOR app.<~> (FUNCTION = app.ci_ne, LEFTARG = text, RIGHTARG = text, \
           NEGATOR = OPERATOR(app.=~=)); \
         COMMENT ON OPERATOR app.=~= (text, text) IS 'equal, ignoring case'; \
         CREATE TABLE app.users (id int PRIMARY KEY, email text); \
         INSERT INTO app.users VALUES (1, 'A@x'); \
         CREATE VIEW app.a_users AS SELECT id FROM app.users WHERE email OPERATOR(app.=~=) 'a@x';",
    );
}

/// Conversions were named "not reproduced": they are now created.
#[test]
fn conversions_come_along() {
    assert_moves_whole(
        "conversions",
        "CREATE SCHEMA app; \
         CREATE CONVERSION app.latin_to_utf8 FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8; \
         COMMENT ON CONVERSION app.latin_to_utf8 IS 'for imports'; \
         CREATE TABLE app.t (id int PRIMARY KEY);",
    );
}

/// Operator classes and families were refused ("--leave-out
/// operator-class"): they are now created after their operators and
/// functions, with loose family members, comments and owners, before a
/// partitioned table whose key uses one and the indexes that do.
#[test]
fn operator_classes_and_families_come_along() {
    let cmp = |name: &str, op: &str| {
        format!(
            "CREATE FUNCTION app.ci_{name}(text, text) RETURNS bool LANGUAGE sql IMMUTABLE \
               AS 'SELECT lower($1) {op} lower($2)'; \
             CREATE OPERATOR app.{op}~ (FUNCTION = app.ci_{name}, LEFTARG = text, RIGHTARG = text); "
        )
    };
    let ops: String = [
        ("lt", "<"),
        ("le", "<="),
        ("eq", "="),
        ("ge", ">="),
        ("gt", ">"),
    ]
    .iter()
    .map(|(n, o)| cmp(n, o))
    .collect();
    assert_moves_whole(
        "opclasses",
        &format!(
            "CREATE SCHEMA app; {ops} \
             CREATE FUNCTION app.ci_cmp(text, text) RETURNS int LANGUAGE sql IMMUTABLE \
               AS 'SELECT CASE WHEN lower($1) < lower($2) THEN -1 WHEN lower($1) > lower($2) THEN 1 ELSE 0 END'; \
             CREATE FUNCTION app.ci_hash(text) RETURNS int LANGUAGE sql IMMUTABLE \
               AS 'SELECT hashtext(lower($1))'; \
             CREATE OPERATOR FAMILY app.ci_fam USING btree; \
             CREATE OPERATOR CLASS app.ci_ops FOR TYPE text USING btree FAMILY app.ci_fam AS \
               OPERATOR 1 app.<~, OPERATOR 2 app.<=~, OPERATOR 3 app.=~, OPERATOR 4 app.>=~, \
               OPERATOR 5 app.>~, FUNCTION 1 app.ci_cmp(text, text); \
             ALTER OPERATOR FAMILY app.ci_fam USING btree ADD FUNCTION 4 (text, text) btequalimage(oid); \
             COMMENT ON OPERATOR CLASS app.ci_ops USING btree IS 'case-insensitive order'; \
             COMMENT ON OPERATOR FAMILY app.ci_fam USING btree IS 'case-insensitive'; \
             CREATE OPERATOR CLASS app.ci_hash_ops FOR TYPE text USING hash AS \
               OPERATOR 1 app.=~, FUNCTION 1 app.ci_hash(text); \
             CREATE TABLE app.users (id int PRIMARY KEY, email text); \
             CREATE INDEX users_email ON app.users (email app.ci_ops); \
             CREATE INDEX users_email_h ON app.users USING hash (email app.ci_hash_ops); \
             CREATE TABLE app.events (k text, n int) PARTITION BY RANGE (k app.ci_ops); \
             CREATE TABLE app.events_a PARTITION OF app.events FOR VALUES FROM ('a') TO ('n'); \
             CREATE TABLE app.events_n PARTITION OF app.events FOR VALUES FROM ('n') TO (MAXVALUE); \
             INSERT INTO app.users VALUES (1, 'A@x'), (2, 'b@y'); \
             INSERT INTO app.events VALUES ('Apple', 1), ('zebra', 2);"
        ),
    );
}

/// Foreign tables were refused ("--leave-out foreign-table"): they are
/// now created with their columns, options, checks and comments, after
/// the server they use (created when the target lacks it, its wrapper's
/// extension first) and its user mappings, whose secrets never leave the
/// source: the password is named in a warning, not copied, not dumped.
#[test]
fn foreign_tables_come_along_without_their_secrets() {
    let s = servers();
    let src = s.source.fresh_db("fdw");
    seed_source(
        &src,
        "CREATE SCHEMA app; CREATE EXTENSION postgres_fdw; \
         CREATE SERVER remote FOREIGN DATA WRAPPER postgres_fdw \
           OPTIONS (host 'db.example', dbname 'legacy', port '5432'); \
         COMMENT ON SERVER remote IS 'the old database'; \
         CREATE USER MAPPING FOR PUBLIC SERVER remote OPTIONS (user 'reader', password 'hunter2'); \
         CREATE FOREIGN TABLE app.legacy_users ( \
           id int NOT NULL, email text OPTIONS (column_name 'mail') COLLATE \"C\", \
           created date DEFAULT now(), CONSTRAINT legacy_users_id CHECK (id > 0)) \
           SERVER remote OPTIONS (schema_name 'public', table_name 'users'); \
         COMMENT ON FOREIGN TABLE app.legacy_users IS 'read-only'; \
         COMMENT ON COLUMN app.legacy_users.email IS 'mail'; \
         CREATE TABLE app.t (id int PRIMARY KEY); INSERT INTO app.t VALUES (1); \
         CREATE VIEW app.v AS SELECT u.id FROM app.legacy_users u JOIN app.t USING (id);",
    );
    let dst = s.target.fresh_db("fdw");
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    let run = copy_full(
        &src,
        &dst,
        &["--verify", "--report", report.to_str().unwrap()],
    );
    run.assert_code(0);
    assert!(!run.all().contains("hunter2"), "{}", run.all());
    let r = read_report(&report);
    assert!(
        r["warnings"]
            .to_string()
            .contains("user mapping for public on server remote: password not copied (a secret)"),
        "{r}"
    );
    // Everything but the secret, as pg_dump sees it.
    let without_secret: String = pg_dump_schema(&s.source, &src)
        .lines()
        .filter(|l| l.trim() != "password 'hunter2',")
        .collect::<Vec<_>>()
        .join("\n");
    assert_same_text(&without_secret, &pg_dump_schema(&s.target, &dst));

    // A SQL dump holds no secret either, and psql restores it.
    let out = dir.path().join("d.sql");
    let url = s.source.url(&src);
    pgbarge(&["dump", "--source", &url, "--output", out.to_str().unwrap()]).assert_code(0);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!text.contains("hunter2"));
    let via_psql = s.target.fresh_db("fdw");
    let ok = Command::new(pg_bin().join("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(&out)
        .args(["-d", &s.target.url(&via_psql)])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "psql could not restore the dump");
    assert_same_text(&without_secret, &pg_dump_schema(&s.target, &via_psql));

    // verify names a lost mapping, server and foreign table.
    let to = s.target.url(&via_psql);
    let verify = || pgbarge(&["verify", "--source", &url, "--target", &to]);
    verify().assert_code(0);
    s.target
        .client(&via_psql)
        .batch_execute("DROP USER MAPPING FOR PUBLIC SERVER remote")
        .unwrap();
    let run = verify();
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("user mapping for PUBLIC on server remote is missing"),
        "{}",
        run.all()
    );
    s.target
        .client(&via_psql)
        .batch_execute("DROP SERVER remote CASCADE")
        .unwrap();
    let run = verify();
    assert!(
        run.stdout
            .contains("foreign table app.legacy_users is missing")
            && run.stdout.contains("server remote is missing"),
        "{}",
        run.all()
    );
}

/// Ordered-set and hypothetical-set aggregates were named in a warning
/// and left behind: they are now created (`ORDER BY` in their arguments,
/// `HYPOTHETICAL`), with comments and grants by their function arguments,
/// before the view that calls one.
#[test]
fn ordered_set_aggregates_come_along() {
    ensure_role("agg_reader");
    assert_moves_whole(
        "osagg",
        "CREATE SCHEMA app; \
         CREATE AGGREGATE app.pct(float8 ORDER BY anyelement) (SFUNC = ordered_set_transition, \
           STYPE = internal, FINALFUNC = percentile_disc_final, FINALFUNC_EXTRA); \
         CREATE AGGREGATE app.hrank(VARIADIC \"any\" ORDER BY VARIADIC \"any\") ( \
           SFUNC = ordered_set_transition_multi, STYPE = internal, FINALFUNC = rank_final, \
           FINALFUNC_EXTRA, HYPOTHETICAL); \
         COMMENT ON AGGREGATE app.pct(float8 ORDER BY anyelement) IS 'median and friends'; \
         REVOKE ALL ON FUNCTION app.pct(float8, anyelement) FROM PUBLIC; \
         GRANT EXECUTE ON FUNCTION app.pct(float8, anyelement) TO agg_reader; \
         CREATE TABLE app.t (id int PRIMARY KEY); INSERT INTO app.t SELECT generate_series(1, 9); \
         CREATE VIEW app.median AS SELECT app.pct(0.5) WITHIN GROUP (ORDER BY id) AS m, \
           app.hrank(4) WITHIN GROUP (ORDER BY id) AS r FROM app.t;",
    );
}

/// Base types (as PostgreSQL's own regression tests make them, with
/// functions of `LANGUAGE internal`) and shell types were named in a
/// warning and left behind: a base type is now created as a shell, then
/// its functions, then its definition, before the table that uses it.
#[test]
fn base_and_shell_types_come_along() {
    assert_moves_whole(
        "basetypes",
        "CREATE SCHEMA app; CREATE TYPE app.int42; CREATE TYPE app.nothing_yet; \
         CREATE FUNCTION app.int42_in(cstring) RETURNS app.int42 AS 'int4in' \
           LANGUAGE internal STRICT IMMUTABLE; \
         CREATE FUNCTION app.int42_out(app.int42) RETURNS cstring AS 'int4out' \
           LANGUAGE internal STRICT IMMUTABLE; \
         CREATE TYPE app.int42 (INTERNALLENGTH = 4, INPUT = app.int42_in, OUTPUT = app.int42_out, \
           ALIGNMENT = int4, DEFAULT = 42, PASSEDBYVALUE, CATEGORY = 'N'); \
         COMMENT ON TYPE app.int42 IS 'an int in disguise'; \
         CREATE TABLE app.t (id int PRIMARY KEY, v app.int42, vs app.int42[]); \
         INSERT INTO app.t VALUES (1, '7', '{1,2}'), (2, DEFAULT, NULL);",
    );
}

/// Event triggers whose function is copied were refused ("--leave-out
/// event-trigger"): they are now created last (earlier they would fire on
/// the copy's own DDL), with their tags, enabled state and comment.
#[test]
fn event_triggers_come_along_last() {
    assert_moves_whole(
        "evtrig",
        "CREATE SCHEMA app; \
         CREATE FUNCTION app.log_ddl() RETURNS event_trigger LANGUAGE plpgsql \
           AS $$ BEGIN RAISE EXCEPTION 'no DDL here: %', tg_tag; END $$; \
         CREATE TABLE app.t (id int PRIMARY KEY); INSERT INTO app.t VALUES (1); \
         CREATE EVENT TRIGGER app_no_ddl ON ddl_command_end WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE') \
           EXECUTE FUNCTION app.log_ddl(); \
         CREATE EVENT TRIGGER app_quiet ON sql_drop EXECUTE FUNCTION app.log_ddl(); \
         ALTER EVENT TRIGGER app_quiet DISABLE; \
         COMMENT ON EVENT TRIGGER app_no_ddl IS 'refuses DDL';",
    );
}

/// A schema of hundreds of tables (each with its TOAST table, a view, a
/// key, an index and a foreign key) into a target whose lock table is
/// small (`max_locks_per_transaction = 10`, room for 26 sessions' worth
/// of locks): in one transaction it ran out of shared memory; it goes in
/// parts sized to the target's lock table, also those that go side by side
/// on several sessions (together within it). The statements after the rows, too many to try
/// in one transaction there, are said to run untried. A part the target
/// refuses late drops what the parts before it made, and the run's
/// record with them.
#[test]
fn a_schema_larger_than_the_targets_lock_table_goes_in_parts() {
    static SMALL: std::sync::OnceLock<PgServer> = std::sync::OnceLock::new();
    let small = SMALL.get_or_init(|| {
        PgServer::start_with(
            "small-locks",
            &pg_bin(),
            false,
            "max_locks_per_transaction = 10\nmax_connections = 20\nmax_worker_processes = 2\n\
             max_wal_senders = 0\n",
        )
    });
    let s = servers();
    let src = s.source.fresh_db("locks");
    seed_source(
        &src,
        "CREATE SCHEMA app; \
         DO $$ BEGIN FOR i IN 1..600 LOOP \
           EXECUTE format('CREATE TABLE app.t%s (id int PRIMARY KEY, parent_id int %s, name text)', \
                          i, CASE WHEN i > 1 THEN format('REFERENCES app.t%s', i - 1) END); \
           EXECUTE format('CREATE INDEX t%s_name ON app.t%s (name)', i, i); \
           EXECUTE format('CREATE VIEW app.v%s AS SELECT id, name FROM app.t%s', i, i); \
           EXECUTE format('COMMENT ON TABLE app.t%s IS %L', i, 'table ' || i); \
           EXECUTE format('INSERT INTO app.t%s SELECT g, CASE WHEN %s > 1 THEN g END, %L FROM generate_series(1, 3) g', \
                          i, i, 'row'); \
         END LOOP; END $$;",
    );
    let surl = s.source.url(&src);

    let dst = small.fresh_db("locks");
    let turl = small.url(&dst);
    let run = pgbarge(&["plan", "--source", &surl, "--target", &turl]);
    run.assert_code(0);
    assert!(run.stdout.contains("lock table"), "{}", run.all());
    let run = pgbarge(&[
        "copy", "--schema", "app", "--source", &surl, "--target", &turl,
    ]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("lock table (max_locks_per_transaction) is too small"),
        "{}",
        run.stderr
    );
    // pg_dump locks every table it dumps in one transaction, more than
    // this lock table holds: a sixth of them (and their views) is compared.
    let part = ["-t", "app.t1*", "-t", "app.v1*"];
    assert_same_text(
        &pg_dump_schema_with(&s.source, &src, &part),
        &pg_dump_schema_with(small, &dst, &part),
    );
    let mut c = small.client(&dst);
    let rows: i64 = c
        .query_one("SELECT sum(n)::int8 FROM (SELECT count(*) AS n FROM app.t600 UNION ALL SELECT count(*) FROM app.t1) x", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 6);

    // A restore goes the same way.
    let dir = temp_dir();
    let out = dir.path().join("d");
    pgbarge(&[
        "dump",
        "--schema",
        "app",
        "--source",
        &surl,
        "--output",
        out.to_str().unwrap(),
    ])
    .assert_code(0);
    let restored = small.fresh_db("locks");
    let run = pgbarge(&[
        "restore",
        "--input",
        out.to_str().unwrap(),
        "--target",
        &small.url(&restored),
    ]);
    run.assert_code(0);
    assert!(run.stderr.contains("lock table"), "{}", run.stderr);
    assert_same_text(
        &pg_dump_schema_with(&s.source, &src, &part),
        &pg_dump_schema_with(small, &restored, &part),
    );

    // A table the target refuses in a late part: what the parts before it
    // made is dropped, and no run is left recorded.
    let dst = small.fresh_db("locks");
    let turl = small.url(&dst);
    small
        .client(&dst)
        .batch_execute("CREATE SCHEMA app; CREATE DOMAIN app.t590 AS int;")
        .unwrap();
    let run = pgbarge(&[
        "copy", "--schema", "app", "--source", &surl, "--target", &turl,
    ]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("app.t590") && !run.stderr.contains("copied app."),
        "{}",
        run.stderr
    );
    let mut c = small.client(&dst);
    let left: Vec<String> = c
        .query(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n \
               ON n.oid = c.relnamespace WHERE n.nspname IN ('app', '_pgbarge') ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(left.is_empty(), "left on the target: {left:?}");
    let domain: i64 = c
        .query_one("SELECT count(*) FROM pg_type WHERE typname = 't590'", &[])
        .unwrap()
        .get(0);
    assert_eq!(domain, 1, "the target's own domain went");
}
