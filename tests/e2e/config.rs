//! The configuration file: the shipped example loads, precedence is
//! flag > file > environment, and bad keys and values are named.

use crate::support::*;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/pgbarge.example.toml");

#[test]
fn example_config_drives_a_copy() {
    let ddl = "CREATE SCHEMA app; CREATE TABLE app.users (id int); \
               CREATE TABLE app.audit_log (id int); CREATE TABLE app.sessions (id int);";
    let (src, dst) = db_pair("cfg", ddl);
    servers()
        .source
        .client(&src)
        .batch_execute("INSERT INTO app.users VALUES (1); INSERT INTO app.audit_log VALUES (1); INSERT INTO app.sessions VALUES (1);")
        .unwrap();
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    let run = pgbarge(&[
        "copy",
        "--config",
        EXAMPLE,
        "--source",
        &servers().source.url(&src),
        "--target",
        &servers().target.url(&dst),
        "--report",
        report.to_str().unwrap(),
    ]);
    run.assert_code(0);
    let mut t = servers().target.client(&dst);
    assert_eq!(digest(&mut t, "app.users").0, 1);
    assert_eq!(
        digest(&mut t, "app.audit_log").0,
        0,
        "excluded by the example"
    );
    assert_eq!(
        digest(&mut t, "app.sessions").0,
        0,
        "data excluded by the example"
    );
    let r = read_report(&report);
    assert_eq!(r["jobs"], 4);
}

#[test]
fn precedence_flag_over_file_over_environment() {
    let (src, dst) = db_pair("prec", "CREATE TABLE t (id int);");
    seed_source(&src, "INSERT INTO t VALUES (1)");
    let dir = temp_dir();
    let cfg = dir.path().join("move.toml");
    let report = dir.path().join("r.json");
    std::fs::write(
        &cfg,
        format!(
            "source = \"{}\"\ntarget = \"{}\"\ndata-only = true\nformat = \"text\"\njobs = 2\nreport = \"{}\"\n",
            servers().source.url(&src),
            servers().target.url(&dst),
            report.display()
        ),
    )
    .unwrap();
    let mut c = pgbarge_cmd();
    c.args([
        "copy",
        "--config",
        cfg.to_str().unwrap(),
        "--format",
        "binary",
    ])
    .env("PGBARGE_SOURCE", "host=/nonexistent dbname=wrong");
    run_cmd(c).assert_code(0);
    let r = read_report(&report);
    assert_eq!(r["format"], "binary");
    assert_eq!(r["jobs"], 2);
    assert_eq!(r["tables"][0]["format"], "binary");
}

#[test]
fn bad_config_names_key_and_file() {
    let dir = temp_dir();
    let cases = [
        ("sorce = \"x\"\n", "sorce"),
        ("jobs = 0\n", "jobs"),
        ("jobs = \"four\"\n", "jobs"),
        ("format = \"fast\"\n", "format"),
        ("schema = \"app\"\n", "schema"),
        ("[schema-map]\na = \"x\"\nb = \"x\"\n", "onto \"x\""),
    ];
    for (i, (text, key)) in cases.iter().enumerate() {
        let cfg = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&cfg, format!("data-only = true\n{text}")).unwrap();
        let run = pgbarge(&[
            "copy",
            "--config",
            cfg.to_str().unwrap(),
            "--source",
            "dbname=x",
            "--target",
            "dbname=y",
        ]);
        run.assert_code(2);
        assert!(run.stderr.contains(key), "{text}: {}", run.stderr);
        assert!(
            run.stderr.contains(cfg.to_str().unwrap()),
            "{text}: {}",
            run.stderr
        );
    }
    let run = pgbarge(&["copy", "--config", "/nonexistent/pgbarge.toml"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("/nonexistent/pgbarge.toml"),
        "{}",
        run.stderr
    );
}
