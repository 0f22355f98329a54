//! Connections: from a connection string to a ready session.
//!
//! Owns parsing ([`params`]), TLS ([`tls`]), and the session settings that
//! make text COPY output and input agree on both servers. Does not run any
//! data-moving SQL; callers do.

pub mod locks;
pub mod params;
pub mod tls;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use tokio_postgres::{Client, NoTls};

use crate::error::{describe_pg, PgContext};
pub use params::{Endpoint, SslMode};

/// Which side a session serves; decides its session settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Source,
    Target,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Target => "target",
        }
    }
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// Read the password file libpq would read, refusing (with a warning, as
/// libpq does) one that other users can read.
fn read_pgpass() -> Option<String> {
    let path = match std::env::var_os("PGPASSFILE").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => home_dir()?.join(".pgpass"),
    };
    let meta = std::fs::metadata(&path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            eprintln!(
                "warning: password file \"{}\" has group or world access; permissions should be \
                 u=rw (0600) or less; ignoring it",
                path.display()
            );
            return None;
        }
    }
    if !meta.is_file() {
        return None;
    }
    std::fs::read_to_string(&path).ok()
}

/// Resolve a connection string against the real environment. `what` names
/// the option it came from (for errors), e.g. "--source".
pub fn resolve_endpoint(conn: &str, what: &str) -> crate::Result<Endpoint> {
    let parsed = params::parse(conn)
        .map_err(|e| crate::Error::usage(format!("invalid connection string for {what}: {e}")))?;
    let var = |k: &str| std::env::var(k).ok();
    let os_user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "postgres".into());
    let default_socket_dir = ["/var/run/postgresql", "/tmp"]
        .into_iter()
        .find(|d| std::path::Path::new(d).is_dir())
        .unwrap_or("/tmp")
        .to_string();
    let env = params::Environment {
        var: &var,
        pgpass: read_pgpass(),
        os_user,
        default_socket_dir,
    };
    params::resolve(&parsed, &env).map_err(|e| crate::Error::usage(format!("{what}: {e}")))
}

/// Facts about a connected server, read once.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServerInfo {
    pub version: String,
    pub version_num: i32,
    pub database: String,
    pub superuser: bool,
    pub in_recovery: bool,
    pub tls: bool,
    /// `pg_control_system().system_identifier`, when the role may read it.
    #[serde(skip)]
    pub system_identifier: Option<i64>,
    /// Fallback identity: postmaster start time and database OID.
    #[serde(skip)]
    pub fingerprint: String,
}

impl ServerInfo {
    pub fn major(&self) -> i32 {
        self.version_num / 10000
    }

    /// `LABEL: URL (PostgreSQL VERSION, TLS)`, the line every command
    /// prints for each server it uses.
    pub fn describe(&self, label: &str, ep: &Endpoint) -> String {
        format!(
            "{label}: {ep} (PostgreSQL {}{})",
            self.version,
            if self.tls { ", TLS" } else { "" }
        )
    }

    /// A target must accept writes.
    pub fn refuse_standby(&self, ep: &Endpoint) -> crate::Result<()> {
        if self.in_recovery {
            return Err(crate::Error::usage(format!(
                "target {ep} is a read-only standby; point --target at the primary"
            )));
        }
        Ok(())
    }
}

/// An open session with its settings applied.
pub struct Session {
    pub client: Client,
    pub endpoint: Endpoint,
    pub role: Role,
    /// The server process serving this session.
    pub pid: i32,
    /// The server's facts, read with the session's setup.
    info: ServerInfo,
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.role == Role::Target {
            locks::unregister(self.pid);
        }
    }
}

/// Seconds without progress after which a stream is declared dead.
pub const DEFAULT_STALL_SECS: u64 = 300;

static STALL_SECS: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(DEFAULT_STALL_SECS);

/// Set the stall bound (`--stall-timeout`; 0: none).
pub fn set_stall_timeout(secs: u64) {
    STALL_SECS.store(secs, std::sync::atomic::Ordering::Relaxed);
}

