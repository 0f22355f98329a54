//! `dump`, `restore` and `verify --input`: round trips through both
//! formats and every compression, a schema map on restore, psql restoring
//! the SQL format, and damaged, foreign and newer archives.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use crate::schema::{assert_same_text, pg_dump_schema, EXTRA, FIXTURE, FIXTURE_DATA};
use crate::support::*;

/// The fixture database every test here dumps (made once).
fn source_db() -> &'static str {
    static DB: OnceLock<String> = OnceLock::new();
    DB.get_or_init(|| {
        let db = servers().source.fresh_db("dumpsrc");
        seed_source(&db, FIXTURE);
        seed_source(&db, FIXTURE_DATA);
        seed_source(&db, EXTRA);
        seed_source(&db, "REFRESH MATERIALIZED VIEW app.mood_counts");
        db
    })
}

fn dump(out: &Path, extra: &[&str]) -> Run {
    let src = servers().source.url(source_db());
    let mut args = vec!["dump", "--source", &src, "--output", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    pgbarge(&args)
}

fn restore(input: &Path, dst_db: &str, extra: &[&str]) -> Run {
    let dst = servers().target.url(dst_db);
    let mut args = vec![
        "restore",
        "--input",
        input.to_str().unwrap(),
        "--target",
        &dst,
        "--no-owner",
        "--no-privileges",
    ];
    args.extend_from_slice(extra);
    pgbarge(&args)
}

fn check(input: &Path) -> Run {
    pgbarge(&["verify", "--input", input.to_str().unwrap()])
}

#[track_caller]
fn assert_restored_exactly(dst: &str) {
    let s = servers();
    assert_same_content(source_db(), dst);
    assert_same_text(
        &pg_dump_schema(&s.source, source_db()),
        &pg_dump_schema(&s.target, dst),
    );
    let next: i64 = s
        .target
        .client(dst)
        .query_one("SELECT nextval('app.ticket_no')", &[])
        .unwrap()
        .get(0);
    assert_eq!(next, 1010, "sequences continue where the source's were");
}

#[test]
fn round_trips_through_every_format_and_compression() {
    let dir = temp_dir();
    for (name, extra) in [
        ("dir-gzip", &["--compress", "gzip:1"][..]),
        ("dir-zstd", &["--compress", "zstd:3"][..]),
        ("dir-none", &["--compress", "none", "--jobs", "1"][..]),
        ("app.sql.gz", &[][..]),
        ("app.sql.zst", &[][..]),
        ("app.sql", &["--format", "sql"][..]),
    ] {
        let out = dir.path().join(name);
        dump(&out, extra).assert_code(0);
        let run = check(&out);
        run.assert_code(0);
        assert!(run.stdout.contains("is intact"), "{name}: {}", run.stdout);
        let dst = servers().target.fresh_db("rt");
        restore(&out, &dst, &["--jobs", "3"]).assert_code(0);
        assert_restored_exactly(&dst);
    }
    // Files only their owner may read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in [
            "dir-gzip/manifest.json",
            "dir-gzip/data/00001.copy.gz",
            "app.sql.gz",
        ] {
            let mode = std::fs::metadata(dir.path().join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{f} is readable by others: {mode:o}");
        }
    }
}

/// Dump, restore under a map, dump that, restore under the reverse map:
/// the result is the source again, as pg_dump sees it.
#[test]
fn restore_renames_schemas_exactly() {
    let s = servers();
    let dir = temp_dir();
    let first = dir.path().join("first");
    dump(&first, &[]).assert_code(0);
    let mid = s.target.fresh_db("rmap_mid");
    let run = restore(
        &first,
        &mid,
        &[
            "--schema-map",
            "app=app_copy",
            "--schema-map",
            "Weird Schema=weird2",
        ],
    );
    run.assert_code(0);
    assert!(
        run.stderr.contains("function app.next_ticket()") && run.stderr.contains("mapped"),
        "a body mentioning the old schema is named: {}",
        run.stderr
    );
    let code: String = s
        .target
        .client(&mid)
        .query_one("SELECT code FROM app_copy.tickets ORDER BY id LIMIT 1", &[])
        .unwrap()
        .get(0);
    assert_eq!(code, "app.kitchen_sink", "row data is never renamed");
    let second = dir.path().join("second");
    pgbarge(&[
        "dump",
        "--source",
        &s.target.url(&mid),
        "--output",
        second.to_str().unwrap(),
    ])
    .assert_code(0);
    let back = s.target.fresh_db("rmap_back");
    restore(
        &second,
        &back,
        &[
            "--schema-map",
            "app_copy=app",
            "--schema-map",
            "weird2=Weird Schema",
        ],
    )
    .assert_code(0);
    assert_restored_exactly(&back);
}

