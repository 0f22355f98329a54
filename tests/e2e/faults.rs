//! Faults: what must hold when a connection breaks under a run.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::proxy::{Fault, Proxy};
use crate::support::*;

/// The target's backend is terminated while it takes a COPY whose
/// source side is far ahead (the channel between them full). This used
/// to hang forever (the failed writer kept the channel's receiver alive,
/// so the reader blocked on a full channel); now the table's load is
/// retried on a fresh session, and the copy ends with exit 0, every row
/// there once, and the retry in the report.
#[test]
fn a_terminated_target_backend_costs_a_retry_not_the_run() {
    let s = servers();
    let ddl = "CREATE TABLE big (id int, v text);";
    let (src, dst) = db_pair("brokencopy", ddl);
    seed_source(
        &src,
        "INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 200000) g;",
    );
    // A slow target for the first rows (a per-row trigger), so the source
    // side runs ahead and the COPY is surely under way when it is cut;
    // the retry then runs at full speed.
    s.target
        .client(&dst)
        .batch_execute(
            "CREATE SEQUENCE slow_rows; \
             CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS \
               $$ BEGIN IF nextval('public.slow_rows') < 5000 THEN PERFORM pg_sleep(0.0005); END IF; \
                  RETURN NEW; END $$; \
             CREATE TRIGGER slow BEFORE INSERT ON big FOR EACH ROW EXECUTE FUNCTION slow();",
        )
        .unwrap();
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    let (surl, turl) = (s.source.url(&src), s.target.url(&dst));
    let mut cmd = pgbarge_cmd();
    cmd.args(["copy", "--data-only", "--source", &surl, "--target", &turl])
        .args(["--report", report.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();

    let mut admin = s.target.client("postgres");
    let start = Instant::now();
    loop {
        let n: i64 = admin
            .query_one(
                "SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity \
                  WHERE datname = $1 AND query LIKE 'COPY%FROM STDIN%' AND state = 'active'",
                &[&dst],
            )
            .unwrap()
            .get(0);
        if n > 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the COPY never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let run = wait_within(
        child,
        Duration::from_secs(90),
        "copy --data-only after the fault",
    );
    run.assert_code(0);
    assert!(run.stderr.contains("retrying public.big"), "{}", run.stderr);
    assert_same_content(&src, &dst);
    let r = read_report(&report);
    let retries = report_table(&r, "public.big")["retries"].clone();
    assert_eq!(retries.as_array().map(Vec::len), Some(1), "{r}");
}

/// Copy `ROWS` rows through a proxy on the target side that breaks the
/// first connection carrying more than 2 MB; the copy must survive.
fn copy_through_fault(fault: Fault, hint: &str) -> (Run, serde_json::Value) {
    let s = servers();
    let (src, dst) = db_pair(hint, "CREATE TABLE t (id int PRIMARY KEY, v text);");
    seed_source(
        &src,
        "INSERT INTO t SELECT g, repeat(md5(g::text), 2) FROM generate_series(1, 150000) g;",
    );
    let proxy = Proxy::start(s.target.port);
    proxy.arm(fault, 2 << 20);
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    let target = format!(
        "postgres://postgres@127.0.0.1:{}/{dst}?sslmode=disable",
        proxy.port
    );
    let mut cmd = pgbarge_cmd();
    cmd.args(["copy", "--data-only", "--source", &s.source.url(&src)])
        .args(["--target", &target, "--stall-timeout", "3"])
        .args(["--report", report.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let run = wait_within(cmd.spawn().unwrap(), Duration::from_secs(90), hint);
    assert!(proxy.struck.load(std::sync::atomic::Ordering::SeqCst));
    run.assert_code(0);
    assert_same_content(&src, &dst);
    (run, read_report(&report))
}

/// A link reset in the middle of a table: the table is loaded again from
/// its start on a new connection, exit 0, equal rows, the retry reported.
#[test]
fn a_cut_connection_costs_a_retry_not_the_run() {
    let (run, r) = copy_through_fault(Fault::Cut, "cutlink");
    assert!(run.stderr.contains("retrying public.t"), "{}", run.stderr);
    assert_eq!(
        report_table(&r, "public.t")["retries"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{r}"
    );
}

/// A link that goes silent (sockets open, no byte moves): no keepalive
/// notices that for minutes, and TCP never does. The stall bound declares
/// it dead, the old session is ended on the server (it held the table's
/// load open), and the retry completes the copy.
#[test]
fn a_silent_link_is_declared_dead_and_retried() {
    let start = Instant::now();
    let (run, r) = copy_through_fault(Fault::Stall, "stalllink");
    assert!(run.stderr.contains("no progress for 3 s"), "{}", run.stderr);
    let retries = report_table(&r, "public.t")["retries"].clone();
    assert!(
        retries[0]
            .as_str()
            .unwrap_or_default()
            .contains("no progress for 3 s"),
        "{r}"
    );
    assert!(start.elapsed() < Duration::from_secs(60));
}

/// Start `pgbarge ARGS`, wait until its stderr shows `marker`, send
/// `signal`, and wait (bounded) for it to end: its exit and its stderr.
fn interrupt_when(args: &[&str], marker: &str, signal: &str) -> Run {
    let mut cmd = pgbarge_cmd();
    cmd.args(args);
    let mut run = Watched::spawn(cmd);
    run.line_with(marker, Duration::from_secs(120));
    let sent = std::process::Command::new("kill")
        .args([signal, &run.child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    run.finish(Duration::from_secs(30), "the interrupted run")
}

/// Tables, views, sequences and types in the public schema.
fn public_objects(db: &str) -> i64 {
    servers()
        .target
        .client(db)
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace",
            &[],
        )
        .unwrap()
        .get(0)
}

const BIG: &str = "CREATE TABLE big (id int PRIMARY KEY, v text); \
    INSERT INTO big SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 1000000) g; \
    CREATE TABLE small (id int PRIMARY KEY, big_id int REFERENCES big); \
    INSERT INTO small SELECT g, g FROM generate_series(1, 1000) g; \
    CREATE TABLE tiny (id serial PRIMARY KEY); INSERT INTO tiny DEFAULT VALUES; ANALYZE;";

/// Rows in a target table.
fn target_rows(db: &str, table: &str) -> i64 {
    servers()
        .target
        .client(db)
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .get(0)
}

/// Does the target database hold pgbarge's run state?
fn has_state(db: &str) -> bool {
    servers()
        .target
        .client(db)
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '_pgbarge')",
            &[],
        )
        .unwrap()
        .get(0)
}

/// Ctrl-C in the middle of a schema copy, with `copied public.tiny`
/// shown: exits 130 within seconds, the load in flight rolled back.
fn interrupted_copy(src: &str, dst: &str, report: &std::path::Path) -> Run {
    let s = servers();
    let start = Instant::now();
    let run = interrupt_when(
        &[
            "copy",
            "--source",
            &s.source.url(src),
            "--target",
            &s.target.url(dst),
            "--report",
            report.to_str().unwrap(),
        ],
        "copied public.tiny",
        "-INT",
    );
    assert_eq!(run.code, 130, "{}", run.all());
    assert!(start.elapsed() < Duration::from_secs(60));
    run
}

/// Ctrl-C in the middle of a schema copy: the load in flight is rolled
/// back (no table partly loaded), what committed stays with its record,
/// a plain re-run is refused and names --resume, and --resume completes
/// the copy without loading the finished tables again; verify agrees and
/// no state is left.
#[test]
fn an_interrupted_copy_resumes_without_reloading_finished_tables() {
    let s = servers();
    let src = s.source.fresh_db("intcopy");
    seed_source(&src, BIG);
    let dst = s.target.fresh_db("intcopy");
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    let run = interrupted_copy(&src, &dst, &report);
    assert!(run.stderr.contains("--resume"), "{}", run.stderr);
    assert_eq!(target_rows(&dst, "big"), 0, "big is partly loaded");
    assert_eq!(target_rows(&dst, "tiny"), 1);
    let r = read_report(&report);
    assert_eq!(r["interrupted"], true, "{r}");
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(report_table(&r, "public.tiny")["status"], "ok", "{r}");
    assert_eq!(
        report_table(&r, "public.big")["status"],
        "interrupted",
        "{r}"
    );
    assert!(
        r["left_on_target"].as_str().unwrap().contains("--resume"),
        "{r}"
    );
    // Whether small committed before the stop depends on timing: the
    // resumed run must count exactly the tables the interrupted one did.
    let small_done = report_table(&r, "public.small")["status"] == "ok";
    let done = 1 + usize::from(small_done);

    let (from, to) = (s.source.url(&src), s.target.url(&dst));
    let again = pgbarge(&["copy", "--source", &from, "--target", &to]);
    again.assert_code(2);
    assert!(
        again.stderr.contains("unfinished pgbarge copy") && again.stderr.contains("--resume"),
        "{}",
        again.stderr
    );
    let plan = pgbarge(&["plan", "--source", &from, "--target", &to]);
    assert!(
        plan.stdout.contains("unfinished pgbarge copy"),
        "{}",
        plan.all()
    );

    let resumed = pgbarge(&[
        "copy",
        "--source",
        &from,
        "--target",
        &to,
        "--resume",
        "--report",
        report.to_str().unwrap(),
    ]);
    resumed.assert_code(0);
    assert!(
        resumed.stdout.contains(&format!("resumed: {done} tables")),
        "{}",
        resumed.all()
    );
    let r = read_report(&report);
    assert_eq!(report_table(&r, "public.tiny")["earlier"], true, "{r}");
    assert_eq!(
        report_table(&r, "public.small")["earlier"] == true,
        small_done,
        "{r}"
    );
    assert_eq!(
        report_table(&r, "public.big")["earlier"],
        serde_json::Value::Null,
        "{r}"
    );
    assert_eq!(report_table(&r, "public.big")["rows"], 1_000_000, "{r}");
    assert!(r["resumed"].as_str().is_some(), "{r}");
    assert!(!has_state(&dst), "the run state outlived the run");
    pgbarge(&["verify", "--source", &from, "--target", &to, "--checksums"]).assert_code(0);
    assert_same_content(&src, &dst);
}

/// `pgbarge clean` removes what an interrupted copy left (after asking:
/// without a terminal it needs --yes) and its record; then there is
/// nothing to clean.
#[test]
fn clean_removes_what_an_interrupted_copy_left() {
    let s = servers();
    let src = s.source.fresh_db("intclean");
    seed_source(&src, BIG);
    let dst = s.target.fresh_db("intclean");
    let dir = temp_dir();
    interrupted_copy(&src, &dst, &dir.path().join("r.json"));
    assert!(public_objects(&dst) > 0);
    let to = s.target.url(&dst);
    let ask = pgbarge(&["clean", "--target", &to]);
    ask.assert_code(2);
    assert!(
        ask.stderr.contains("unfinished copy") && ask.stderr.contains("--yes"),
        "{}",
        ask.stderr
    );
    assert!(public_objects(&dst) > 0, "clean acted without --yes");
    pgbarge(&["clean", "--target", &to, "--yes"]).assert_code(0);
    assert_eq!(public_objects(&dst), 0, "the target keeps objects");
    assert!(!has_state(&dst));
    let none = pgbarge(&["clean", "--target", &to]);
    none.assert_code(0);
    assert!(none.stderr.contains("nothing to clean"), "{}", none.stderr);
    // And a fresh copy runs as on an untouched target.
    pgbarge(&[
        "copy",
        "--source",
        &s.source.url(&src),
        "--target",
        &to,
        "-q",
    ])
    .assert_code(0);
    assert_same_content(&src, &dst);
}

/// SIGTERM in the middle of a restore whose big table loads in parallel
/// parts (separate transactions), after some parts committed: no table
/// is left partly loaded (the parts in are emptied again), the report is
/// written, the run exits 130; --resume then completes the restore.
#[test]
fn an_interrupted_parallel_restore_leaves_no_partly_loaded_table_and_resumes() {
    let s = servers();
    let src = s.source.fresh_db("intrestore");
    seed_source(&src, BIG);
    let dir = temp_dir();
    let out = dir.path().join("dump");
    let out = out.to_str().unwrap();
    pgbarge(&[
        "dump",
        "--source",
        &s.source.url(&src),
        "--output",
        out,
        "--part-size",
        "16",
        "-q",
    ])
    .assert_code(0);
    let dst = s.target.fresh_db("intrestore");
    let to = s.target.url(&dst);
    let report = dir.path().join("r.json");
    let run = interrupt_when(
        &[
            "restore",
            "--input",
            out,
            "--target",
            &to,
            "--part-loads",
            "parallel",
            "--jobs",
            "2",
            "--report",
            report.to_str().unwrap(),
        ],
        "restored public.big (part",
        "-TERM",
    );
    assert_eq!(run.code, 130, "{}", run.all());
    let big = target_rows(&dst, "big");
    assert!(
        big == 0 || big == 1_000_000,
        "big is partly loaded: {big} rows"
    );
    let r = read_report(&report);
    assert_eq!(r["interrupted"], true, "{r}");
    assert!(
        r["left_on_target"].as_str().unwrap().contains("--resume"),
        "{r}"
    );
    assert!(has_state(&dst));

    let again = pgbarge(&["restore", "--input", out, "--target", &to]);
    again.assert_code(2);
    assert!(
        again.stderr.contains("unfinished pgbarge restore"),
        "{}",
        again.stderr
    );
    pgbarge(&[
        "restore",
        "--input",
        out,
        "--target",
        &to,
        "--part-loads",
        "parallel",
        "--resume",
        "--report",
        report.to_str().unwrap(),
        "-q",
    ])
    .assert_code(0);
    let r = read_report(&report);
    assert!(r["resumed"].as_str().is_some(), "{r}");
    assert!(!has_state(&dst));
    pgbarge(&["verify", "--input", out, "--target", &to]).assert_code(0);
    assert_same_content(&src, &dst);
}

/// A session that holds a lock the copy needs: the run says, within
/// seconds, who holds it (pid, user, application, query) and how to end
/// it, then goes on when the lock is released.
#[test]
fn a_lock_wait_on_the_target_names_the_blocker() {
    let s = servers();
    let (src, dst) = db_pair("lockwait", "CREATE TABLE t (id int);");
    seed_source(&src, "INSERT INTO t SELECT generate_series(1, 1000);");
    let mut locker = postgres::Client::connect(
        &format!(
            "host=127.0.0.1 port={} user=postgres dbname={dst} application_name=the_locker",
            s.target.port
        ),
        postgres::NoTls,
    )
    .unwrap();
    locker
        .batch_execute("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE;")
        .unwrap();
    let mut cmd = pgbarge_cmd();
    cmd.args(["copy", "--data-only", "--source", &s.source.url(&src)])
        .args(["--target", &s.target.url(&dst)]);
    let mut run = Watched::spawn(cmd);
    let line = run.line_with("waiting", Duration::from_secs(60));
    assert!(
        line.contains("held by pid") && line.contains("application the_locker"),
        "{}",
        run.seen
    );
    assert!(line.contains("LOCK TABLE t"), "{}", run.seen);
    locker.batch_execute("COMMIT").unwrap();
    let run = run.finish(Duration::from_secs(60), "the copy after the lock");
    run.assert_code(0);
    assert_same_content(&src, &dst);
}

/// SIGKILL: nothing in pgbarge runs, yet no table is partly loaded (the
/// server rolls the open load back), and --resume finishes the copy.
#[test]
fn a_killed_copy_resumes() {
    let s = servers();
    let src = s.source.fresh_db("killcopy");
    seed_source(&src, BIG);
    let dst = s.target.fresh_db("killcopy");
    let (from, to) = (s.source.url(&src), s.target.url(&dst));
    let run = interrupt_when(
        &["copy", "--source", &from, "--target", &to],
        "copied public.tiny",
        "-KILL",
    );
    assert_ne!(run.code, 0, "{}", run.all());
    // The killed run's sessions end when the server notices the closed
    // sockets; its load of big is rolled back then.
    wait_until(
        Duration::from_secs(30),
        "the killed load to roll back",
        || target_rows(&dst, "big") == 0,
    );
    pgbarge(&["copy", "--source", &from, "--target", &to, "--resume", "-q"]).assert_code(0);
    pgbarge(&["verify", "--source", &from, "--target", &to, "--checksums"]).assert_code(0);
    assert!(!has_state(&dst));
}

/// A dump killed before it could clean up leaves its hidden work
/// directory; the next dump of the same output removes it and says so.
#[test]
fn a_later_dump_removes_what_a_killed_dump_left() {
    let s = servers();
    let src = s.source.fresh_db("killdump");
    seed_source(&src, "CREATE TABLE t (id int); INSERT INTO t VALUES (1);");
    let dir = temp_dir();
    // No process has this pid (beyond the kernel's largest).
    let stale = dir.path().join(".d.pgbarge-partial-4194305");
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join("manifest.json"), "{").unwrap();
    let out = dir.path().join("d");
    let run = pgbarge(&[
        "dump",
        "--source",
        &s.source.url(&src),
        "--output",
        out.to_str().unwrap(),
    ]);
    run.assert_code(0);
    assert!(run.stderr.contains("removed"), "{}", run.stderr);
    assert!(!stale.exists());
    assert!(out.join("manifest.json").is_file());
}

/// A disk that fills up under a dump: exit 3 with a message that names
/// the full device and the path; no dump appears at the output, and the
/// tables already written are kept, hidden, for --resume (and said so).
/// The small disk is a tmpfs mounted in a mount namespace of the run's
/// own (`unshare`; as an unprivileged user, in a user namespace too).
#[test]
fn a_full_disk_fails_a_dump_cleanly() {
    let s = servers();
    let src = s.source.fresh_db("diskfull");
    seed_source(&src, BIG);
    let dir = temp_dir();
    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let out = disk.join("d");
    let root = running_as_root();
    let script = format!(
        "mount -t tmpfs -o size=4m tmpfs {disk} || exit 99; \"$0\" \"$@\"; echo \"rc=$?\"; \
         echo left:; ls -A {disk}",
        disk = disk.display()
    );
    let mut cmd = std::process::Command::new("unshare");
    if !root {
        cmd.arg("--map-root-user");
    }
    cmd.args(["--mount", "sh", "-c", &script])
        .arg(env!("CARGO_BIN_EXE_pgbarge"))
        .args(["dump", "--source", &s.source.url(&src), "--output"])
        .arg(&out)
        .args(["--compress", "none"]);
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    let o = cmd.output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(
        o.status.code() != Some(99),
        "cannot mount a small disk for the test (unshare/mount): {stderr}"
    );
    assert!(stdout.contains("rc=3"), "{stdout}\n{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(stderr.contains(&disk.display().to_string()), "{stderr}");
    let left = stdout.split("left:").nth(1).unwrap_or("").trim();
    assert!(
        left.is_empty() || (left.starts_with(".d.pgbarge-partial-") && !left.contains('\n')),
        "unexpected files after the failed dump:\n{stdout}"
    );
    if !left.is_empty() {
        assert!(stderr.contains("--resume"), "{stderr}");
    }
}

/// The target server restarts in the middle of a load (a failover, a
/// maintenance restart): the table in flight is loaded again once the
/// server is back, and the copy completes with exit 0 and equal rows.
#[test]
fn a_target_restart_costs_a_retry_not_the_run() {
    let s = servers();
    let target = PgServer::start("restart", false);
    let src = s.source.fresh_db("restart");
    seed_source(
        &src,
        "CREATE TABLE t (id int PRIMARY KEY, v text); \
         INSERT INTO t SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 600000) g;",
    );
    target
        .client("postgres")
        .batch_execute("CREATE DATABASE restart")
        .unwrap();
    target
        .client("restart")
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        .unwrap();
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    let mut cmd = pgbarge_cmd();
    cmd.args(["copy", "--data-only", "--source", &s.source.url(&src)])
        .args(["--target", &target.url("restart")])
        .args(["--report", report.to_str().unwrap()]);
    let mut run = Watched::spawn(cmd);
    run.line_with("copying 1 table ", Duration::from_secs(60));
    // Let rows flow, then restart under them.
    wait_until(Duration::from_secs(30), "rows to reach the target", || {
        target
            .client("restart")
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%'",
                &[],
            )
            .map(|r| r.get::<_, i64>(0) > 0)
            .unwrap_or(false)
    });
    // At once: on a quick machine the whole load takes under a second.
    target.restart();
    let run = run.finish(Duration::from_secs(120), "the copy across a restart");
    run.assert_code(0);
    assert!(run.stderr.contains("retrying public.t"), "{}", run.stderr);
    let r = read_report(&report);
    assert_eq!(report_table(&r, "public.t")["rows"], 600_000, "{r}");
    let rows: i64 = target
        .client("restart")
        .query_one("SELECT count(*) FROM t", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 600_000);
}

/// A dump of one 150,000-row table restored through a proxy that `arm`
/// sets up (`extra`: more restore arguments): the run, the source and
/// target databases, and the run's report.
fn restore_through_fault(
    hint: &str,
    arm: impl FnOnce(&Proxy),
    extra: &[&str],
) -> (Run, String, String, serde_json::Value) {
    let s = servers();
    let src = s.source.fresh_db(hint);
    seed_source(
        &src,
        "CREATE TABLE t (id int PRIMARY KEY, v text); \
         INSERT INTO t SELECT g, repeat(md5(g::text), 2) FROM generate_series(1, 150000) g;",
    );
    let dir = temp_dir();
    let out = dir.path().join("dump");
    let out = out.to_str().unwrap();
    pgbarge(&[
        "dump",
        "--source",
        &s.source.url(&src),
        "--output",
        out,
        "-q",
    ])
    .assert_code(0);
    let dst = s.target.fresh_db(hint);
    let proxy = Proxy::start(s.target.port);
    arm(&proxy);
    let report = dir.path().join("r.json");
    let target = format!(
        "postgres://postgres@127.0.0.1:{}/{dst}?sslmode=disable",
        proxy.port
    );
    let mut cmd = pgbarge_cmd();
    cmd.args(["restore", "--input", out, "--target", &target])
        .args(["--report", report.to_str().unwrap()])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let run = wait_within(cmd.spawn().unwrap(), Duration::from_secs(90), hint);
    assert!(proxy.struck.load(std::sync::atomic::Ordering::SeqCst));
    let r = read_report(&report);
    (run, src, dst, r)
}

/// A link reset under a directory restore: the table is loaded again from
/// its start on a new session, exit 0, the retry reported.
#[test]
fn a_cut_connection_costs_a_restore_a_retry_not_the_run() {
    let (run, src, dst, r) =
        restore_through_fault("cutrestore", |p| p.arm(Fault::Cut, 2 << 20), &[]);
    run.assert_code(0);
    assert!(run.stderr.contains("retrying public.t"), "{}", run.stderr);
    assert_eq!(
        report_table(&r, "public.t")["retries"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{r}"
    );
    assert_same_content(&src, &dst);
}

/// Ctrl-C in the middle of a dump, after some tables are written: the
/// unfinished dump is kept (hidden) and said so; --resume writes only the
/// other tables, the manifest and `verify --input` say the dump is not
/// one snapshot, and it restores to the source's content.
#[test]
fn an_interrupted_dump_resumes() {
    let s = servers();
    let src = s.source.fresh_db("intdump");
    seed_source(&src, BIG);
    let dir = temp_dir();
    let out = dir.path().join("d");
    let out = out.to_str().unwrap();
    let from = s.source.url(&src);
    let args = ["dump", "--source", &from, "--output", out, "--jobs", "2"];
    let run = interrupt_when(&args, "dumped public.small", "-INT");
    assert_eq!(run.code, 130, "{}", run.all());
    assert!(run.stderr.contains("--resume"), "{}", run.stderr);
    assert!(!std::path::Path::new(out).exists());
    let resumed = pgbarge(&[&args[..], &["--resume"]].concat());
    resumed.assert_code(0);
    assert!(
        resumed.stdout.contains("dumped (earlier run)"),
        "{}",
        resumed.all()
    );
    assert!(!resumed.stdout.contains("public.small  ") || resumed.stdout.contains("earlier"));
    let check = pgbarge(&["verify", "--input", out]);
    check.assert_code(0);
    assert!(
        check.stdout.contains("this dump was resumed"),
        "{}",
        check.stdout
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("pgbarge-partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let dst = s.target.fresh_db("intdump");
    pgbarge(&[
        "restore",
        "--input",
        out,
        "--target",
        &s.target.url(&dst),
        "-q",
    ])
    .assert_code(0);
    assert_same_content(&src, &dst);
}

/// A statement lost on the way (a proxy that takes the bytes of an
/// index build and forwards none): the server shows no session working
/// on it, and within the stall bound the wait ends with a message that
/// says so, instead of lasting forever.
#[test]
fn a_lost_statement_is_declared_dead() {
    let s = servers();
    let src = s.source.fresh_db("loststmt");
    seed_source(
        &src,
        "CREATE TABLE t (id int, v text); CREATE INDEX t_v_lost ON t (v); \
         INSERT INTO t SELECT g, g::text FROM generate_series(1, 1000) g;",
    );
    let dst = s.target.fresh_db("loststmt");
    let proxy = Proxy::start(s.target.port);
    proxy.arm_on(Fault::Stall, "CREATE INDEX t_v_lost");
    let target = format!(
        "postgres://postgres@127.0.0.1:{}/{dst}?sslmode=disable",
        proxy.port
    );
    let mut cmd = pgbarge_cmd();
    cmd.args(["copy", "--source", &s.source.url(&src), "--target", &target])
        .args(["--stall-timeout", "3"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let run = wait_within(cmd.spawn().unwrap(), Duration::from_secs(90), "loststmt");
    assert!(proxy.struck.load(std::sync::atomic::Ordering::SeqCst));
    run.assert_code(3);
    assert!(
        run.stderr
            .contains("the server shows no session working on it"),
        "{}",
        run.stderr
    );
}

/// Small tables load many to a transaction, committed in the same send as
/// their rows. When that COMMIT lands but its answer is lost (the link
/// stalls right after it), the run cannot tell from the link whether the
/// rows are in; its record on the target (which commits with the rows)
/// says so. The tables are not loaded a second time: a referenced table
/// (which a retry may not empty first) would get its rows twice.
#[test]
fn a_lost_commit_reply_does_not_load_tables_twice() {
    let s = servers();
    // Into existing tables: `parent` is referenced, so a load may not
    // empty it first (that would need the referencing table emptied too).
    let (src, dst) = db_pair(
        "lostreply",
        "CREATE TABLE parent (id int PRIMARY KEY); \
         CREATE TABLE child (id int PRIMARY KEY, p int REFERENCES parent); \
         CREATE TABLE loose (v text);",
    );
    seed_source(
        &src,
        "INSERT INTO parent SELECT generate_series(1, 50); \
         INSERT INTO child SELECT g, g FROM generate_series(1, 50) g; \
         INSERT INTO loose SELECT 'x' || g FROM generate_series(1, 20) g;",
    );
    let proxy = Proxy::start(s.target.port);
    // The end of the last run record sent with a group's COMMIT.
    proxy.arm_on(Fault::LoseReply, "excluded.finished\n;\nCOMMIT");
    let target = format!(
        "postgres://postgres@127.0.0.1:{}/{dst}?sslmode=disable",
        proxy.port
    );
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    let mut cmd = pgbarge_cmd();
    cmd.args(["copy", "--data-only", "--source", &s.source.url(&src)])
        .args([
            "--target",
            &target,
            "--format",
            "text",
            "--stall-timeout",
            "3",
        ])
        .args(["--report", report.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let run = wait_within(cmd.spawn().unwrap(), Duration::from_secs(90), "lostreply");
    assert!(proxy.struck.load(std::sync::atomic::Ordering::SeqCst));
    run.assert_code(0);
    assert_same_content(&src, &dst);
    let r = read_report(&report);
    assert_eq!(report_table(&r, "public.parent")["rows"], 50, "{r}");
}

/// The same for a table loaded alone: its COMMIT lands, the answer is
/// lost; the retry finds the run's record and does not load it again (the
/// table is referenced, so it could not be emptied first).
#[test]
fn a_lost_commit_reply_of_a_table_loaded_alone_is_not_retried() {
    let s = servers();
    let (src, dst) = db_pair(
        "lostreply1",
        "CREATE TABLE t (id int PRIMARY KEY, v text); \
         CREATE TABLE c (id int REFERENCES t);",
    );
    seed_source(
        &src,
        "INSERT INTO t SELECT g, repeat(md5(g::text), 2) FROM generate_series(1, 150000) g;",
    );
    let proxy = Proxy::start(s.target.port);
    // The COMMIT after the table's rows.
    proxy.arm_on_after(Fault::LoseReply, "COMMIT", 2 << 20);
    let target = format!(
        "postgres://postgres@127.0.0.1:{}/{dst}?sslmode=disable",
        proxy.port
    );
    let dir = temp_dir();
    let report = dir.path().join("r.json");
    let mut cmd = pgbarge_cmd();
    cmd.args(["copy", "--data-only", "--source", &s.source.url(&src)])
        .args(["--target", &target, "--stall-timeout", "3"])
        .args(["--report", report.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let run = wait_within(cmd.spawn().unwrap(), Duration::from_secs(90), "lostreply1");
    assert!(proxy.struck.load(std::sync::atomic::Ordering::SeqCst));
    run.assert_code(0);
    assert!(run.stderr.contains("its commit landed"), "{}", run.stderr);
    assert_same_content(&src, &dst);
    let r = read_report(&report);
    assert_eq!(report_table(&r, "public.t")["rows"], 150000, "{r}");
}

/// A restore whose COMMIT lands but whose answer is lost: the wait ends
/// within the stall bound, and the retry finds the run's record and does
/// not load the table again.
#[test]
fn a_lost_commit_reply_costs_a_restore_no_second_load() {
    let (run, src, dst, _) = restore_through_fault(
        "lostrestore",
        |p| p.arm_on_after(Fault::LoseReply, "COMMIT", 2 << 20),
        &["--stall-timeout", "3"],
    );
    run.assert_code(0);
    assert!(run.stderr.contains("its commit landed"), "{}", run.stderr);
    assert_same_content(&src, &dst);
}