/// The stall bound in seconds (0: none).
pub fn stall_secs() -> u64 {
    STALL_SECS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Await one step of a data stream (a read, a write, the end of a COPY),
/// failing when it makes no progress within the stall bound: TCP does
/// not notice a link that went silent, or a proxy that takes bytes and
/// forwards none, for a very long time.
pub async fn within_stall<T>(
    what: impl FnOnce() -> String,
    step: impl std::future::Future<Output = T>,
) -> anyhow::Result<T> {
    let secs = STALL_SECS.load(std::sync::atomic::Ordering::Relaxed);
    if secs == 0 {
        return Ok(step.await);
    }
    tokio::time::timeout(Duration::from_secs(secs), step)
        .await
        .map_err(|_| anyhow::Error::new(Stalled { secs }).context(what()))
}

/// A stream declared dead by `within_stall`.
#[derive(Debug)]
pub struct Stalled {
    pub secs: u64,
}

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no progress for {} s; the connection is taken for dead (a dropped link or a stalled \
             proxy; --stall-timeout sets this bound)",
            self.secs
        )
    }
}

impl std::error::Error for Stalled {}

impl Session {
    /// End another session of this run that is taken for dead but may
    /// still hold its transaction (and its locks) on the server: a stalled
    /// link leaves the server waiting for bytes that never come.
    pub async fn end_stale(&self, stale: &Session) {
        if stale.pid != 0 && stale.pid != self.pid {
            let _ = self
                .client
                .execute("SELECT pg_catalog.pg_terminate_backend($1)", &[&stale.pid])
                .await;
        }
    }

    /// The connection is gone (closed by the server, the network, or a
    /// terminated backend).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}

/// Whether a failure is one a retry may cure: the session died, or the
/// stream stalled. An error the server gave on a live session (SQL,
/// permissions, bad data) is not.
pub fn transient(e: &anyhow::Error, sessions: &[&Session]) -> bool {
    e.chain().any(|c| c.is::<Stalled>()) || sessions.iter().any(|s| s.is_closed())
}

/// Connect, apply the session settings for `role`.
pub async fn connect(ep: &Endpoint, role: Role) -> anyhow::Result<Session> {
    let mut cfg = tokio_postgres::Config::new();
    if ep.is_unix_socket() {
        cfg.host_path(&ep.host);
    } else {
        cfg.host(&ep.host);
    }
    cfg.port(ep.port)
        .user(&ep.user)
        .dbname(&ep.dbname)
        .application_name(&ep.application_name)
        .connect_timeout(Duration::from_secs(ep.connect_timeout.max(1)))
        // A peer that vanished is noticed within about two minutes; data
        // that stops flowing on a live socket is `within_stall`'s job.
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(60))
        .keepalives_interval(Duration::from_secs(10))
        .keepalives_retries(6)
        .tcp_user_timeout(Duration::from_secs(120))
        .ssl_mode(match ep.sslmode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Allow | SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
    if let Some(pw) = &ep.password {
        cfg.password(pw);
    }
    let fail = |e: tokio_postgres::Error| {
        anyhow::anyhow!(
            "cannot connect to {} {}: {}",
            role.name(),
            ep.redacted(),
            tls_refusal(&e).unwrap_or_else(|| describe_pg(&e))
        )
    };
    // As libpq: TLS is never used on a Unix socket, whatever sslmode says.
    let client = if ep.sslmode == SslMode::Disable || ep.is_unix_socket() {
        cfg.ssl_mode(tokio_postgres::config::SslMode::Disable);
        let (client, conn) = cfg.connect(NoTls).await.map_err(fail)?;
        tokio::spawn(conn);
        client
    } else {
        let tls_cfg = tls::client_config(ep, home_dir().as_deref())
            .with_context(|| format!("TLS setup for {} {}", role.name(), ep.redacted()))?;
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_cfg);
        let (client, conn) = cfg.connect(tls).await.map_err(fail)?;
        tokio::spawn(conn);
        client
    };
    // jit off, as pg_dump does: catalog queries with per-row subqueries
    // are costed high enough to be compiled, which costs ~0.1 s each and
    // saves nothing (nor on COPY or the checksum scans of verify).
    let mut setup = String::from(
        "SET DateStyle = ISO; SET IntervalStyle = postgres; SET extra_float_digits = 3; \
         SET TimeZone = 'UTC'; SET bytea_output = hex; SET lc_monetary = 'C'; SET statement_timeout = 0; \
         SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0; \
         SET standard_conforming_strings = on; SET jit = off; \
         SELECT pg_catalog.set_config('search_path', '', false);",
    );
    if role == Role::Target {
        // Function bodies unchecked, as in pg_dump's scripts: a body may
        // name what is created later.
        setup.push_str(" SET synchronous_commit = off; SET check_function_bodies = off;");
    }
    // The server's facts come in the same round trip. pg_control_system()
    // may be closed to ordinary roles: then the fingerprint stands in for
    // the identifier (and should asking fail anyway, the facts are asked
    // again without it).
    let ask = |identifier: bool| {
        format!(
            "{setup} SELECT pg_catalog.pg_backend_pid(), {FACTS}, {}",
            if identifier {
                "CASE WHEN pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', \
                 'EXECUTE') THEN (SELECT system_identifier FROM pg_catalog.pg_control_system()) END"
            } else {
                "NULL"
            }
        )
    };
    let answer = match client.simple_query(&ask(true)).await {
        Ok(m) => m,
        Err(_) => client
            .simple_query(&ask(false))
            .await
            .pg_context(|| format!("setting up the {} session", role.name()))?,
    };
    // The last statement's row (set_config answers one too).
    let row = answer
        .iter()
        .rev()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        })
        .ok_or_else(|| anyhow::anyhow!("the {} server answered no facts", role.name()))?;
    let field = |i: usize| row.try_get(i).ok().flatten();
    let text = |i: usize| field(i).unwrap_or_default().to_string();
    let flag = |i: usize| field(i) == Some("t");
    let pid = text(0).parse().unwrap_or(0);
    let info = ServerInfo {
        version: text(1),
        version_num: text(2)
            .parse()
            .map_err(|_| anyhow::anyhow!("the {} server gave no version number", role.name()))?,
        database: text(3),
        superuser: flag(4),
        in_recovery: flag(5),
        tls: flag(6),
        fingerprint: text(7),
        system_identifier: field(8).and_then(|v| v.parse().ok()),
    };
    if role == Role::Target {
        locks::register(pid);
    }
    Ok(Session {
        client,
        endpoint: ep.clone(),
        role,
        pid,
        info,
    })
}

