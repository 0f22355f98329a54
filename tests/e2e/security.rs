//! Dumps are data, never code; archives and connection strings are
//! untrusted input. Names that try to end a comment, an identifier or a
//! literal stay inert through every script psql runs; a manifest cannot
//! point restore outside its dump; restore checks every file it uses
//! before it uses it; errors never echo what may be a password; an
//! unwritable report is refused before any work.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::schema::{assert_same_text, pg_dump_schema};
use crate::support::*;

/// Every object kind named so that, written raw into a `--` comment, a
/// block comment, a literal or an identifier, it would run
/// `CREATE TABLE public.pw_<kind><n>()`: after a carriage return, a
/// newline, both, a `*/`, a quote, a backslash-quote, a double quote and
/// a dollar quote. The comment text and a row carry the same tricks.
const HOSTILE: &str = r#"
DO $do$
DECLARE
    tricks text[] := ARRAY[E'a\r%s--', E'a\n%s--', E'a\r\n%s--', E'a*/%s/*',
                           E'a'';%s--', E'a\\'';%s--', E'a";%s--', E'a$$;%s--'];
    i int;
    nm text;
    s text; t text; c text;
BEGIN
    FOR i IN 1 .. array_length(tricks, 1) LOOP
        s := format(tricks[i], format('CREATE TABLE public.pw_s%s();', i));
        t := format(tricks[i], format('CREATE TABLE public.pw_t%s();', i));
        c := format(tricks[i], format('CREATE TABLE public.pw_c%s();', i));
        EXECUTE format('CREATE SCHEMA %I', s);
        EXECUTE format('CREATE TYPE %I.%I AS ENUM (%L, %L)', s,
            format(tricks[i], format('CREATE TABLE public.pw_y%s();', i)),
            format(tricks[i], format('CREATE TABLE public.pw_e%s();', i)), 'plain');
        EXECUTE format('CREATE FUNCTION %I.%I(integer) RETURNS integer LANGUAGE sql AS %L',
            s, format(tricks[i], format('CREATE TABLE public.pw_f%s();', i)), 'SELECT $1');
        EXECUTE format('CREATE TABLE %I.%I (id integer PRIMARY KEY, %I integer '
                       'CONSTRAINT %I CHECK (%I > 0), note text DEFAULT %L)',
            s, t, c, format(tricks[i], format('CREATE TABLE public.pw_k%s();', i)), c,
            format(tricks[i], format('CREATE TABLE public.pw_d%s();', i)));
        EXECUTE format('CREATE INDEX %I ON %I.%I (%I)',
            format(tricks[i], format('CREATE TABLE public.pw_i%s();', i)), s, t, c);
        EXECUTE format('COMMENT ON TABLE %I.%I IS %L', s, t,
            format(tricks[i], format('CREATE TABLE public.pw_m%s();', i)));
        EXECUTE format('COMMENT ON COLUMN %I.%I.%I IS %L', s, t, c,
            format(tricks[i], format('CREATE TABLE public.pw_n%s();', i)));
        EXECUTE format('COMMENT ON SCHEMA %I IS %L', s,
            format(tricks[i], format('CREATE TABLE public.pw_o%s();', i)));
        EXECUTE format('INSERT INTO %I.%I VALUES (1, 5, %L), (2, 7, DEFAULT)', s, t,
            format(tricks[i], format('CREATE TABLE public.pw_r%s();', i)));
    END LOOP;
END
$do$;
"#;

/// The source database holding the hostile names (made once).
fn hostile_db() -> &'static str {
    static DB: OnceLock<String> = OnceLock::new();
    DB.get_or_init(|| {
        let db = servers().source.fresh_db("hostile");
        seed_source(&db, HOSTILE);
        db
    })
}