#[test]
fn psql_restores_the_sql_format() {
    let s = servers();
    let dir = temp_dir();
    let out = dir.path().join("app.sql.gz");
    dump(&out, &[]).assert_code(0);
    let dst = s.target.fresh_db("viapsql");
    psql_restore_script(&out, &s.target, &dst);
    assert_restored_exactly(&dst);
}

/// Large objects were refused in dumps ("--leave-out large-object"): a
/// dump now holds them (with owner, grants and comment; an empty one;
/// one of several chunks); pgbarge restores both formats and psql the
/// script, each target then holding exactly the source's large objects;
/// `verify --input --target` names one the target lost; a restore of
/// chosen tables brings none; a damaged stream of them is named by
/// `verify --input`, and a restore refuses it and leaves nothing.
#[test]
fn large_objects_travel_in_dumps() {
    ensure_role("lo_owner");
    ensure_role("lo_reader");
    let s = servers();
    let src = s.source.fresh_db("lodump");
    seed_source(
        &src,
        "CREATE SCHEMA app; CREATE TABLE app.docs (id int PRIMARY KEY, body oid); \
         SELECT lo_from_bytea(91001, 'hello'::bytea); \
         SELECT lo_from_bytea(91002, convert_to(repeat('0123456789', 300000), 'UTF8')); \
         SELECT lo_create(91003); \
         INSERT INTO app.docs VALUES (1, 91001), (2, 91002); \
         ALTER LARGE OBJECT 91002 OWNER TO lo_owner; \
         GRANT SELECT ON LARGE OBJECT 91002 TO lo_reader; \
         COMMENT ON LARGE OBJECT 91001 IS 'greeting';",
    );
    let want = large_object_facts(&mut s.source.client(&src));
    assert_eq!(want.len(), 3);
    let from = s.source.url(&src);
    let dir = temp_dir();
    let at = |name: &str| dir.path().join(name);
    for name in ["d", "lo.sql.gz"] {
        let run = pgbarge(&[
            "dump",
            "--source",
            &from,
            "--output",
            at(name).to_str().unwrap(),
        ]);
        run.assert_code(0);
        assert!(
            run.stderr.contains("dumped 3 large objects"),
            "{}",
            run.stderr
        );
        check(&at(name)).assert_code(0);
        let dst = s.target.fresh_db("lorestore");
        let to = s.target.url(&dst);
        pgbarge(&[
            "restore",
            "--input",
            at(name).to_str().unwrap(),
            "--target",
            &to,
        ])
        .assert_code(0);
        assert_eq!(
            large_object_facts(&mut s.target.client(&dst)),
            want,
            "{name}"
        );
        pgbarge(&[
            "verify",
            "--input",
            at(name).to_str().unwrap(),
            "--target",
            &to,
        ])
        .assert_code(0);
    }
    // psql restores the script, large objects too.
    let dst = s.target.fresh_db("lopsql");
    psql_restore_script(&at("lo.sql.gz"), &s.target, &dst);
    assert_eq!(large_object_facts(&mut s.target.client(&dst)), want);
    // verify names one the target lost.
    s.target
        .client(&dst)
        .batch_execute("SELECT lo_unlink(91003)")
        .unwrap();
    let to = s.target.url(&dst);
    let run = pgbarge(&[
        "verify",
        "--input",
        at("d").to_str().unwrap(),
        "--target",
        &to,
    ]);
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("large object 91003 is missing on the target"),
        "{}",
        run.all()
    );
    // Chosen tables come without them.
    let dst = s.target.fresh_db("lotable");
    let to = s.target.url(&dst);
    pgbarge(&[
        "restore",
        "--input",
        at("d").to_str().unwrap(),
        "--target",
        &to,
        "--table",
        "app.docs",
    ])
    .assert_code(0);
    assert!(large_object_facts(&mut s.target.client(&dst)).is_empty());
    assert_eq!(user_tables(&mut s.target.client(&dst)), ["app.docs"]);
    // A damaged stream of them.
    let bad = at("bad");
    copy_dir(&at("d"), &bad);
    corrupt(&bad.join("data/large-objects.copy.gz"));
    let run = check(&bad);
    run.assert_code(1);
    assert!(
        run.stdout.contains("(large objects)") && run.stdout.contains("damaged"),
        "{}",
        run.all()
    );
    let dst = s.target.fresh_db("lodamaged");
    let run = pgbarge(&[
        "restore",
        "--input",
        bad.to_str().unwrap(),
        "--target",
        &s.target.url(&dst),
    ]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("damaged"), "{}", run.stderr);
    assert!(user_tables(&mut s.target.client(&dst)).is_empty());
    assert!(large_object_facts(&mut s.target.client(&dst)).is_empty());
}

/// Flip one byte in the middle of a file.
fn corrupt(path: &Path) {
    let mut data = std::fs::read(path).unwrap();
    let i = data.len() / 2;
    data[i] ^= 0x55;
    std::fs::write(path, data).unwrap();
}