/// What [`ServerInfo`] holds (after the backend's pid, before the
/// system identifier), as the select list of the setup's last statement.
const FACTS: &str = "current_setting('server_version'), \
     current_setting('server_version_num')::int4, \
     current_database()::text, \
     (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user), \
     pg_catalog.pg_is_in_recovery(), \
     coalesce((SELECT ssl FROM pg_catalog.pg_stat_ssl WHERE pid = pg_catalog.pg_backend_pid()), false), \
     pg_catalog.pg_postmaster_start_time()::text || '/' || \
       (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())::text";

impl Session {
    /// Version, role attributes and identity of the server (read with the
    /// session's setup: no round trip of its own).
    pub async fn server_info(&self) -> anyhow::Result<ServerInfo> {
        Ok(self.info.clone())
    }
}

/// True when two sessions reach the same database of the same cluster.
pub fn same_database(a: &ServerInfo, b: &ServerInfo) -> bool {
    match (a.system_identifier, b.system_identifier) {
        (Some(x), Some(y)) if x != y => false,
        _ => a.fingerprint == b.fingerprint && a.database == b.database,
    }
}

/// The certificate check's own words, when that is why a connection
/// failed (rustls carries them inside an I/O error).
fn tls_refusal(e: &tokio_postgres::Error) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let rustls_err = err.downcast_ref::<rustls::Error>().or_else(|| {
            err.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(o))) =
            rustls_err
        {
            if let Some(r) = o.0.downcast_ref::<tls::TlsRefusal>() {
                return Some(r.0.clone());
            }
        }
        cur = err.source();
    }
    None
}
