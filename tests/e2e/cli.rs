//! The command-line surface: help, version, commands not built yet.

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
fn commands_not_built_yet_exit_2() {
    for cmd in ["plan", "dump", "restore", "verify"] {
        let run = pgbarge(&[cmd]);
        run.assert_code(2);
        assert!(
            run.stderr.contains("not built yet"),
            "{cmd}: {}",
            run.stderr
        );
    }
    let run = pgbarge(&["copy", "--data-only", "--dry-run", "--source", "x=1"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("--dry-run is not built yet"),
        "{}",
        run.stderr
    );
    let run = pgbarge(&["copy", "--bogus"]);
    run.assert_code(2);
}