fn truncate(path: &Path) {
    let data = std::fs::read(path).unwrap();
    std::fs::write(path, &data[..data.len() * 2 / 3]).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// The biggest data file of a directory dump.
fn biggest_file(dump: &Path) -> String {
    let mut files: Vec<(u64, String)> = std::fs::read_dir(dump.join("data"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.metadata().unwrap().len(),
                format!("data/{}", e.file_name().to_string_lossy()),
            )
        })
        .collect();
    files.sort();
    files.pop().unwrap().1
}

#[test]
fn damaged_archives_are_found_and_named() {
    let s = servers();
    let dir = temp_dir();
    let good = dir.path().join("good");
    dump(&good, &["--exclude-table-data", "app.scratch"]).assert_code(0);
    let file = biggest_file(&good);

    for (name, damage) in [("truncated", truncate as fn(&Path)), ("flipped", corrupt)] {
        let bad = dir.path().join(name);
        copy_dir(&good, &bad);
        damage(&bad.join(&file));
        let run = check(&bad);
        run.assert_code(1);
        assert!(
            run.stdout.contains(&file) && run.stdout.contains("damaged"),
            "{}",
            run.all()
        );
        // A restore refuses the damaged table and leaves nothing behind.
        let dst = s.target.fresh_db("damaged");
        let run = restore(&bad, &dst, &[]);
        run.assert_code(3);
        assert!(run.stderr.contains(&file), "{}", run.stderr);
        assert!(
            user_tables(&mut s.target.client(&dst)).is_empty(),
            "a failed restore drops what it created"
        );
    }

    // A file the dump did not write.
    let extra = dir.path().join("extra");
    copy_dir(&good, &extra);
    std::fs::write(extra.join("data/stray.txt"), "hello").unwrap();
    let run = check(&extra);
    run.assert_code(1);
    assert!(run.stdout.contains("data/stray.txt"), "{}", run.stdout);

    // A damaged schema file.
    let schema = dir.path().join("schema");
    copy_dir(&good, &schema);
    corrupt(&schema.join("post-data.sql"));
    check(&schema).assert_code(1);

    // A truncated SQL script.
    let sql = dir.path().join("app.sql.zst");
    dump(&sql, &[]).assert_code(0);
    truncate(&sql);
    let run = check(&sql);
    run.assert_code(1);
    assert!(run.all().contains("damaged"), "{}", run.all());
}

#[test]
fn foreign_and_newer_archives_are_refused_clearly() {
    let dir = temp_dir();
    let text = dir.path().join("notes.sql");
    std::fs::write(&text, "SELECT 1;\n").unwrap();
    let run = check(&text);
    run.assert_code(2);
    assert!(run.stderr.contains("not a pgbarge dump"), "{}", run.stderr);
    let gz = dir.path().join("notes.sql.gz");
    std::fs::write(&gz, "plain text, not gzip").unwrap();
    let run = check(&gz);
    run.assert_code(2);
    assert!(run.stderr.contains("not a pgbarge dump"), "{}", run.stderr);
    let empty_dir = dir.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    let run = check(&empty_dir);
    run.assert_code(2);
    assert!(run.stderr.contains("manifest.json"), "{}", run.stderr);

    let newer = dir.path().join("newer");
    dump(&newer, &[]).assert_code(0);
    let m = newer.join("manifest.json");
    let text = std::fs::read_to_string(&m).unwrap();
    std::fs::write(
        &m,
        text.replace("\"format_version\": 2", "\"format_version\": 7"),
    )
    .unwrap();
    let run = check(&newer);
    run.assert_code(2);
    assert!(run.stderr.contains("newer pgbarge"), "{}", run.stderr);
    let dst = servers().target.fresh_db("newer");
    let run = restore(&newer, &dst, &[]);
    run.assert_code(2);
    assert!(run.stderr.contains("newer pgbarge"), "{}", run.stderr);
}

#[test]
fn outputs_are_never_overwritten_or_left_half_written() {
    let dir = temp_dir();
    let out = dir.path().join("d");
    dump(&out, &["--table", "app.parents"]).assert_code(0);
    let run = dump(&out, &["--table", "app.parents"]);
    run.assert_code(2);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    dump(&out, &["--table", "app.parents", "--force"]).assert_code(0);
    check(&out).assert_code(0);

    // --force replaces dumps only.
    let other = dir.path().join("mine");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("precious.txt"), "keep").unwrap();
    let run = dump(&other, &["--force"]);
    run.assert_code(2);
    assert!(other.join("precious.txt").exists());

    // An unwritable place: exit 3, nothing left behind.
    let missing = dir.path().join("no/such/dir/d");
    let run = dump(&missing, &[]);
    run.assert_code(3);
    assert!(run.stderr.contains("no/such/dir"), "{}", run.stderr);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.iter().all(|n| !n.contains("partial")),
        "no working copy left: {left:?}"
    );

    // A suffix that contradicts the compression.
    let run = dump(&dir.path().join("x.sql.gz"), &["--compress", "zstd"]);
    run.assert_code(2);
    assert!(run.stderr.contains(".sql.zst"), "{}", run.stderr);
}