/// Tables the hostile names would have created had any of them run.
#[track_caller]
fn assert_nothing_ran(server: &PgServer, db: &str) {
    let pwned: Vec<String> = server
        .client(db)
        .query(
            "SELECT relname::text FROM pg_class WHERE relname LIKE 'pw\\_%' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(pwned.is_empty(), "SQL from a name ran: {pwned:?}");
}

/// The target is the source again, as pg_dump sees it, row for row.
#[track_caller]
fn assert_same_as_source(db: &str) {
    let s = servers();
    assert_same_text(
        &pg_dump_schema(&s.source, hostile_db()),
        &pg_dump_schema(&s.target, db),
    );
    assert_same_content(hostile_db(), db);
}

/// psql as a user runs a script: stop at the first error.
fn psql(db: &str, script: &str) {
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{script} | '{}' -X -q -v ON_ERROR_STOP=1 -d '{}' >/dev/null",
            pg_bin().join("psql").display(),
            servers().target.url(db)
        ))
        .status()
        .unwrap();
    assert!(status.success(), "psql failed on: {script}");
}

#[test]
fn hostile_names_stay_inert_in_sql_dumps_restored_with_psql() {
    let s = servers();
    let dir = temp_dir();
    let src = s.source.url(hostile_db());
    let out = dir.path().join("h.sql.gz");
    pgbarge(&["dump", "--source", &src, "--output", out.to_str().unwrap()]).assert_code(0);
    let dst = s.target.fresh_db("hostile_psql");
    psql(&dst, &format!("gunzip -c '{}'", out.display()));
    assert_nothing_ran(&s.target, &dst);
    assert_same_as_source(&dst);

    // The same script restored by pgbarge.
    let dst = s.target.fresh_db("hostile_sqlrestore");
    let url = s.target.url(&dst);
    pgbarge(&[
        "restore",
        "--input",
        out.to_str().unwrap(),
        "--target",
        &url,
    ])
    .assert_code(0);
    assert_nothing_ran(&s.target, &dst);
    assert_same_as_source(&dst);
}

#[test]
fn hostile_names_stay_inert_in_directory_dumps_and_copies() {
    let s = servers();
    let dir = temp_dir();
    let src = s.source.url(hostile_db());
    let out = dir.path().join("h");
    pgbarge(&["dump", "--source", &src, "--output", out.to_str().unwrap()]).assert_code(0);

    // Its SQL files, as a person would run them.
    let dst = s.target.fresh_db("hostile_files");
    psql(
        &dst,
        &format!("cat '{}'", out.join("pre-data.sql").display()),
    );
    assert_nothing_ran(&s.target, &dst);
    psql(
        &dst,
        &format!("cat '{}'", out.join("post-data.sql").display()),
    );
    assert_nothing_ran(&s.target, &dst);

    let dst = s.target.fresh_db("hostile_restore");
    let url = s.target.url(&dst);
    pgbarge(&[
        "restore",
        "--input",
        out.to_str().unwrap(),
        "--target",
        &url,
    ])
    .assert_code(0);
    assert_nothing_ran(&s.target, &dst);
    assert_same_as_source(&dst);

    let dst = s.target.fresh_db("hostile_copy");
    copy_full(hostile_db(), &dst, &["--verify"]).assert_code(0);
    assert_nothing_ran(&s.target, &dst);
    assert_same_as_source(&dst);
}

