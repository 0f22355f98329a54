//! Faults: what must hold when a connection breaks under a run.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

/// The target's backend is terminated while it takes a COPY whose
/// source side is far ahead (the channel between them full): the copy
/// ends at once with exit 3 naming the table, and the table holds no
/// row. It used to wait forever: the failed writer kept the channel's
/// receiver alive, so the reader blocked on a full channel.
#[test]
fn a_target_connection_that_breaks_mid_copy_ends_the_run() {
    let s = servers();
    let ddl = "CREATE TABLE big (id int, v text);";
    let (src, dst) = db_pair("brokencopy", ddl);
    seed_source(
        &src,
        "INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 200000) g;",
    );
    // A slow target (a per-row trigger), so the source side runs ahead
    // and the COPY is surely under way when it is cut.
    s.target
        .client(&dst)
        .batch_execute(
            "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS \
               $$ BEGIN PERFORM pg_sleep(0.0005); RETURN NEW; END $$; \
             CREATE TRIGGER slow BEFORE INSERT ON big FOR EACH ROW EXECUTE FUNCTION slow();",
        )
        .unwrap();
    let (surl, turl) = (s.source.url(&src), s.target.url(&dst));
    let mut cmd = pgbarge_cmd();
    cmd.args(["copy", "--data-only", "--source", &surl, "--target", &turl])
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
        Duration::from_secs(60),
        "copy --data-only after the fault",
    );
    run.assert_code(3);
    assert!(run.stderr.contains("public.big"), "{}", run.stderr);
    let mut t = s.target.client(&dst);
    assert_eq!(digest(&mut t, "big").0, 0, "no row of a failed load stays");
}