#[test]
fn restore_refuses_conflicts_cleans_on_request_and_dry_runs_without_writing() {
    let s = servers();
    let dir = temp_dir();
    let out = dir.path().join("d.sql.gz");
    dump(&out, &[]).assert_code(0);
    let dst = s.target.fresh_db("rconf");

    let run = restore(&out, &dst, &["--dry-run"]);
    run.assert_code(0);
    assert!(run.stdout.contains("app.tickets") && run.stdout.contains("nothing was written"));
    assert!(user_tables(&mut s.target.client(&dst)).is_empty());

    restore(&out, &dst, &[]).assert_code(0);
    let run = restore(&out, &dst, &[]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("already exist") && run.stderr.contains("app.tickets"),
        "{}",
        run.stderr
    );
    let run = restore(&out, &dst, &["--dry-run"]);
    run.assert_code(1);
    assert!(run.stdout.contains("blocker"), "{}", run.stdout);

    s.target
        .client(&dst)
        .batch_execute("INSERT INTO app.parents (name) VALUES ('added on the target')")
        .unwrap();
    restore(&out, &dst, &["--clean", "--yes"]).assert_code(0);
    assert_restored_exactly(&dst);
}

/// `dump --no-snapshot`, `restore --exclude-table-data` and `--report`.
#[test]
fn restore_can_leave_rows_out_and_writes_a_report() {
    let s = servers();
    let dir = temp_dir();
    let out = dir.path().join("d");
    let dump_report = dir.path().join("dump.json");
    let run = dump(
        &out,
        &["--no-snapshot", "--report", dump_report.to_str().unwrap()],
    );
    run.assert_code(0);
    let r = read_report(&dump_report);
    assert_eq!(
        (r["command"].as_str(), r["ok"].as_bool()),
        (Some("dump"), Some(true))
    );
    let tickets = r["manifest"]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"]["name"] == "tickets")
        .unwrap();
    assert_eq!(tickets["rows"], 2, "{tickets}");
    assert!(r["size"].as_u64().unwrap() > 0);
    let dst = s.target.fresh_db("rexcl");
    let report = dir.path().join("restore.json");
    restore(
        &out,
        &dst,
        &[
            "--exclude-table-data",
            "app.tickets",
            "--report",
            report.to_str().unwrap(),
        ],
    )
    .assert_code(0);
    let n: i64 = s
        .target
        .client(&dst)
        .query_one("SELECT count(*) FROM app.tickets", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "the table is there, without its rows");
    let r = read_report(&report);
    assert_eq!(r["command"], "restore");
    assert_eq!(report_table(&r, "app.tickets")["status"], "data-excluded");
    assert_eq!(report_table(&r, "app.parents")["status"], "ok");
}

/// A table of a few MiB with awkward values, one whose type has no
/// portable binary form, and a foreign key between them.
const PARTS_SQL: &str = r#"
CREATE SCHEMA "Big";
CREATE TYPE "Big".mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE "Big"."Wide" (
    id bigint PRIMARY KEY,
    n numeric,
    t timestamptz,
    j jsonb,
    b bytea,
    m "Big".mood,
    note text
);
INSERT INTO "Big"."Wide"
SELECT g,
       CASE WHEN g % 100 = 0 THEN 'NaN' ELSE g / 7.0 END,
       CASE WHEN g % 1000 = 0 THEN 'infinity' ELSE timestamptz '2024-01-01' + g * interval '1 s' END,
       jsonb_build_object('g', g, 's', md5(g::text), 'text', 'Big.Wide ' || g),
       decode(md5(g::text), 'hex'),
       (ARRAY['sad', 'ok', 'happy']::"Big".mood[])[1 + g % 3],
       repeat(md5(g::text), 3) || E'\ttab\nnewline \\ backslash'
  FROM generate_series(1, 30000) g;
CREATE TABLE "Big".moods (id int PRIMARY KEY, wide_id bigint REFERENCES "Big"."Wide" (id), ms "Big".mood[]);
INSERT INTO "Big".moods SELECT g, g, ARRAY['ok', 'sad']::"Big".mood[] FROM generate_series(1, 100) g;
"#;

fn manifest(dump: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dump.join("manifest.json")).unwrap()).unwrap()
}

fn table_entry(m: &serde_json::Value, name: &str) -> serde_json::Value {
    m["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"]["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in the manifest"))
        .clone()
}

