//! The target's sessions, watched from a session of their own:
//!
//! - lock waits made visible: a run whose session waits for a lock held
//!   by someone else (an open transaction in psql, an app's long query, a
//!   migration) would otherwise sit silent; the watcher names the blocker
//!   of any wait longer than a few seconds;
//! - long statements (an index build, a validation) proven alive: while
//!   one runs, the server must show its session working on it. A session
//!   gone or idle for the stall bound while pgbarge still waits for the
//!   answer means the statement or its answer was lost on the way (a
//!   pooler or proxy that takes bytes and forwards none), and the wait
//!   ends with `Stalled`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{connect, Endpoint, Role, Stalled};
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

/// A long statement in flight on a session (by its backend pid).
struct Busy {
    /// Since when the server has not shown the session working.
    unseen_since: Option<Instant>,
    dead: Arc<tokio::sync::Notify>,
}

fn busy() -> &'static Mutex<HashMap<i32, Busy>> {
    static B: std::sync::OnceLock<Mutex<HashMap<i32, Busy>>> = std::sync::OnceLock::new();
    B.get_or_init(Default::default)
}

struct BusyGuard(i32);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        busy()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.0);
    }
}

/// Await `statement` on the session with backend `pid`, ending the wait
/// with `Stalled` when the watcher finds the server not working on it
/// for the stall bound (see the module notes). Without a watcher (or a
/// stall bound, or a pid) this is a plain wait.
pub async fn working<T>(
    pid: i32,
    what: impl FnOnce() -> String,
    statement: impl std::future::Future<Output = T>,
) -> anyhow::Result<T> {
    let secs = super::stall_secs();
    if secs == 0 || pid == 0 {
        return Ok(statement.await);
    }
    let dead = Arc::new(tokio::sync::Notify::new());
    busy().lock().unwrap_or_else(|p| p.into_inner()).insert(
        pid,
        Busy {
            unseen_since: None,
            dead: dead.clone(),
        },
    );
    let _guard = BusyGuard(pid);
    tokio::select! {
        r = statement => Ok(r),
        _ = dead.notified() => Err(anyhow::Error::new(Stalled { secs }).context(format!(
            "{}: the server shows no session working on it",
            what()
        ))),
    }
}

/// One look at the busy sessions: those the server shows active are
/// alive; the others are declared dead after the stall bound.
async fn check_busy(c: &tokio_postgres::Client) {
    let pids: Vec<i32> = busy()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .keys()
        .copied()
        .collect();
    if pids.is_empty() {
        return;
    }
    let Ok(Ok(rows)) = tokio::time::timeout(
        Duration::from_secs(10),
        c.query(
            "SELECT pid FROM pg_catalog.pg_stat_activity WHERE pid = ANY($1) AND state = 'active'",
            &[&pids],
        ),
    )
    .await
    else {
        return;
    };
    let active: HashSet<i32> = rows.iter().map(|r| r.get(0)).collect();
    let bound = Duration::from_secs(super::stall_secs());
    let now = Instant::now();
    for (pid, b) in busy().lock().unwrap_or_else(|p| p.into_inner()).iter_mut() {
        if active.contains(pid) {
            b.unseen_since = None;
        } else if now.duration_since(*b.unseen_since.get_or_insert(now)) >= bound {
            b.dead.notify_one();
        }
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
            check_busy(&s.client).await;
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
