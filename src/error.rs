//! Error kinds that decide pgbarge's exit code.
//!
//! Core code returns [`Error`]; `main` maps it to the exit codes of the
//! command-line contract. Runtime failures carry an `anyhow` chain so the
//! message names the object (table, file, server) and what went wrong.
//! Nothing here may format a connection string with its password.

use std::fmt;

/// Exit codes of the command-line contract (DESIGN.md).
pub mod exit {
    pub const OK: u8 = 0;
    pub const MISMATCH: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const RUNTIME: u8 = 3;
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags, bad configuration, or a refusal to act on the input
    /// (same source and target, non-empty target table, ...). Exit 2.
    #[error("{0}")]
    Usage(String),
    /// Verification found a difference, or a plan found a blocker. Exit 1.
    #[error("{0}")]
    Mismatch(String),
    /// Connection, SQL or I/O failure. Exit 3.
    #[error(transparent)]
    Runtime(#[from] anyhow::Error),
    /// Ctrl-C or SIGTERM. Exit 130.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    pub fn usage(msg: impl fmt::Display) -> Self {
        Error::Usage(msg.to_string())
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Mismatch(_) => exit::MISMATCH,
            Error::Runtime(_) => exit::RUNTIME,
            Error::Interrupted => exit::INTERRUPTED,
        }
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        Error::Runtime(anyhow::Error::new(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Render a tokio-postgres error with the server's detail and hint, which
/// its `Display` leaves out ("db error" alone tells a user nothing).
pub fn describe_pg(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{}: {}", db.severity(), db.message());
            if let Some(d) = db.detail() {
                s.push_str(&format!("\n  DETAIL: {d}"));
            }
            if let Some(h) = db.hint() {
                s.push_str(&format!("\n  HINT: {h}"));
            }
            s
        }
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(inner) = src {
                s.push_str(&format!(": {inner}"));
                src = inner.source();
            }
            s
        }
    }
}

/// Extension to attach pgbarge context to a tokio-postgres result.
pub trait PgContext<T> {
    fn pg_context(self, what: impl FnOnce() -> String) -> anyhow::Result<T>;
}

impl<T> PgContext<T> for std::result::Result<T, tokio_postgres::Error> {
    fn pg_context(self, what: impl FnOnce() -> String) -> anyhow::Result<T> {
        self.map_err(|e| anyhow::anyhow!("{}: {}", what(), describe_pg(&e)))
    }
}