/// Big tables go into several files that restore loads side by side;
/// rows are binary where every column's type allows it portably and
/// text elsewhere; a damaged part is named; an archive of format 1 (all
/// text, before per-table formats) still restores.
#[test]
fn big_tables_split_into_parts_with_formats_per_table() {
    let s = servers();
    let src = s.source.fresh_db("parts");
    seed_source(&src, PARTS_SQL);
    let src_url = s.source.url(&src);
    let dir = temp_dir();
    let dumped = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec![
            "dump",
            "--source",
            &src_url,
            "--schema",
            "Big",
            "--output",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        pgbarge(&args).assert_code(0);
        out
    };

    for (name, extra, wide_format) in [
        ("auto", &["--part-size", "1"][..], "binary"),
        (
            "text",
            &["--part-size", "1", "--data-format", "text"][..],
            "text",
        ),
    ] {
        let out = dumped(name, extra);
        let m = manifest(&out);
        let wide = table_entry(&m, "Wide");
        assert_eq!(wide["format"], wide_format, "{name}: {wide}");
        let parts = wide["parts"].as_array().unwrap();
        assert!(parts.len() >= 3, "{name}: {} parts", parts.len());
        let rows: u64 = parts.iter().map(|p| p["rows"].as_u64().unwrap()).sum();
        assert_eq!(rows, 30000);
        // Arrays of a user type carry server-local OIDs in binary.
        assert_eq!(table_entry(&m, "moods")["format"], "text");
        check(&out).assert_code(0);
        // Parts side by side, or one after another with FREEZE.
        let how = if name == "auto" { "parallel" } else { "serial" };
        let dst = s.target.fresh_db("parts");
        let run = restore(&out, &dst, &["--jobs", "3", "--part-loads", how]);
        run.assert_code(0);
        assert_eq!(
            run.stderr.contains("part 2 of"),
            how == "parallel",
            "{}",
            run.stderr
        );
        assert_same_content(&src, &dst);
        assert_same_text(
            &pg_dump_schema(&s.source, &src),
            &pg_dump_schema(&s.target, &dst),
        );
    }

    // A damaged part is named by verify and fails the restore, which
    // then leaves nothing behind.
    let good = dir.path().join("auto");
    let part = table_entry(&manifest(&good), "Wide")["parts"][2]["file"]
        .as_str()
        .unwrap()
        .to_string();
    let bad = dir.path().join("bad");
    copy_dir(&good, &bad);
    corrupt(&bad.join(&part));
    let run = check(&bad);
    run.assert_code(1);
    assert!(run.stdout.contains(&part), "{}", run.all());
    for how in ["parallel", "serial"] {
        let dst = s.target.fresh_db("parts_bad");
        let run = restore(&bad, &dst, &["--jobs", "2", "--part-loads", how]);
        run.assert_code(3);
        assert!(run.stderr.contains(&part), "{how}: {}", run.stderr);
        assert!(user_tables(&mut s.target.client(&dst)).is_empty());
    }

    // Format 1: no parts, no per-table format, COPY text.
    let old = dumped("v1", &["--data-format", "text"]);
    let text = std::fs::read_to_string(old.join("manifest.json")).unwrap();
    assert!(!text.contains("\"parts\""));
    let text = text
        .replace("\"format_version\": 2", "\"format_version\": 1")
        .replace("\"format\": \"text\",", "");
    std::fs::write(old.join("manifest.json"), text).unwrap();
    check(&old).assert_code(0);
    let dst = s.target.fresh_db("parts_v1");
    restore(&old, &dst, &[]).assert_code(0);
    assert_same_content(&src, &dst);
}

