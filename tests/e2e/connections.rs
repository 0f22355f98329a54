//! Connection strings, environment, .pgpass, Unix sockets, TLS modes, and
//! passwords that never show.

use std::os::unix::fs::PermissionsExt;

use crate::support::*;

const PASSWORD: &str = "hunter2-Secret";

fn with_password_role(db_pair_hint: &str) -> (String, String) {
    let (src, dst) = db_pair(db_pair_hint, "CREATE TABLE t (id int, v text);");
    seed_source(&src, "INSERT INTO t VALUES (1, 'one'), (2, 'two')");
    for server in [&servers().source, &servers().target] {
        // Roles are cluster-wide; create once per server.
        let _ = server.client("postgres").batch_execute(&format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pw_user') THEN \
               CREATE ROLE pw_user LOGIN SUPERUSER PASSWORD '{PASSWORD}'; END IF; END $$"
        ));
    }
    (src, dst)
}

fn tls_url(host: &str, db: &str, params: &str) -> String {
    format!(
        "postgres://postgres@{host}:{}/{db}?{params}",
        servers().target.port
    )
}

#[test]
fn tls_modes() {
    let s = servers();
    let ca = s
        .target
        .ca_cert
        .as_ref()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let (src, dst) = db_pair("tls", "CREATE TABLE t (id int);");
    s.source
        .client(&src)
        .batch_execute("INSERT INTO t VALUES (1)")
        .unwrap();
    let source = s.source.url(&src);
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    let rep = report.to_str().unwrap();
    let ok_cases = [
        tls_url("127.0.0.1", &dst, "sslmode=require"),
        tls_url("127.0.0.1", &dst, "sslmode=prefer"),
        tls_url(
            "127.0.0.1",
            &dst,
            &format!("sslmode=verify-ca&sslrootcert={ca}"),
        ),
        tls_url(
            "localhost",
            &dst,
            &format!("sslmode=verify-full&sslrootcert={ca}"),
        ),
    ];
    for target in &ok_cases {
        let run = pgbarge(&[
            "copy",
            "--data-only",
            "--truncate",
            "--source",
            &source,
            "--target",
            target,
            "--report",
            rep,
        ]);
        run.assert_code(0);
        assert_eq!(read_report(&report)["target"]["tls"], true, "{target}");
        assert!(run.stderr.contains(", TLS)"), "{}", run.stderr);
    }
    // The certificate names "localhost", not 127.0.0.1.
    let run = pgbarge(&[
        "copy",
        "--data-only",
        "--truncate",
        "--source",
        &source,
        "--target",
        &tls_url(
            "127.0.0.1",
            &dst,
            &format!("sslmode=verify-full&sslrootcert={ca}"),
        ),
    ]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("cannot connect to target"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.to_lowercase().contains("certificate"),
        "{}",
        run.stderr
    );
    // Without the test CA, the system roots do not trust the server.
    let run = pgbarge(&[
        "copy",
        "--data-only",
        "--truncate",
        "--source",
        &source,
        "--target",
        &tls_url("localhost", &dst, "sslmode=verify-full"),
    ]);
    run.assert_code(3);
    assert!(
        run.stderr.to_lowercase().contains("certificate"),
        "{}",
        run.stderr
    );
    // The source has no TLS: require fails, prefer and disable connect in plain.
    let plain = |mode: &str| {
        format!(
            "postgres://postgres@127.0.0.1:{}/{src}?sslmode={mode}",
            s.source.port
        )
    };
    let target = tls_url("127.0.0.1", &dst, "sslmode=require");
    let run = pgbarge(&[
        "copy",
        "--data-only",
        "--truncate",
        "--source",
        &plain("require"),
        "--target",
        &target,
    ]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("cannot connect to source"),
        "{}",
        run.stderr
    );
    for mode in ["prefer", "disable"] {
        let run = pgbarge(&[
            "copy",
            "--data-only",
            "--truncate",
            "--source",
            &plain(mode),
            "--target",
            &target,
            "--report",
            rep,
        ]);
        run.assert_code(0);
        assert_eq!(read_report(&report)["source"]["tls"], false);
    }
}

#[test]
fn passwords_from_url_env_and_pgpass_never_shown() {
    let (src, dst) = with_password_role("pw");
    let s = servers();
    let source = format!(
        "postgres://pw_user:{PASSWORD}@127.0.0.1:{}/{src}?sslmode=disable",
        s.source.port
    );
    let target_no_pw = format!(
        "postgres://pw_user@127.0.0.1:{}/{dst}?sslmode=require",
        s.target.port
    );
    let dir = temp_dir();
    let report = dir.path().join("r.json");

    // Password in the URL: works, and never printed or reported.
    let run = pgbarge(&[
        "copy",
        "--data-only",
        "--source",
        &source,
        "--target",
        &format!(
            "postgres://pw_user:{PASSWORD}@127.0.0.1:{}/{dst}?sslmode=require",
            s.target.port
        ),
        "--report",
        report.to_str().unwrap(),
    ]);
    run.assert_code(0);
    assert!(!run.all().contains(PASSWORD));
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(text.contains("postgres://pw_user@127.0.0.1"), "{text}");

    // A failure later on (target not empty) shows no password either.
    let run = pgbarge(&[
        "copy",
        "--data-only",
        "--source",
        &source,
        "--target",
        &format!(
            "postgres://pw_user:{PASSWORD}@127.0.0.1:{}/{dst}",
            s.target.port
        ),
    ]);
    run.assert_code(2);
    assert!(!run.all().contains(PASSWORD), "{}", run.all());

    // Wrong password: a clear authentication error, exit 3.
    let run = pgbarge(&[
        "copy",
        "--data-only",
        "--source",
        &source,
        "--target",
        &format!(
            "postgres://pw_user:wrong-{PASSWORD}@127.0.0.1:{}/{dst}",
            s.target.port
        ),
    ]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("password authentication failed"),
        "{}",
        run.stderr
    );
    assert!(!run.all().contains(PASSWORD));

    // No password anywhere: authentication fails.
    let run = pgbarge(&[
        "copy",
        "--data-only",
        "--truncate",
        "--source",
        &source,
        "--target",
        &target_no_pw,
    ]);
    run.assert_code(3);

    // The same copy with no password in the URL: one variable supplies it.
    let copy_without_password = |var: &str, value: &dyn AsRef<std::ffi::OsStr>| {
        let mut c = pgbarge_cmd();
        c.args([
            "copy",
            "--data-only",
            "--truncate",
            "--source",
            &source,
            "--target",
            &target_no_pw,
        ])
        .env(var, value);
        run_cmd(c)
    };

    // PGPASSWORD.
    copy_without_password("PGPASSWORD", &PASSWORD).assert_code(0);

    // PGPASSFILE, and a file others can read is ignored with a warning.
    let pgpass = dir.path().join("pgpass");
    std::fs::write(
        &pgpass,
        format!("# test\n127.0.0.1:{}:*:pw_user:{PASSWORD}\n", s.target.port),
    )
    .unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = copy_without_password("PGPASSFILE", &pgpass);
    run.assert_code(0);
    assert!(!run.all().contains(PASSWORD));
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = copy_without_password("PGPASSFILE", &pgpass);
    run.assert_code(3);
    assert!(
        run.stderr.contains("group or world access"),
        "{}",
        run.stderr
    );

    // ~/.pgpass under HOME.
    let home = temp_dir();
    let p = home.path().join(".pgpass");
    std::fs::write(&p, format!("*:*:*:pw_user:{PASSWORD}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    copy_without_password("HOME", &home.path()).assert_code(0);
    assert_same_content(&src, &dst);
}

#[test]
fn environment_defaults_keyword_strings_and_unix_sockets() {
    let (src, dst) = db_pair("env", "CREATE TABLE t (id int);");
    let s = servers();
    s.source
        .client(&src)
        .batch_execute("INSERT INTO t VALUES (42)")
        .unwrap();
    // Source over the Unix socket, as a key=value string; target from
    // PGBARGE_TARGET with PG* variables filling in the rest.
    let mut c = pgbarge_cmd();
    c.args([
        "copy",
        "--data-only",
        "--source",
        &format!(
            "host={} port={} user=postgres dbname={src}",
            s.source.dir.display(),
            s.source.port
        ),
    ])
    .env("PGBARGE_TARGET", format!("dbname={dst}"))
    .env("PGHOST", "127.0.0.1")
    .env("PGPORT", s.target.port.to_string())
    .env("PGUSER", "postgres")
    .env("PGSSLMODE", "require");
    let run = run_cmd(c);
    run.assert_code(0);
    assert!(
        run.stderr.contains(&format!(
            "postgres://postgres@127.0.0.1:{}/{dst}?sslmode=require",
            s.target.port
        )),
        "{}",
        run.stderr
    );
    assert_same_content(&src, &dst);

    // PGBARGE_SOURCE too, and PGDATABASE.
    let mut c = pgbarge_cmd();
    c.args(["copy", "--data-only", "--truncate"])
        .env("PGBARGE_SOURCE", s.source.url(&src))
        .env(
            "PGBARGE_TARGET",
            format!("postgres://postgres@127.0.0.1:{}", s.target.port),
        )
        .env("PGDATABASE", &dst);
    run_cmd(c).assert_code(0);

    // A socket directory with no server: a clear connection error.
    let run = pgbarge(&[
        "copy",
        "--data-only",
        "--source",
        "host=/nonexistent port=1 dbname=x",
        "--target",
        &s.target.url(&dst),
    ]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("cannot connect to source"),
        "{}",
        run.stderr
    );
}
