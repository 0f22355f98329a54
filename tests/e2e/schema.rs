//! `copy` without `--data-only`: the schema is created natively from the
//! source catalog; with a schema map every reference points at the new
//! name and no row changes.

use std::process::Command;

use crate::support::*;

pub const FIXTURE: &str = include_str!("fixture.sql");
pub const FIXTURE_DATA: &str = include_str!("fixture_data.sql");

/// Objects beyond tables: views, a materialized view, functions, a
/// trigger, policies, indexes, checks, comments, a standalone sequence.
pub const EXTRA: &str = r#"
CREATE SEQUENCE app.ticket_no START 1000 INCREMENT 5;
CREATE FUNCTION app.next_ticket() RETURNS bigint LANGUAGE sql AS $$ SELECT nextval('app.ticket_no') $$;
CREATE TABLE app.tickets (
    id bigint DEFAULT app.next_ticket() PRIMARY KEY,
    code text NOT NULL DEFAULT 'app.' || md5(random()::text) CHECK (code <> ''),
    mood app.mood DEFAULT 'ok'::app.mood,
    owner_id bigint REFERENCES app.parents (id) ON DELETE SET NULL,
    updated timestamptz,
    CONSTRAINT code_len CHECK (length(code) < 100) NOT VALID
);
CREATE UNIQUE INDEX tickets_code ON app.tickets (lower(code)) WHERE code IS NOT NULL;
CREATE INDEX events_payload ON app.events USING gin (payload);
ALTER TABLE app.events ADD PRIMARY KEY (id, at);
COMMENT ON TABLE app.tickets IS 'tickets, see app.parents';
COMMENT ON COLUMN app.tickets.code IS 'the code';
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.updated := now(); RETURN NEW; END $$;
CREATE TRIGGER tickets_touch BEFORE UPDATE ON app.tickets FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE FUNCTION app.count_parents() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN RETURN (SELECT count(*) FROM app.parents); END $$;
CREATE VIEW app.ticket_view AS SELECT t.id, t.code, p.name FROM app.tickets t LEFT JOIN app.parents p ON p.id = t.owner_id;
CREATE VIEW app.ticket_view2 AS SELECT id FROM app.ticket_view WHERE id > 0;
CREATE MATERIALIZED VIEW app.mood_counts AS SELECT mood, count(*) AS n FROM app.kitchen_sink GROUP BY mood;
CREATE UNIQUE INDEX mood_counts_mood ON app.mood_counts (mood);
ALTER TABLE app.tickets ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON app.tickets FOR SELECT USING (owner_id IS NOT NULL AND mood <> 'sad'::app.mood);
CREATE AGGREGATE app.total(int) (SFUNC = int4pl, STYPE = int, INITCOND = '0', PARALLEL = SAFE);
CREATE AGGREGATE app.mymax(int) (SFUNC = int4larger, STYPE = int, SORTOP = >);
ALTER TABLE app.tickets ALTER COLUMN code SET STORAGE EXTERNAL, ALTER COLUMN mood SET STATISTICS 500;
CREATE PUBLICATION tickets_pub FOR TABLE app.tickets (id, code) WHERE (id > 0), app.parents WITH (publish = 'insert, update');
CREATE STATISTICS app.tickets_stats (dependencies) ON mood, owner_id FROM app.tickets;
CREATE FUNCTION app.is_positive(int) RETURNS bool LANGUAGE sql IMMUTABLE AS 'SELECT $1 > 0';
CREATE TABLE "Weird Schema"."Orders ""2""" (
    id int PRIMARY KEY CHECK (app.is_positive(id)),
    parent bigint REFERENCES app.parents (id) DEFERRABLE,
    by_kind int REFERENCES "Weird Schema"."Orders ""2""" (id)
);
INSERT INTO "Weird Schema"."Orders ""2""" VALUES (1, 1, NULL), (2, NULL, 1);
CREATE VIEW "Weird Schema".parents_view AS SELECT p.id, o.id AS order_id FROM app.parents p JOIN "Weird Schema"."Orders ""2""" o ON o.parent = p.id;
CREATE UNLOGGED TABLE app.scratch (k text COLLATE "C", v int);
INSERT INTO app.parents (name) VALUES ('p1');
INSERT INTO app.tickets (code, owner_id) VALUES ('app.kitchen_sink', 1), ('x', NULL);
"#;