/// `verify --input DUMP --target URL`: a restore matches its dump (both
/// formats, under a schema map, rows read back in the dump's format), and
/// each kind of damage to the restored target is named, exit 1.
#[test]
fn verify_checks_a_target_against_its_dump() {
    let s = servers();
    let dir = temp_dir();
    let maps = [
        "--schema-map",
        "app=app_copy",
        "--schema-map",
        "Weird Schema=weird2",
    ];
    let verify = |input: &Path, db: &str| {
        let mut args = vec![
            "verify",
            "--input",
            input.to_str().unwrap(),
            "--checksums",
            "--target",
        ];
        let url = s.target.url(db);
        args.push(&url);
        args.extend_from_slice(&maps);
        pgbarge(&args)
    };
    let archive = dir.path().join("d");
    dump(&archive, &["--part-size", "1"]).assert_code(0);
    let script = dir.path().join("d.sql.gz");
    dump(&script, &["--format", "sql"]).assert_code(0);
    for (input, hint) in [(&archive, "vin_dir"), (&script, "vin_sql")] {
        let db = s.target.fresh_db(hint);
        restore(input, &db, &maps).assert_code(0);
        let run = verify(input, &db);
        run.assert_code(0);
        assert!(
            run.stdout.contains("dump rows")
                && run.stdout.contains("tables match (rows and checksums)"),
            "{hint}: {}",
            run.stdout
        );
    }

    let cases = [
        (
            "changed",
            "UPDATE app_copy.kitchen_sink SET j = '{}' WHERE id = (SELECT min(id) FROM app_copy.kitchen_sink)",
            "app_copy.kitchen_sink: content differs",
        ),
        (
            "deleted",
            "DELETE FROM weird2.\"Mixed Case \"\"Quoted\"\" Table\" WHERE ctid = (SELECT min(ctid) FROM weird2.\"Mixed Case \"\"Quoted\"\" Table\")",
            "rows in the dump",
        ),
        (
            "notvalid",
            "ALTER TABLE app_copy.kitchen_sink DROP CONSTRAINT kitchen_sink_parent_id_fkey; \
             ALTER TABLE app_copy.kitchen_sink ADD CONSTRAINT kitchen_sink_parent_id_fkey \
               FOREIGN KEY (parent_id) REFERENCES app_copy.parents (id) NOT VALID",
            "constraint \"kitchen_sink_parent_id_fkey\" is NOT VALID",
        ),
        (
            "nokey",
            "ALTER TABLE app_copy.kitchen_sink DROP CONSTRAINT kitchen_sink_parent_id_fkey",
            "constraint \"kitchen_sink_parent_id_fkey\" is missing",
        ),
        (
            "orphan",
            "SET session_replication_role = replica; \
             UPDATE app_copy.kitchen_sink SET parent_id = 999999 WHERE id = (SELECT min(id) FROM app_copy.kitchen_sink)",
            "violate foreign key \"kitchen_sink_parent_id_fkey\"",
        ),
        (
            "nocolumn",
            "ALTER TABLE app_copy.kitchen_sink DROP COLUMN js",
            "column \"js\" is missing on the target",
        ),
        (
            "notable",
            "DROP TABLE app_copy.empty_table",
            "table app_copy.empty_table is missing on the target",
        ),
    ];
    for (hint, damage, want) in cases {
        let db = s.target.fresh_db(&format!("vin_{hint}"));
        restore(&archive, &db, &maps).assert_code(0);
        s.target.client(&db).batch_execute(damage).unwrap();
        let run = verify(&archive, &db);
        run.assert_code(1);
        assert!(run.stdout.contains(want), "{hint}: {}", run.stdout);
        assert!(
            run.stderr.contains("differs from the dump"),
            "{hint}: {}",
            run.stderr
        );
    }
}

