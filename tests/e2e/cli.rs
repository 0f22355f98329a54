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
    assert!(run.stdout.contains("1 tables, 1000 rows"), "{}", run.stdout);
}
