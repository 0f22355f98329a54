//! Ctrl-C and SIGTERM: the first asks the run to stop, the second ends
//! the process at once.
//!
//! A stop request does not drop work on the floor: commands that write
//! check [`requested`] / await [`wait`] at their seams, roll back what is
//! in flight (a table is never left partly loaded), undo or record what
//! they made, write their report, and return [`Error::Interrupted`]
//! (exit 130). Read-only commands (plan, verify) are simply dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use tokio::sync::Notify;

use crate::error::{Error, Result};

static REQUESTED: AtomicBool = AtomicBool::new(false);

fn notify() -> &'static Notify {
    static N: OnceLock<Notify> = OnceLock::new();
    N.get_or_init(Notify::new)
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Ask the run to stop (what the first signal does).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
    notify().notify_waiters();
}

/// `Err(Interrupted)` once a stop was asked for.
pub fn check() -> Result<()> {
    if requested() {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}

/// Returns once a stop is asked for (at once when it already was).
pub async fn wait() {
    loop {
        let woken = notify().notified();
        if requested() {
            return;
        }
        woken.await;
    }
}

/// Listen for Ctrl-C and SIGTERM on the current runtime: the first asks
/// the run to stop and says so, the second exits 130 at once.
pub fn listen() {
    tokio::spawn(async {
        signal().await;
        eprintln!(
            "\ninterrupted: stopping (work in flight is rolled back or removed); press Ctrl-C again to \
             quit at once"
        );
        request();
        signal().await;
        eprintln!("\ninterrupted again: quitting at once");
        std::process::exit(crate::error::exit::INTERRUPTED.into());
    });
}

async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