/// `restore --table` creates only the extensions the chosen tables use
/// (a column type, an index's operator class), not every one in the dump;
/// a dump finds an extension that only an index's operator class uses.
#[test]
fn restore_table_brings_only_the_extensions_it_uses() {
    let s = servers();
    let src = s.source.fresh_db("pickext");
    seed_source(
        &src,
        "CREATE SCHEMA ext; CREATE EXTENSION citext WITH SCHEMA ext; CREATE EXTENSION pg_trgm; \
         CREATE SCHEMA app; \
         CREATE TABLE app.people (id int PRIMARY KEY, email ext.citext); \
         CREATE TABLE app.notes (id int PRIMARY KEY, body text); \
         CREATE INDEX notes_body ON app.notes USING gin (body public.gin_trgm_ops); \
         INSERT INTO app.people VALUES (1, 'A@b.c'); INSERT INTO app.notes VALUES (1, 'hello');",
    );
    let dir = temp_dir();
    let out = dir.path().join("d");
    let src_url = s.source.url(&src);
    pgbarge(&[
        "dump",
        "--source",
        &src_url,
        "--output",
        out.to_str().unwrap(),
    ])
    .assert_code(0);
    let extensions = |db: &str| -> Vec<String> {
        s.target
            .client(db)
            .query(
                "SELECT extname::text FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    for (table, wanted) in [("app.people", "citext"), ("app.notes", "pg_trgm")] {
        let dst = s.target.fresh_db("pickext");
        restore(&out, &dst, &["--table", table]).assert_code(0);
        assert_eq!(extensions(&dst), [wanted], "restore --table {table}");
        assert_eq!(user_tables(&mut s.target.client(&dst)), [table]);
    }
    // The whole dump has both, also pg_trgm, which only an index's
    // operator class uses (in a schema without tables).
    let dst = s.target.fresh_db("pickext");
    restore(&out, &dst, &[]).assert_code(0);
    assert_eq!(extensions(&dst), ["citext", "pg_trgm"]);
    // dump --table chooses the same way.
    let only = dir.path().join("only");
    pgbarge(&[
        "dump",
        "--source",
        &src_url,
        "--table",
        "app.notes",
        "--output",
        only.to_str().unwrap(),
    ])
    .assert_code(0);
    let dst = s.target.fresh_db("pickext");
    restore(&only, &dst, &[]).assert_code(0);
    assert_eq!(extensions(&dst), ["pg_trgm"]);
}

/// `restore --schema/--table/--exclude-*`: the chosen tables and what
/// belongs to them, nothing that depends on what is left out.
#[test]
fn restore_picks_schemas_and_tables_of_a_dump() {
    let s = servers();
    let dir = temp_dir();
    let out = dir.path().join("d");
    dump(&out, &[]).assert_code(0);
    let same = |dst: &str, table: &str| {
        assert_eq!(
            digest(&mut s.source.client(source_db()), table),
            digest(&mut s.target.client(dst), table),
            "{table}"
        );
    };

    let dst = s.target.fresh_db("pick_schema");
    restore(&out, &dst, &["--schema", "app"]).assert_code(0);
    let tables = user_tables(&mut s.target.client(&dst));
    assert!(tables.iter().all(|t| t.starts_with("app.")), "{tables:?}");
    same(&dst, "app.kitchen_sink");
    same(&dst, "app.parents");

    let dst = s.target.fresh_db("pick_table");
    restore(&out, &dst, &["--table", "app.parents"]).assert_code(0);
    assert_eq!(user_tables(&mut s.target.client(&dst)), ["app.parents"]);
    same(&dst, "app.parents");

    // --table brings what the table needs and nothing else: the same
    // objects as a dump made with that --table.
    let only = dir.path().join("only");
    dump(&only, &["--table", "app.kitchen_sink"]).assert_code(0);
    let made = s.target.fresh_db("pick_needs_dumped");
    restore(&only, &made, &[]).assert_code(0);
    let dst = s.target.fresh_db("pick_needs");
    restore(&out, &dst, &["--table", "app.kitchen_sink"]).assert_code(0);
    let objects = user_objects(&mut s.target.client(&dst));
    assert_eq!(user_objects(&mut s.target.client(&made)), objects);
    assert!(
        !objects.iter().any(|o| o.contains("Weird"))
            && objects.iter().any(|o| o.starts_with("type ")),
        "{objects:?}"
    );
    same(&dst, "app.kitchen_sink");

    // A function's body is not parsed, but the sequence it spells comes
    // along with the table whose default calls it.
    // So does a dump made with that --table.
    let only = dir.path().join("tickets");
    dump(&only, &["--table", "app.tickets"]).assert_code(0);
    for (input, db, args) in [
        (&out, "pick_body", &["--table", "app.tickets"][..]),
        (&only, "pick_body_dumped", &[][..]),
    ] {
        let dst = s.target.fresh_db(db);
        restore(input, &dst, args).assert_code(0);
        s.target
            .client(&dst)
            .execute("INSERT INTO app.tickets (code) VALUES ('new')", &[])
            .unwrap_or_else(|e| panic!("{db}: the default's function finds its sequence: {e}"));
    }

    // A schema left out takes its tables and the view that names one.
    let dst = s.target.fresh_db("pick_noweird");
    restore(&out, &dst, &["--exclude-schema", "Weird Schema"]).assert_code(0);
    let tables = user_tables(&mut s.target.client(&dst));
    assert!(
        tables.iter().all(|t| !t.starts_with("\"Weird Schema\""))
            && tables.contains(&"app.parents".to_string()),
        "{tables:?}"
    );
    same(&dst, "app.parents");

    // A partitioned table's pattern brings its partitions.
    let dst = s.target.fresh_db("pick_parts");
    restore(&out, &dst, &["--table", "app.events"]).assert_code(0);
    assert_eq!(
        user_tables(&mut s.target.client(&dst)),
        ["app.events_2024", "app.events_2025", "app.events_other"]
    );
    same(&dst, "app.events");

    // The table that references the left-out one stays, without its key.
    let dst = s.target.fresh_db("pick_excl");
    let run = restore(
        &out,
        &dst,
        &["--schema", "app", "--exclude-table", "app.parents"],
    );
    run.assert_code(0);
    assert!(
        run.stderr.contains("function app.count_parents()")
            && run.stderr.contains("its body mentions app.parents"),
        "{}",
        run.stderr
    );
    let tables = user_tables(&mut s.target.client(&dst));
    assert!(!tables.contains(&"app.parents".to_string()), "{tables:?}");
    same(&dst, "app.kitchen_sink");
    // Views over it go, and the view over those views; the rest stays.
    let views: Vec<String> = s
        .target
        .client(&dst)
        .query(
            "SELECT relname::text FROM pg_class WHERE relkind IN ('v', 'm') \
               AND relnamespace = 'app'::regnamespace ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(views, ["mood_counts"]);
    same(&dst, "app.mood_counts");
    same(&dst, "app.tickets");

    // The same from a SQL script: its byte ranges of the chosen tables.
    let script = dir.path().join("d.sql.gz");
    dump(&script, &[]).assert_code(0);
    let dst = s.target.fresh_db("pick_sql");
    let run = restore(
        &script,
        &dst,
        &[
            "--schema",
            "app",
            "--exclude-table",
            "app.parents",
            "--jobs",
            "2",
        ],
    );
    run.assert_code(0);
    same(&dst, "app.kitchen_sink");
    same(&dst, "app.tickets");
    assert!(!user_tables(&mut s.target.client(&dst)).contains(&"app.parents".to_string()));

    let run = restore(
        &out,
        &s.target.fresh_db("pick_none"),
        &["--table", "app.no_such"],
    );
    run.assert_code(2);
    assert!(run.stderr.contains("app.no_such"), "{}", run.stderr);
}

/// A directory dump written before plan statements stored their kind
/// (only `what` and `sql`) restores as it did, whole and with a table
/// left out (whose foreign keys, their validation and comments must go
/// with it: found from the kinds recovered from the old messages).
#[test]
fn a_dump_written_before_statements_had_kinds_still_restores() {
    let dir = temp_dir();
    let new = dir.path().join("new");
    dump(&new, &[]).assert_code(0);
    let old = dir.path().join("old");
    copy_dir(&new, &old);
    // Strip the fields older versions did not write, and record the
    // edited schema.json's checksum as a dump of then would have.
    let schema_path = old.join("schema.json");
    let mut plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&schema_path).unwrap()).unwrap();
    let mut stripped = 0;
    for list in plan.as_object_mut().unwrap().values_mut() {
        for st in list.as_array_mut().into_iter().flatten() {
            if let Some(o) = st.as_object_mut().filter(|o| o.contains_key("what")) {
                stripped += usize::from(o.remove("kind").is_some());
                o.remove("part");
            }
        }
    }
    assert!(stripped > 20, "only {stripped} statements had a kind");
    let text = serde_json::to_vec_pretty(&plan).unwrap();
    std::fs::write(&schema_path, &text).unwrap();
    let manifest_path = old.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    for f in manifest["files"].as_array_mut().unwrap() {
        if f["path"] == "schema.json" {
            f["checksum"] = pgbarge::archive::text_checksum(&text).into();
            f["bytes"] = text.len().into();
        }
    }
    std::fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    check(&old).assert_code(0);

    let s = servers();
    let whole = s.target.fresh_db("olddump");
    restore(&old, &whole, &[]).assert_code(0);
    assert_restored_exactly(&whole);
    // Left out: the same result as from a dump of today.
    let (a, b) = (
        s.target.fresh_db("olddump_part"),
        s.target.fresh_db("newdump_part"),
    );
    restore(&old, &a, &["--exclude-table", "app.parents"]).assert_code(0);
    restore(&new, &b, &["--exclude-table", "app.parents"]).assert_code(0);
    assert_same_text(
        &pg_dump_schema(&s.target, &b),
        &pg_dump_schema(&s.target, &a),
    );
}