/// A small dump to take apart.
fn small_dump(dir: &Path, name: &str, extra: &[&str]) -> std::path::PathBuf {
    static DB: OnceLock<String> = OnceLock::new();
    let db = DB.get_or_init(|| {
        let db = servers().source.fresh_db("smalldump");
        seed_source(
            &db,
            "CREATE SCHEMA app; \
             CREATE TABLE app.t (id int PRIMARY KEY, v text); \
             INSERT INTO app.t SELECT g, 'row ' || g FROM generate_series(1, 100) g; \
             CREATE TABLE app.u (id int);",
        );
        db
    });
    let out = dir.join(name);
    let src = servers().source.url(db);
    let mut args = vec!["dump", "--source", &src, "--output", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    pgbarge(&args).assert_code(0);
    out
}

fn edit_manifest(dump: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let path = dump.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    f(&mut m);
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

/// Run the binary, killing it if it has not ended within `limit`.
fn pgbarge_within(limit: Duration, args: &[&str]) -> Run {
    let mut c = pgbarge_cmd();
    c.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    wait_within(c.spawn().unwrap(), limit, &format!("pgbarge {args:?}"))
}

/// Restore refuses the dump with exit 2 before writing anything, and
/// `verify --input` refuses it too.
#[track_caller]
fn assert_refused(dump: &Path, what: &str) {
    let s = servers();
    let dst = s.target.fresh_db("refused");
    let url = s.target.url(&dst);
    let limit = Duration::from_secs(60);
    let input = dump.to_str().unwrap();
    let run = pgbarge_within(limit, &["restore", "--input", input, "--target", &url]);
    run.assert_code(2);
    assert!(run.stderr.contains(what), "{}", run.stderr);
    assert_untouched(&dst);
    let run = pgbarge_within(limit, &["verify", "--input", input, "--target", &url]);
    run.assert_code(2);
    let run = pgbarge_within(limit, &["verify", "--input", input]);
    run.assert_code(2);
    assert!(run.stderr.contains(what), "{}", run.stderr);
}

/// A target database as it was created: nothing but schema public.
#[track_caller]
fn assert_untouched(db: &str) {
    let objects = user_objects(&mut servers().target.client(db));
    assert_eq!(
        objects,
        vec!["schema public".to_string()],
        "a refused restore wrote"
    );
}

#[test]
fn manifest_paths_and_values_cannot_leave_the_dump() {
    let dir = temp_dir();
    let good = small_dump(dir.path(), "good", &[]);
    let link = dir.path().join("link");
    std::fs::create_dir(&link).unwrap();
    for (i, bad) in [
        "../../../../etc/passwd",
        "/etc/passwd",
        "/dev/zero",
        "data/../../etc/passwd",
        "data/passwd-link",
        "data",
        "schema.json",
    ]
    .into_iter()
    .enumerate()
    {
        let d = small_dump(dir.path(), &format!("bad{i}"), &[]);
        std::os::unix::fs::symlink("/etc/passwd", d.join("data/passwd-link")).unwrap();
        edit_manifest(&d, |m| m["tables"][0]["file"] = bad.into());
        assert_refused(&d, "damaged");
    }
    // A schema file outside the dump, and a directory that is a link.
    let d = small_dump(dir.path(), "badfile", &[]);
    edit_manifest(&d, |m| m["files"][1]["path"] = "/etc/passwd".into());
    assert_refused(&d, "/etc/passwd");
    let d = small_dump(dir.path(), "badlinkdir", &[]);
    std::fs::rename(d.join("data"), link.join("data")).unwrap();
    std::os::unix::fs::symlink(link.join("data"), d.join("data")).unwrap();
    assert_refused(&d, "damaged");
    // Values that reach SQL.
    let d = small_dump(dir.path(), "badcols", &[]);
    edit_manifest(&d, |m| {
        m["tables"][0]["columns"] = r#""id") FROM STDIN; DROP TABLE app.t; --"#.into()
    });
    assert_refused(&d, "column list");
    let d = small_dump(dir.path(), "badformat", &[]);
    edit_manifest(&d, |m| m["tables"][0]["format"] = "csv".into());
    assert_refused(&d, "COPY format");
    // Overlapping row ranges in a script.
    let sql = small_dump(dir.path(), "s.sql", &["--compress", "none"]);
    let text = std::fs::read_to_string(&sql).unwrap();
    let (header, rest) = text.split_once('\n').unwrap();
    let mut h: serde_json::Value =
        serde_json::from_str(header.strip_prefix("-- pgbarge-dump ").unwrap()).unwrap();
    h["manifest"]["tables"][1]["offset"] = 0.into();
    h["manifest"]["tables"][1]["bytes"] = (1u64 << 40).into();
    std::fs::write(&sql, format!("-- pgbarge-dump {h}\n{rest}")).unwrap();
    assert_refused(&sql, "overlaps");
    // The good one still restores.
    let dst = servers().target.fresh_db("goodafter");
    let url = servers().target.url(&dst);
    pgbarge(&[
        "restore",
        "--input",
        good.to_str().unwrap(),
        "--target",
        &url,
    ])
    .assert_code(0);
}

#[test]
fn restore_checks_every_schema_file_before_using_it() {
    let s = servers();
    let dir = temp_dir();
    for file in ["schema.json", "pre-data.sql", "post-data.sql"] {
        let d = small_dump(dir.path(), &file.replace('.', "_"), &[]);
        let path = d.join(file);
        // Same length, still valid JSON or SQL: only the checksum tells.
        let text = std::fs::read_to_string(&path).unwrap();
        let edited = text.replacen("app", "apq", 1);
        assert_ne!(text, edited);
        std::fs::write(&path, edited).unwrap();
        let dst = s.target.fresh_db("schemaedit");
        let url = s.target.url(&dst);
        let run = pgbarge(&["restore", "--input", d.to_str().unwrap(), "--target", &url]);
        run.assert_code(2);
        assert!(run.stderr.contains(file), "{}", run.stderr);
        assert_untouched(&dst);
        let run = pgbarge(&["verify", "--input", d.to_str().unwrap()]);
        run.assert_code(1);
        assert!(run.stdout.contains(file), "{}", run.stdout);
    }
    // A script's schema lives in its header line.
    let sql = small_dump(dir.path(), "h.sql", &["--compress", "none"]);
    let text = std::fs::read_to_string(&sql).unwrap();
    let (header, rest) = text.split_once('\n').unwrap();
    let i = header.find("\"plan\"").unwrap();
    let edited = format!("{}{}", &header[..i], header[i..].replacen("app", "apq", 1));
    std::fs::write(&sql, format!("{edited}\n{rest}")).unwrap();
    let dst = s.target.fresh_db("headeredit");
    let url = s.target.url(&dst);
    let run = pgbarge(&[
        "restore",
        "--input",
        sql.to_str().unwrap(),
        "--target",
        &url,
    ]);
    run.assert_code(2);
    assert!(run.stderr.contains("header line"), "{}", run.stderr);
    assert_untouched(&dst);
    pgbarge(&["verify", "--input", sql.to_str().unwrap()]).assert_code(1);
}

#[test]
fn connection_errors_never_echo_a_password() {
    let s = servers();
    let url = s.target.url("postgres");
    let secret = "hunter2secret";
    for bad in [
        "hunter2secret".to_string(),
        format!("postgres://postgres:{secret}/postgres"),
        format!("host=127.0.0.1 {secret}"),
        format!("host=127.0.0.1 password='{secret}"),
    ] {
        let run = pgbarge(&["copy", "--source", &bad, "--target", &url]);
        run.assert_code(2);
        assert!(!run.all().contains(secret), "{}", run.all());
        let run = pgbarge(&["plan", "--source", &url, "--target", &bad]);
        run.assert_code(2);
        assert!(!run.all().contains(secret), "{}", run.all());
    }
    let dir = temp_dir();
    let cfg = dir.path().join("pgbarge.toml");
    std::fs::write(&cfg, format!("source = postgres://me:{secret}@db/app\n")).unwrap();
    let run = pgbarge(&["plan", "--config", cfg.to_str().unwrap(), "--target", &url]);
    run.assert_code(2);
    assert!(!run.all().contains(secret), "{}", run.all());
    assert!(run.stderr.contains("line 1"), "{}", run.stderr);
}

#[test]
fn an_unwritable_report_is_refused_before_any_work() {
    let s = servers();
    let dir = temp_dir();
    let src_db = s.source.fresh_db("reportsrc");
    seed_source(
        &src_db,
        "CREATE TABLE t (id int); INSERT INTO t VALUES (1);",
    );
    let (src, dst_db) = (s.source.url(&src_db), s.target.fresh_db("reportdst"));
    let dst = s.target.url(&dst_db);
    let missing = dir.path().join("no/such/dir/r.json");
    let as_dir = dir.path().to_path_buf();
    for report in [missing.to_str().unwrap(), as_dir.to_str().unwrap()] {
        let run = pgbarge(&[
            "copy", "--source", &src, "--target", &dst, "--report", report,
        ]);
        run.assert_code(2);
        assert!(run.stderr.contains("--report"), "{}", run.stderr);
        assert!(
            user_tables(&mut s.target.client(&dst_db)).is_empty(),
            "the copy ran"
        );
        let out = dir.path().join("d");
        let run = pgbarge(&[
            "dump",
            "--source",
            &src,
            "--output",
            out.to_str().unwrap(),
            "--report",
            report,
        ]);
        run.assert_code(2);
        assert!(!out.exists(), "the dump ran");
        let run = pgbarge(&[
            "verify", "--source", &src, "--target", &dst, "--report", report,
        ]);
        run.assert_code(2);
    }
    // A writable one still works, and leaves no probe file behind.
    let ok = dir.path().join("r.json");
    let run = pgbarge(&[
        "copy",
        "--source",
        &src,
        "--target",
        &dst,
        "--report",
        ok.to_str().unwrap(),
    ]);
    run.assert_code(0);
    assert!(ok.is_file());
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["r.json".to_string()], "{names:?}");
}

/// A dump's statements are run on a target, and a SQL dump's by psql:
/// one that carries a second statement, or a backslash psql would read
/// as a command, is refused before anything is written, even when the
/// checksums were made to match (whoever edits the dump can recompute
/// them).
#[test]
fn a_dump_statement_that_carries_another_is_refused() {
    let dir = temp_dir();
    for (i, tail) in [
        "; CREATE TABLE public.pwned ()",
        "\n\\! touch pwned\n",
        " /* open",
    ]
    .into_iter()
    .enumerate()
    {
        let d = small_dump(dir.path(), &format!("extra{i}"), &[]);
        let path = d.join("schema.json");
        let mut plan: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let first = plan["pre"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|st| st["sql"].as_str().unwrap().starts_with("CREATE TABLE"))
            .unwrap();
        let sql = format!("{}{tail}", first["sql"].as_str().unwrap());
        first["sql"] = sql.into();
        let text = serde_json::to_vec_pretty(&plan).unwrap();
        std::fs::write(&path, &text).unwrap();
        edit_manifest(&d, |m| {
            for f in m["files"].as_array_mut().unwrap() {
                if f["path"] == "schema.json" {
                    f["checksum"] = pgbarge::archive::text_checksum(&text).into();
                    f["bytes"] = text.len().into();
                }
            }
        });
        assert_refused(&d, "is not one statement");
    }
    // The same in a SQL dump's header.
    let sql = small_dump(dir.path(), "extra.sql", &["--compress", "none"]);
    let text = std::fs::read_to_string(&sql).unwrap();
    let (header, rest) = text.split_once('\n').unwrap();
    let mut h: serde_json::Value =
        serde_json::from_str(header.strip_prefix("-- pgbarge-dump ").unwrap()).unwrap();
    let first = &mut h["plan"]["pre"][0]["sql"];
    *first = format!("{}; DROP SCHEMA public CASCADE", first.as_str().unwrap()).into();
    let plan = serde_json::to_string(&h["plan"]).unwrap();
    h["manifest"]["plan_checksum"] = pgbarge::archive::text_checksum(plan.as_bytes()).into();
    std::fs::write(&sql, format!("-- pgbarge-dump {h}\n{rest}")).unwrap();
    assert_refused(&sql, "is not one statement");
}
