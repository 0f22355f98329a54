//! The command-line surface: help, version, missing and bad arguments.

use crate::support::*;

#[test]
fn help_lists_commands_and_examples() {
    let run = pgbarge(&["--help"]);
    run.assert_code(0);
    for cmd in ["copy", "dump", "restore", "verify", "plan"] {
        assert!(run.stdout.contains(cmd), "{}", run.stdout);
    }
    let run = pgbarge(&["copy", "--help"]);
    run.assert_code(0);
    assert!(run.stdout.contains("Examples:"), "{}", run.stdout);
    assert!(
        run.stdout.contains("--exclude-table-data"),
        "{}",
        run.stdout
    );
    pgbarge(&["--version"]).assert_code(0);
}

#[test]
fn bad_usage_exits_2_naming_the_fix() {
    for (args, wanted) in [
        (&["dump", "--source", "host=localhost"][..], "--output"),
        (&["restore", "--target", "host=localhost"][..], "--input"),
        (
            &[
                "dump",
                "--source",
                "host=localhost",
                "-o",
                "x",
                "--compress",
                "lz4",
            ][..],
            "gzip",
        ),
    ] {
        let run = pgbarge(args);
        run.assert_code(2);
        assert!(run.stderr.contains(wanted), "{args:?}: {}", run.stderr);
    }
    let run = pgbarge(&[
        "copy",
        "--preset",
        "nosuch",
        "--source",
        "host=localhost",
        "--target",
        "host=localhost",
    ]);
    run.assert_code(2);
    assert!(run.stderr.contains("unknown preset"), "{}", run.stderr);
    let run = pgbarge(&["copy", "--bogus"]);
    run.assert_code(2);
}

/// `--quiet` prints the summary and nothing else: no progress, no notes.
#[test]
fn quiet_prints_only_the_summary() {
    let (src, dst) = db_pair("quiet", "CREATE TABLE t (id int);");
    seed_source(&src, "INSERT INTO t SELECT generate_series(1, 1000)");
    let run = copy(&src, &dst, &["--quiet"]);
    run.assert_code(0);
    assert_eq!(run.stderr, "", "stderr must stay empty with --quiet");
    assert!(run.stdout.contains("public.t"), "{}", run.stdout);
    assert!(run.stdout.contains("1 table, 1000 rows"), "{}", run.stdout);
}

/// The last line of a command's summary.
fn last_line(out: &str) -> String {
    out.lines().last().unwrap_or_default().to_string()
}

/// One count everywhere: copy, verify, dump and verify --input count the
/// tables that hold rows (leaf tables) alike, a partitioned table apart,
/// and plan estimates the rows once (not again for the parent). The
/// summary lines are pinned so their words stay the same.
#[test]
fn every_command_counts_tables_the_same_way() {
    let s = servers();
    let src = s.source.fresh_db("counts");
    seed_source(
        &src,
        "CREATE TABLE p (id int, k int) PARTITION BY RANGE (k); \
         CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10); \
         CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (10) TO (20); \
         INSERT INTO p SELECT g, g % 20 FROM generate_series(1, 1000) g; \
         CREATE TABLE q (id int PRIMARY KEY); INSERT INTO q VALUES (1), (2); ANALYZE;",
    );
    let dst = s.target.fresh_db("counts");
    let (from, to) = (s.source.url(&src), s.target.url(&dst));
    let plan = pgbarge(&["plan", "--source", &from, "--target", &to]);
    plan.assert_code(0);
    assert!(plan.stdout.contains("about 1002 rows"), "{}", plan.stdout);
    let copy = pgbarge(&["copy", "--source", &from, "--target", &to, "-q"]);
    copy.assert_code(0);
    let l = last_line(&copy.stdout);
    assert!(l.starts_with("3 tables, 1002 rows, "), "{l}");
    let verify = pgbarge(&["verify", "--source", &from, "--target", &to]);
    verify.assert_code(0);
    assert_eq!(
        last_line(&verify.stdout),
        "3 tables match (row counts), and 1 partitioned table over them"
    );
    let dir = temp_dir();
    let out = dir.path().join("d");
    let out = out.to_str().unwrap();
    let dump = pgbarge(&["dump", "--source", &from, "--output", out, "-q"]);
    dump.assert_code(0);
    let l = last_line(&dump.stdout);
    assert!(l.starts_with("dumped 3 tables, 1002 rows, "), "{l}");
    let check = pgbarge(&["verify", "--input", out]);
    check.assert_code(0);
    let l = last_line(&check.stdout);
    assert!(
        l.starts_with(&format!("dump {out} is intact: 3 tables, ")),
        "{l}"
    );
    let against = pgbarge(&["verify", "--input", out, "--target", &to]);
    against.assert_code(0);
    assert!(
        last_line(&against.stdout).starts_with("3 tables match"),
        "{}",
        against.stdout
    );
}