/// `restore --table` asks the target only for the roles the restored
/// objects use: a role that owns or is granted only what is left out
/// need not exist there (the whole dump still needs it).
#[test]
fn restore_table_needs_only_the_roles_of_what_it_restores() {
    let s = servers();
    // On the source's server only.
    s.source
        .client("postgres")
        .batch_execute(
            "DO $$ BEGIN CREATE ROLE src_only_owner; CREATE ROLE src_only_reader; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
        )
        .unwrap();
    let src = s.source.fresh_db("pickroles");
    seed_source(
        &src,
        "CREATE SCHEMA app; \
         CREATE TABLE app.mine (id int PRIMARY KEY); \
         CREATE TABLE app.theirs (id int PRIMARY KEY); \
         ALTER TABLE app.theirs OWNER TO src_only_owner; \
         GRANT SELECT ON app.theirs TO src_only_reader; \
         CREATE SEQUENCE app.their_seq; ALTER SEQUENCE app.their_seq OWNER TO src_only_owner; \
         INSERT INTO app.mine VALUES (1); INSERT INTO app.theirs VALUES (2);",
    );
    let dir = temp_dir();
    let out = dir.path().join("d");
    pgbarge(&[
        "dump",
        "--source",
        &s.source.url(&src),
        "--output",
        out.to_str().unwrap(),
    ])
    .assert_code(0);
    // With owners and grants (the helper leaves them out).
    let restore = |db: &str, extra: &[&str]| {
        let url = s.target.url(db);
        let mut args = vec![
            "restore",
            "--input",
            out.to_str().unwrap(),
            "--target",
            &url,
        ];
        args.extend_from_slice(extra);
        pgbarge(&args)
    };
    let dst = s.target.fresh_db("pickroles");
    restore(&dst, &["--table", "app.mine"]).assert_code(0);
    assert_eq!(user_tables(&mut s.target.client(&dst)), ["app.mine"]);
    // The whole dump names both roles before anything is written.
    let dst = s.target.fresh_db("pickroles_all");
    let run = restore(&dst, &[]);
    run.assert_code(2);
    assert!(
        run.stdout.contains("src_only_owner") || run.stderr.contains("src_only_owner"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    assert!(user_tables(&mut s.target.client(&dst)).is_empty());
}
