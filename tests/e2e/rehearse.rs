//! `copy --rehearse`: a full copy into a scratch database on the target
//! server, verified and dropped; the target is left as it was, also when
//! the rehearsal fails.

use crate::support::*;

fn scratch_databases() -> i64 {
    servers()
        .target
        .client("postgres")
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgbarge\\_rehearsal\\_%'",
            &[],
        )
        .unwrap()
        .get(0)
}

#[test]
fn rehearsal_copies_verifies_and_leaves_nothing_behind() {
    let s = servers();
    let src = s.source.fresh_db("rehearse");
    let dst = s.target.fresh_db("rehearse");
    seed_source(
        &src,
        "CREATE SCHEMA app; CREATE TABLE app.t (id serial PRIMARY KEY, v text); \
         INSERT INTO app.t (v) SELECT md5(g::text) FROM generate_series(1, 500) g; \
         CREATE SCHEMA util; \
         CREATE FUNCTION util.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;",
    );
    let flags = [
        "--schema",
        "app",
        "--schema-map",
        "app=public",
        "--no-owner",
        "--no-privileges",
    ];
    let run = copy_full(&src, &dst, &[&flags[..], &["--rehearse"]].concat());
    run.assert_code(0);
    assert!(run.stderr.contains("rehearsal passed"), "{}", run.stderr);
    assert!(
        run.stdout.contains("1 table matches (rows and checksums)"),
        "{}",
        run.stdout
    );
    let untouched: i64 = s
        .target
        .client(&dst)
        .query_one("SELECT count(*) FROM pg_class WHERE relname = 't'", &[])
        .unwrap()
        .get(0);
    assert_eq!(untouched, 0, "the real target was not written");
    assert_eq!(scratch_databases(), 0);

    // A rehearsal that fails (a trigger whose function is not copied, so
    // the copy into the scratch database refuses) still drops it.
    seed_source(
        &src,
        "CREATE TRIGGER t_touch BEFORE UPDATE ON app.t FOR EACH ROW EXECUTE FUNCTION util.touch();",
    );
    let run = copy_full(&src, &dst, &[&flags[..], &["--rehearse"]].concat());
    run.assert_code(2);
    assert!(run.stderr.contains("rehearsal failed"), "{}", run.stderr);
    assert!(
        run.stderr.contains("function util.touch()"),
        "{}",
        run.stderr
    );
    assert_eq!(scratch_databases(), 0);

    // A role that may not create databases is told so, before anything.
    s.target
        .client("postgres")
        .batch_execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgb_nocreatedb') \
             THEN CREATE ROLE pgb_nocreatedb LOGIN; END IF; END $$;",
        )
        .unwrap();
    let target = format!(
        "postgres://pgb_nocreatedb@127.0.0.1:{}/{dst}?sslmode=disable",
        s.target.port
    );
    let run = pgbarge(
        &[
            &[
                "copy",
                "--rehearse",
                "--source",
                &s.source.url(&src),
                "--target",
                &target,
            ][..],
            &flags[..],
        ]
        .concat(),
    );
    run.assert_code(2);
    assert!(run.stderr.contains("CREATEDB"), "{}", run.stderr);
}
