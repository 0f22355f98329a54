//! Lock waits on the target, made visible: a run whose session waits for
//! a lock held by someone else (an open transaction in psql, an app's
//! long query, a migration) would otherwise sit silent. A watcher with a
//! session of its own looks every few seconds at this run's target
//! sessions and names the blocker of any wait longer than a few seconds.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use super::{connect, Endpoint, Role};
use crate::progress::Mode;

/// How long a wait lasts before it is reported.
const REPORT_AFTER_SECS: i32 = 5;
/// How often the watcher looks.
const EVERY: Duration = Duration::from_secs(2);

fn run_pids() -> &'static Mutex<HashSet<i32>> {
    static P: std::sync::OnceLock<Mutex<HashSet<i32>>> = std::sync::OnceLock::new();
    P.get_or_init(Default::default)
}

/// Note a target session of this run (done by `connect`).
pub(crate) fn register(pid: i32) {
    if pid != 0 {
        run_pids()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(pid);
    }
}

/// Forget a target session of this run (its `Session` was dropped; the
/// server may give the pid to someone else).
pub(crate) fn unregister(pid: i32) {
    run_pids()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&pid);
}

/// The watcher; it stops when dropped.
pub struct LockWatch(tokio::task::JoinHandle<()>);

impl Drop for LockWatch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Watch this run's sessions on `target` for lock waits.
pub fn watch(target: &Endpoint, mode: Mode) -> LockWatch {
    let ep = target.clone();
    LockWatch(tokio::spawn(async move {
        // The watcher is a help, never a cause of failure: without its
        // session, the run goes on unwatched.
        let Ok(s) = connect(&ep, Role::Target).await else {
            return;
        };
        let mut told: HashSet<(i32, i32)> = HashSet::new();
        loop {
            tokio::time::sleep(EVERY).await;
            let pids: Vec<i32> = run_pids()
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .copied()
                .filter(|p| *p != s.pid)
                .collect();
            let Ok(rows) = s
                .client
                .query(
                    "SELECT w.pid, b.pid, \
                            EXTRACT(epoch FROM pg_catalog.now() - w.state_change)::int, \
                            coalesce(b.application_name, ''), coalesce(b.state, ''), \
                            pg_catalog.left(coalesce(b.query, ''), 200), \
                            coalesce(b.usename::text, '') \
                       FROM pg_catalog.pg_stat_activity w \
                       CROSS JOIN LATERAL pg_catalog.unnest(pg_catalog.pg_blocking_pids(w.pid)) AS bp(pid) \
                       JOIN pg_catalog.pg_stat_activity b ON b.pid = bp.pid \
                      WHERE w.pid = ANY($1) AND w.wait_event_type = 'Lock' \
                        AND w.state_change < pg_catalog.now() - pg_catalog.make_interval(secs => $2)",
                    &[&pids, &f64::from(REPORT_AFTER_SECS)],
                )
                .await
            else {
                continue;
            };
            for r in rows {
                let (waiter, blocker): (i32, i32) = (r.get(0), r.get(1));
                if !told.insert((waiter, blocker)) {
                    continue;
                }
                let secs: i32 = r.get(2);
                let (app, state, query, user): (String, String, String, String) =
                    (r.get(3), r.get(4), r.get(5), r.get(6));
                let query = query.split_whitespace().collect::<Vec<_>>().join(" ");
                mode.say(&crate::ddl::quote::terminal_text(&format!(
                    "waiting {secs} s for a lock on the target held by pid {blocker} (user {user}, \
                     application {}, {state}): {query}; the run goes on when it is released \
                     (or end that session: SELECT pg_terminate_backend({blocker}))",
                    if app.is_empty() { "unnamed" } else { &app }
                )));
            }
        }
    }))
}