pub fn pg_dump_schema(server: &PgServer, db: &str) -> String {
    pg_dump_schema_with(server, db, &[])
}

/// [`pg_dump_schema`] with more pg_dump arguments (`-t` patterns).
pub fn pg_dump_schema_with(server: &PgServer, db: &str, extra: &[&str]) -> String {
    let out = Command::new(pg_bin().join("pg_dump"))
        .args(["--schema-only", "--no-owner", "-d", &server.url(db)])
        .args(extra)
        .output()
        .expect("running pg_dump");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| {
            !(l.starts_with("--")
                || l.is_empty()
                || l.starts_with("SET ")
                || l.starts_with("\\restrict")
                || l.starts_with("\\unrestrict"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn creates_the_schema_natively_as_pg_dump_sees_it() {
    let s = servers();
    let src = s.source.fresh_db("schema");
    let dst = s.target.fresh_db("schema");
    seed_source(&src, FIXTURE);
    seed_source(&src, FIXTURE_DATA);
    seed_source(&src, EXTRA);
    seed_source(&src, "REFRESH MATERIALIZED VIEW app.mood_counts");
    let run = copy_full(
        &src,
        &dst,
        &["--jobs", "3", "--no-owner", "--no-privileges"],
    );
    run.assert_code(0);
    assert_same_content(&src, &dst);
    let a = pg_dump_schema(&s.source, &src);
    let b = pg_dump_schema(&s.target, &dst);
    assert_same_text(&a, &b);
    // Sequences continue where the source's were.
    let mut t = s.target.client(&dst);
    let next: i64 = t
        .query_one("SELECT nextval('app.ticket_no')", &[])
        .unwrap()
        .get(0);
    assert_eq!(next, 1010);
    let n: i64 = t
        .query_one("SELECT sum(n)::int8 FROM app.mood_counts", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 3, "the materialized view was refreshed");
}

/// Equal texts, or a panic showing a unified diff.
#[track_caller]
pub fn assert_same_text(a: &str, b: &str) {
    if a == b {
        return;
    }
    let dir = temp_dir();
    let (pa, pb) = (dir.path().join("source.sql"), dir.path().join("target.sql"));
    std::fs::write(&pa, a).unwrap();
    std::fs::write(&pb, b).unwrap();
    let out = Command::new("diff")
        .arg("-u")
        .arg(&pa)
        .arg(&pb)
        .output()
        .unwrap();
    panic!("schemas differ:\n{}", String::from_utf8_lossy(&out.stdout));
}

/// app -> public on one database, public -> app on to another: the second
/// is the source again as pg_dump sees it, so the rename is exact both
/// ways; rows mentioning the schema arrive unchanged, and a function body
/// that mentions it is named in a warning.
#[test]
fn schema_map_round_trip_is_exact() {
    let s = servers();
    let src = s.source.fresh_db("maprt");
    let mid = s.target.fresh_db("maprt_mid");
    let back = s.target.fresh_db("maprt_back");
    seed_source(&src, FIXTURE);
    seed_source(&src, FIXTURE_DATA);
    seed_source(&src, EXTRA);
    let flags = ["--no-owner", "--no-privileges"];
    let run = copy_full(
        &src,
        &mid,
        &[
            &[
                "--schema-map",
                "app=public",
                "--schema-map",
                "Weird Schema=weird_new",
            ],
            &flags[..],
        ]
        .concat(),
    );
    run.assert_code(0);
    assert!(
        run.stderr.contains("function app.next_ticket()")
            && run.stderr.contains("--rewrite-function-bodies"),
        "{}",
        run.stderr
    );
    let mut t = s.target.client(&mid);
    let code: String = t
        .query_one("SELECT code FROM public.tickets ORDER BY id LIMIT 1", &[])
        .unwrap()
        .get(0);
    assert_eq!(code, "app.kitchen_sink", "row data is never renamed");
    t.batch_execute("SET search_path = ''").unwrap();
    let default: String = t
        .query_one(
            "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'public.kitchen_sink'::regclass AND adnum = 1",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(default.contains("public.kitchen_sink_id_seq"), "{default}");
    let run = run_cmd({
        let mut c = pgbarge_cmd();
        c.args([
            "copy",
            "--source",
            &s.target.url(&mid),
            "--target",
            &s.target.url(&back),
        ])
        .args([
            "--schema-map",
            "public=app",
            "--schema-map",
            "weird_new=Weird Schema",
        ])
        .args(flags);
        c
    });
    run.assert_code(0);
    assert_same_text(
        &pg_dump_schema(&s.source, &src),
        &pg_dump_schema(&s.target, &back),
    );
}

/// Objects that already exist on the target are listed and nothing is
/// written; a statement the target would refuse after the rows is found
/// before them; a failure only the rows cause keeps what the run made,
/// for --resume, and `pgbarge clean` removes it.
#[test]
fn refuses_conflicts_and_keeps_a_failed_run_for_resume_or_clean() {
    let s = servers();
    let src = s.source.fresh_db("conflict");
    let dst = s.target.fresh_db("conflict");
    seed_source(
        &src,
        "CREATE SCHEMA app; CREATE TYPE app.mood AS ENUM ('a'); \
         CREATE TABLE app.t (id int PRIMARY KEY, m app.mood); INSERT INTO app.t VALUES (1, 'a'); \
         CREATE SCHEMA util; \
         CREATE FUNCTION util.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; \
         CREATE TRIGGER t_touch BEFORE UPDATE ON app.t FOR EACH ROW EXECUTE FUNCTION util.touch();",
    );
    s.target
        .client(&dst)
        .batch_execute("CREATE SCHEMA app; CREATE TABLE app.t (x int);")
        .unwrap();
    let run = copy_full(&src, &dst, &["--schema", "app"]);
    run.assert_code(2);
    assert!(run.stderr.contains("table app.t"), "{}", run.stderr);
    let mut t = s.target.client(&dst);
    let types: i64 = t
        .query_one("SELECT count(*) FROM pg_type WHERE typname = 'mood'", &[])
        .unwrap()
        .get(0);
    assert_eq!(types, 0, "nothing was created");

    // The trigger's function lives in a schema that is not copied and the
    // target lacks it: refused before anything is written.
    t.batch_execute("DROP SCHEMA app CASCADE").unwrap();
    let args = ["--schema", "app", "--no-owner", "--no-privileges"];
    let run = copy_full(&src, &dst, &args);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("table app.t needs function util.touch(), which the selection leaves out"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--schema \"util\""), "{}", run.stderr);
    // The target has a util.touch() that is no trigger function: the
    // trigger would fail after the rows; it is found before any row
    // moves, and nothing is left.
    t.batch_execute(
        "CREATE SCHEMA util; CREATE FUNCTION util.touch() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    )
    .unwrap();
    let run = copy_full(&src, &dst, &args);
    run.assert_code(3);
    assert!(run.stderr.contains("trigger t_touch"), "{}", run.stderr);
    assert!(
        run.stderr.contains("found before any row moved"),
        "{}",
        run.stderr
    );
    let app_schemas = |t: &mut postgres::Client| -> i64 {
        t.query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'app'",
            &[],
        )
        .unwrap()
        .get(0)
    };
    assert_eq!(app_schemas(&mut t), 0, "nothing was created");

    // What only the rows can break still fails after them: an event
    // trigger on the target refuses a trigger on a table with rows (the
    // trial, on empty tables, passes). The run keeps what it made for
    // --resume, and `pgbarge clean` removes it.
    t.batch_execute(
        "DROP FUNCTION util.touch(); \
         CREATE FUNCTION util.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; \
         CREATE FUNCTION public.no_trigger_over_rows() RETURNS event_trigger LANGUAGE plpgsql AS $$ \
           BEGIN IF to_regclass('app.t') IS NOT NULL AND EXISTS (SELECT 1 FROM app.t) THEN \
             RAISE EXCEPTION 'no trigger over rows'; END IF; END $$; \
         CREATE EVENT TRIGGER no_trigger_over_rows ON ddl_command_end WHEN TAG IN ('CREATE TRIGGER') \
           EXECUTE FUNCTION public.no_trigger_over_rows();",
    )
    .unwrap();
    let run = copy_full(&src, &dst, &args);
    run.assert_code(3);
    assert!(
        run.stderr.contains("no trigger over rows"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--resume"), "{}", run.stderr);
    assert_eq!(app_schemas(&mut t), 1, "the run kept what it made");
    pgbarge(&["clean", "--target", &servers().target.url(&dst), "--yes"]).assert_code(0);
    assert_eq!(app_schemas(&mut t), 0, "the schema the run created is gone");
}

/// What the selection needs but does not copy (a function a default
/// calls, a table a view reads, in another schema) must exist on the
/// target: copy refuses before writing and says what and how; a dump
/// warns, and its restore checks the target the same way.
#[test]
fn objects_outside_the_selection_must_exist_on_the_target() {
    let s = servers();
    let src = s.source.fresh_db("outside");
    seed_source(
        &src,
        "CREATE SCHEMA util; \
         CREATE FUNCTION util.next_code() RETURNS text LANGUAGE sql AS $$ SELECT 'c1' $$; \
         CREATE TABLE util.lookup (id int PRIMARY KEY); INSERT INTO util.lookup VALUES (1); \
         CREATE SCHEMA app; \
         CREATE TABLE app.a (id int PRIMARY KEY, code text DEFAULT util.next_code(), l int); \
         CREATE VIEW app.v AS SELECT a.id FROM app.a JOIN util.lookup l ON l.id = a.l; \
         INSERT INTO app.a (id, l) VALUES (1, 1);",
    );
    let needs = [
        "table app.a needs function util.next_code(), which the selection leaves out",
        "view app.v needs table util.lookup, which the selection leaves out",
    ];
    let dst = s.target.fresh_db("outside");
    let run = copy_full(&src, &dst, &["--schema", "app"]);
    run.assert_code(2);
    for n in needs {
        assert!(run.stderr.contains(n), "{n}: {}", run.stderr);
    }
    assert!(run.stderr.contains("Nothing was written"), "{}", run.stderr);
    assert!(user_tables(&mut s.target.client(&dst)).is_empty());
    // The dry run lists the same as blockers.
    let run = copy_full(&src, &dst, &["--schema", "app", "--dry-run"]);
    run.assert_code(1);
    for n in needs {
        assert!(run.stdout.contains(n), "{n}: {}", run.stdout);
    }
    // Left out of a selected schema: the hint says so.
    let run = copy_full(
        &src,
        &dst,
        &[
            "--schema",
            "app",
            "--schema",
            "util",
            "--exclude-table",
            "util.lookup",
            "--dry-run",
        ],
    );
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("view app.v needs table util.lookup, which the selection leaves out and the target does not have: keep it in the selection"),
        "{}",
        run.stdout
    );

    // A dump of app warns; restoring it checks the target.
    let dir = temp_dir();
    let out = dir.path().join("d");
    let src_url = s.source.url(&src);
    let run = pgbarge(&[
        "dump",
        "--schema",
        "app",
        "--source",
        &src_url,
        "--output",
        out.to_str().unwrap(),
    ]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("it must exist where the dump is restored"),
        "{}",
        run.stderr
    );
    let dst_url = s.target.url(&dst);
    let restore = |extra: &[&str]| {
        let mut a = vec![
            "restore",
            "--input",
            out.to_str().unwrap(),
            "--target",
            &dst_url,
        ];
        a.extend_from_slice(extra);
        pgbarge(&a)
    };
    let run = restore(&[]);
    run.assert_code(2);
    assert!(run.stderr.contains(needs[0]), "{}", run.stderr);
    let run = restore(&["--dry-run"]);
    assert!(run.stdout.contains(needs[1]), "{}", run.stdout);

    // Once the target has them, both go through.
    s.target
        .client(&dst)
        .batch_execute(
            "CREATE SCHEMA util; \
             CREATE FUNCTION util.next_code() RETURNS text LANGUAGE sql AS $$ SELECT 'c2' $$; \
             CREATE TABLE util.lookup (id int PRIMARY KEY); INSERT INTO util.lookup VALUES (1);",
        )
        .unwrap();
    restore(&[]).assert_code(0);
    let other = s.target.fresh_db("outside");
    s.target
        .client(&other)
        .batch_execute(
            "CREATE SCHEMA util; \
             CREATE FUNCTION util.next_code() RETURNS text LANGUAGE sql AS $$ SELECT 'c2' $$; \
             CREATE TABLE util.lookup (id int PRIMARY KEY);",
        )
        .unwrap();
    copy_full(&src, &other, &["--schema", "app"]).assert_code(0);
    let code: String = s
        .target
        .client(&other)
        .query_one("INSERT INTO app.a (id) VALUES (2) RETURNING code", &[])
        .unwrap()
        .get(0);
    assert_eq!(code, "c2");
}

/// Owners and grants come along (and must name roles the target has);
/// --no-owner --no-privileges leave them out.
#[test]
fn owners_and_grants_are_reproduced() {
    let s = servers();
    let roles = "DO $$ BEGIN \
                   IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgb_owner') THEN CREATE ROLE pgb_owner; END IF; \
                   IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgb Reader') THEN CREATE ROLE \"pgb Reader\"; END IF; \
                 END $$;";
    let src = s.source.fresh_db("acl");
    let dst = s.target.fresh_db("acl");
    s.source.client("postgres").batch_execute(roles).unwrap();
    seed_source(
        &src,
        "CREATE SCHEMA app AUTHORIZATION pgb_owner; \
         CREATE TABLE app.t (id int PRIMARY KEY, secret text); ALTER TABLE app.t OWNER TO pgb_owner; \
         GRANT SELECT, INSERT ON app.t TO \"pgb Reader\" WITH GRANT OPTION; \
         CREATE FUNCTION app.f() RETURNS int LANGUAGE sql AS 'SELECT 1'; \
         REVOKE EXECUTE ON FUNCTION app.f() FROM PUBLIC; GRANT EXECUTE ON FUNCTION app.f() TO \"pgb Reader\"; \
         GRANT USAGE ON SCHEMA app TO \"pgb Reader\";",
    );
    let q = "SELECT (SELECT relowner::regrole::text || ' ' || relacl::text FROM pg_class WHERE oid = 'app.t'::regclass), \
                    (SELECT proowner::regrole::text || ' ' || proacl::text FROM pg_proc WHERE proname = 'f'), \
                    (SELECT nspowner::regrole::text || ' ' || nspacl::text FROM pg_namespace WHERE nspname = 'app')";
    let acls = |server: &PgServer, db: &str| -> Vec<String> {
        let r = server.client(db).query_one(q, &[]).unwrap();
        (0..3).map(|i| r.get::<_, String>(i)).collect()
    };
    // The target may lack the roles: refused up front, naming them.
    s.target
        .client("postgres")
        .batch_execute("DROP ROLE IF EXISTS \"pgb Reader\"")
        .ok();
    let run = copy_full(&src, &dst, &["--schema", "app"]);
    run.assert_code(2);
    assert!(run.stderr.contains("\"pgb Reader\""), "{}", run.stderr);
    assert!(run.stderr.contains("--no-owner"), "{}", run.stderr);

    s.target.client("postgres").batch_execute(roles).unwrap();
    copy_full(&src, &dst, &["--schema", "app"]).assert_code(0);
    assert_eq!(acls(&s.target, &dst), acls(&s.source, &src));

    let dst2 = s.target.fresh_db("acl2");
    copy_full(
        &src,
        &dst2,
        &["--schema", "app", "--no-owner", "--no-privileges"],
    )
    .assert_code(0);
    let owner: String = s
        .target
        .client(&dst2)
        .query_one("SELECT relowner::regrole::text || coalesce(relacl::text, '') FROM pg_class WHERE oid = 'app.t'::regclass", &[])
        .unwrap()
        .get(0);
    assert_eq!(owner, "postgres");
}

/// `--clean` replaces existing objects, after a confirmation: without a
/// terminal that is `--yes`.
#[test]
fn clean_replaces_existing_objects_when_confirmed() {
    let s = servers();
    let src = s.source.fresh_db("clean");
    let dst = s.target.fresh_db("clean");
    seed_source(
        &src,
        "CREATE SCHEMA app; CREATE TYPE app.kind AS ENUM ('x', 'y'); \
         CREATE TABLE app.t (id int PRIMARY KEY, k app.kind); INSERT INTO app.t VALUES (1, 'y');",
    );
    s.target
        .client(&dst)
        .batch_execute(
            "CREATE SCHEMA app; CREATE TYPE app.kind AS ENUM ('old'); \
             CREATE TABLE app.t (old_col app.kind); INSERT INTO app.t VALUES ('old');",
        )
        .unwrap();
    let flags = [
        "--schema",
        "app",
        "--no-owner",
        "--no-privileges",
        "--clean",
    ];
    let run = copy_full(&src, &dst, &flags);
    run.assert_code(2);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert!(run.stderr.contains("table app.t"), "{}", run.stderr);
    copy_full(&src, &dst, &[&flags[..], &["--yes"]].concat()).assert_code(0);
    assert_same_content(&src, &dst);
    let labels: String = s
        .target
        .client(&dst)
        .query_one(
            "SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(labels, "x,y");
}

/// A routine the target already has under the same argument types is
/// found whatever its arguments are called (the check once asked about
/// `f(a integer)`, which to_regprocedure cannot parse, and missed it), and
/// `--clean` replaces it.
#[test]
fn a_routine_with_named_arguments_already_there_is_found() {
    let s = servers();
    let src = s.source.fresh_db("named_args");
    let dst = s.target.fresh_db("named_args");
    seed_source(
        &src,
        "CREATE SCHEMA app; CREATE TABLE app.t (id int PRIMARY KEY); \
         CREATE FUNCTION app.add(a integer, VARIADIC b integer[]) RETURNS integer \
           LANGUAGE sql AS 'SELECT a + b[1]';",
    );
    s.target
        .client(&dst)
        .batch_execute(
            "CREATE SCHEMA app; CREATE FUNCTION app.add(x integer, VARIADIC y integer[]) \
             RETURNS integer LANGUAGE sql AS 'SELECT 0';",
        )
        .unwrap();
    let flags = ["--schema", "app", "--no-owner", "--no-privileges"];
    let run = copy_full(&src, &dst, &flags);
    run.assert_code(2);
    assert!(
        run.stderr.contains("function app.add(integer, integer[])"),
        "{}",
        run.stderr
    );
    copy_full(&src, &dst, &[&flags[..], &["--clean", "--yes"]].concat()).assert_code(0);
    let sum: i32 = s
        .target
        .client(&dst)
        .query_one("SELECT app.add(a => 1, VARIADIC b => ARRAY[2])", &[])
        .unwrap()
        .get(0);
    assert_eq!(sum, 3);
}

/// An extension the copied objects use comes along, in its schema.
#[test]
fn extensions_the_objects_use_are_created() {
    let s = servers();
    let src = s.source.fresh_db("ext");
    let dst = s.target.fresh_db("ext");
    seed_source(
        &src,
        "CREATE EXTENSION citext; CREATE SCHEMA app; \
         CREATE TABLE app.users (email public.citext PRIMARY KEY); \
         INSERT INTO app.users VALUES ('A@x.org');",
    );
    let run = copy_full(
        &src,
        &dst,
        &["--schema", "app", "--no-owner", "--no-privileges"],
    );
    run.assert_code(0);
    let found: bool = s
        .target
        .client(&dst)
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM app.users WHERE email = 'a@X.ORG')",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(
        found,
        "citext compares case-insensitively on the target too"
    );
}

/// A text search configuration that maps words through an extension's
/// dictionary, and a dictionary made from an extension's template, bring
/// the extension along: it was left out when its schema was not copied,
/// and the copy stopped at the configuration.
#[test]
fn extensions_text_search_objects_use_are_created() {
    let s = servers();
    let src = s.source.fresh_db("tsext");
    let dst = s.target.fresh_db("tsext");
    seed_source(
        &src,
        "CREATE EXTENSION unaccent; CREATE SCHEMA app; \
         CREATE TEXT SEARCH CONFIGURATION app.fr (COPY = french); \
         ALTER TEXT SEARCH CONFIGURATION app.fr ALTER MAPPING FOR hword, hword_part, word \
           WITH public.unaccent, french_stem; \
         CREATE TEXT SEARCH DICTIONARY app.plain (TEMPLATE = public.unaccent, RULES = 'unaccent'); \
         CREATE TABLE app.notes (id int PRIMARY KEY, body text); \
         INSERT INTO app.notes VALUES (1, 'Élan café');",
    );
    let run = copy_full(
        &src,
        &dst,
        &["--schema", "app", "--no-owner", "--no-privileges"],
    );
    run.assert_code(0);
    let sql = "SELECT to_tsvector('app.fr', body)::text || ts_lexize('app.plain', 'Élan')::text \
               FROM app.notes";
    let want: String = s.source.client(&src).query_one(sql, &[]).unwrap().get(0);
    let got: String = s.target.client(&dst).query_one(sql, &[]).unwrap().get(0);
    assert_eq!(got, want);
    assert!(want.contains("elan"), "{want}");
}

/// Objects once named "not reproduced" (a collation, an operator) now
/// come along, and the report lists the sequences it set.
#[test]
fn objects_not_reproduced_are_named() {
    let s = servers();
    let src = s.source.fresh_db("notrepro");
    let dst = s.target.fresh_db("notrepro");
    seed_source(
        &src,
        "CREATE SCHEMA app; CREATE TABLE app.t (a int, b text); \
         CREATE COLLATION app.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false); \
         CREATE FUNCTION app.eq(int, int) RETURNS bool LANGUAGE sql AS 'SELECT $1 = $2'; \
         CREATE OPERATOR app.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = app.eq); \
         CREATE AGGREGATE app.total(int) (SFUNC = int4pl, STYPE = int); \
         CREATE TABLE app.s (id serial); INSERT INTO app.s DEFAULT VALUES;",
    );
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    let run = copy_full(
        &src,
        &dst,
        &[
            "--schema",
            "app",
            "--no-owner",
            "--no-privileges",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    run.assert_code(0);
    // Operators are recreated now too.
    let ops: i64 = servers()
        .target
        .client(&dst)
        .query_one(
            "SELECT count(*) FROM pg_operator WHERE oprname = '==='",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(ops, 1, "operator app.=== was not recreated");
    // Collations are recreated now, as the source has them.
    let ci: Option<bool> = servers()
        .target
        .client(&dst)
        .query_opt(
            "SELECT collisdeterministic FROM pg_collation WHERE collname = 'ci'",
            &[],
        )
        .unwrap()
        .map(|r| r.get(0));
    assert_eq!(ci, Some(false), "collation app.ci was not recreated");
    let r = read_report(&report);
    // The sequences set are listed, as many as the schema section counts.
    let seqs = r["sequences"].as_array().unwrap();
    assert_eq!(
        seqs.len() as u64,
        r["schema"]["sequences_set"].as_u64().unwrap(),
        "{r}"
    );
    assert!(
        seqs.iter()
            .any(|q| q["target"] == "app.s_id_seq" && q["last_value"] == 1),
        "{r}"
    );
    assert!(
        r["schema"]["statements_before_rows"].as_u64().unwrap() >= 2,
        "{r}"
    );
}

/// `--preset supabase`: managed schemas stay behind, no owners or grants,
/// extensions go to `extensions` with every reference to their objects
/// following them, and TLS is required.
#[test]
fn supabase_preset() {
    let s = servers();
    let src = s.source.fresh_db("supa");
    let dst = s.target.fresh_db("supa");
    seed_source(
        &src,
        "CREATE EXTENSION \"uuid-ossp\"; CREATE EXTENSION citext; \
         CREATE SCHEMA auth; CREATE TABLE auth.users (id int); \
         CREATE SCHEMA local_app; \
         CREATE TABLE local_app.people (id uuid PRIMARY KEY DEFAULT public.uuid_generate_v4(), \
                                        email public.citext NOT NULL); \
         INSERT INTO local_app.people (email) VALUES ('A@b.c'), ('d@E.f');",
    );
    let tls_target = format!(
        "postgres://postgres@127.0.0.1:{}/{dst}?sslmode=prefer",
        s.target.port
    );
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["copy", "--preset", "supabase", "--source"]
            .iter()
            .map(|x| x.to_string())
            .collect();
        v.push(s.source.url(&src));
        v.push("--target".into());
        v.extend(extra.iter().map(|x| x.to_string()));
        v.extend(["--schema-map".to_string(), "local_app=public".to_string()]);
        v
    };
    // TLS is required.
    let plain: Vec<String> = args(&[&s.target.url(&dst)]);
    let run = pgbarge(&plain.iter().map(String::as_str).collect::<Vec<_>>());
    run.assert_code(2);
    assert!(run.stderr.contains("TLS"), "{}", run.stderr);

    let ok: Vec<String> = args(&[&tls_target, "--verify"]);
    let run = pgbarge(&ok.iter().map(String::as_str).collect::<Vec<_>>());
    run.assert_code(0);
    assert!(run.stdout.contains("1 table matches"), "{}", run.stdout);
    assert!(run.stderr.contains("TLS"), "{}", run.stderr);
    let mut t = s.target.client(&dst);
    t.batch_execute("SET search_path = ''").unwrap();
    let row = t
        .query_one(
            "SELECT pg_get_expr(d.adbin, d.adrelid), format_type(a.atttypid, a.atttypmod), \
                    (SELECT count(*) FROM pg_namespace WHERE nspname = 'auth'), \
                    (SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'citext') \
               FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = 1 \
              WHERE a.attrelid = 'public.people'::regclass AND a.attname = 'email'",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "extensions.uuid_generate_v4()");
    assert_eq!(row.get::<_, String>(1), "extensions.citext");
    assert_eq!(row.get::<_, i64>(2), 0, "auth is managed by the platform");
    assert_eq!(row.get::<_, String>(3), "extensions");
    t.batch_execute("SET search_path = public, extensions")
        .unwrap();
    let n: i64 = t
        .query_one(
            "SELECT count(*) FROM public.people WHERE email = 'a@B.C'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

/// `--schema-only` creates objects without rows (sequences still carry
/// over); `--rewrite-function-bodies` renames inside bodies and says so.
#[test]
fn schema_only_and_rewritten_function_bodies() {
    let s = servers();
    let src = s.source.fresh_db("schemaonly");
    let dst = s.target.fresh_db("schemaonly");
    seed_source(
        &src,
        "CREATE SCHEMA app; CREATE TABLE app.t (id serial PRIMARY KEY, v text); \
         INSERT INTO app.t (v) SELECT 'v' || g FROM generate_series(1, 10) g; \
         CREATE FUNCTION app.n() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM app.t $$;",
    );
    let run = copy_full(
        &src,
        &dst,
        &[
            "--schema-only",
            "--schema-map",
            "app=moved",
            "--rewrite-function-bodies",
            "--no-owner",
            "--no-privileges",
        ],
    );
    run.assert_code(0);
    assert!(
        run.stderr.contains("function app.n(): body rewritten"),
        "{}",
        run.stderr
    );
    let mut t = s.target.client(&dst);
    let rows: i64 = t.query_one("SELECT moved.n()", &[]).unwrap().get(0);
    assert_eq!(
        rows, 0,
        "no rows with --schema-only, and the body points at moved.t"
    );
    let next: i32 = t
        .query_one("SELECT nextval('moved.t_id_seq')::int", &[])
        .unwrap()
        .get(0);
    assert_eq!(next, 11, "the sequence continues where the source's was");
}
