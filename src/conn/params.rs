//! Connection parameters: parse `postgres://` URLs and libpq `key=value`
//! strings, fill the gaps from PG* environment variables and `.pgpass`,
//! and show them without the password.
//!
//! Pure code: the environment and the password file are passed in, so
//! every rule here is unit-tested without a server.

use std::fmt;

/// libpq's `sslmode`, all six values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return Err(
                "invalid sslmode: use disable, allow, prefer, require, verify-ca or verify-full"
                    .into(),
            ),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// What a connection string said, before defaults are applied.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConnParams {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub dbname: Option<String>,
    pub sslmode: Option<SslMode>,
    pub sslrootcert: Option<String>,
    pub sslcert: Option<String>,
    pub sslkey: Option<String>,
    pub sslpassword: Option<String>,
    pub connect_timeout: Option<u64>,
    pub application_name: Option<String>,
}

impl fmt::Debug for ConnParams {
    // Never print a password or a key's passphrase, not even in debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |p: &Option<String>| p.as_ref().map(|_| "(hidden)");
        f.debug_struct("ConnParams")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &hidden(&self.password))
            .field("dbname", &self.dbname)
            .field("sslmode", &self.sslmode)
            .field("sslrootcert", &self.sslrootcert)
            .field("sslcert", &self.sslcert)
            .field("sslkey", &self.sslkey)
            .field("sslpassword", &hidden(&self.sslpassword))
            .field("connect_timeout", &self.connect_timeout)
            .field("application_name", &self.application_name)
            .finish()
    }
}

/// Fully resolved parameters: everything a connection needs.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name, IP address, or an absolute directory holding a Unix socket.
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub dbname: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<String>,
    /// Client certificate and key (libpq's defaults
    /// `~/.postgresql/postgresql.crt` and `.key` apply when unset), and
    /// the password of an encrypted key.
    pub sslcert: Option<String>,
    pub sslkey: Option<String>,
    pub sslpassword: Option<String>,
    pub connect_timeout: u64,
    pub application_name: String,
}

impl Endpoint {
    pub fn is_unix_socket(&self) -> bool {
        self.host.starts_with('/')
    }

    /// The server runs on this machine: a Unix socket, `localhost` or a
    /// loopback address.
    pub fn is_local(&self) -> bool {
        self.is_unix_socket()
            || self.host.eq_ignore_ascii_case("localhost")
            || self
                .host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The endpoint as a URL without the password: safe for any output.
    pub fn redacted(&self) -> String {
        let user = percent_encode(&self.user);
        let db = percent_encode(&self.dbname);
        let mut s = if self.is_unix_socket() {
            format!(
                "postgres://{user}@/{db}?host={}&port={}",
                percent_encode(&self.host),
                self.port
            )
        } else if self.host.contains(':') {
            format!("postgres://{user}@[{}]:{}/{db}", self.host, self.port)
        } else {
            format!("postgres://{user}@{}:{}/{db}", self.host, self.port)
        };
        if !self.is_unix_socket() {
            s.push_str(&format!("?sslmode={}", self.sslmode.as_str()));
        }
        s
    }
}

impl fmt::Debug for Endpoint {
    // Never print the password, not even in debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Parse a connection string: a `postgres://` / `postgresql://` URL or a
/// libpq `key=value` string. Errors never echo the input (it may hold a
/// password).
pub fn parse(s: &str) -> Result<ConnParams, String> {
    let t = s.trim();
    if let Some(rest) = t
        .strip_prefix("postgres://")
        .or_else(|| t.strip_prefix("postgresql://"))
    {
        parse_url(rest)
    } else if t.contains("://") {
        Err("unsupported URL scheme: use postgres:// or postgresql://".into())
    } else {
        parse_keyword_value(t)
    }
}

fn parse_url(rest: &str) -> Result<ConnParams, String> {
    let mut p = ConnParams::default();
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((a, path)) => (a, Some(path)),
        None => (before_query, None),
    };
    // The password may contain '@' when percent-encoding was forgotten:
    // the last '@' separates user info from the host, as libpq does.
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    if let Some(ui) = userinfo {
        let (u, pw) = match ui.split_once(':') {
            Some((u, pw)) => (u, Some(pw)),
            None => (ui, None),
        };
        if !u.is_empty() {
            p.user = Some(percent_decode(u)?);
        }
        if let Some(pw) = pw {
            p.password = Some(percent_decode(pw)?);
        }
    }
    if hostport.contains(',') {
        return Err("multiple hosts in one URL are not supported".into());
    }
    if !hostport.is_empty() {
        let (host, port) = if let Some(after) = hostport.strip_prefix('[') {
            let (h, tail) = after.split_once(']').ok_or("unterminated [ in IPv6 host")?;
            (h.to_string(), tail.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, port)) => (percent_decode(h)?, Some(port)),
                None => (percent_decode(hostport)?, None),
            }
        };
        if !host.is_empty() {
            p.host = Some(host);
        }
        if let Some(port) = port.filter(|s| !s.is_empty()) {
            p.port = Some(parse_port(port)?);
        }
    }
    if let Some(db) = path.filter(|s| !s.is_empty()) {
        p.dbname = Some(percent_decode(db)?);
    }
    if let Some(q) = query {
        for pair in q.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = pair.split_once('=').ok_or(
                "a URL parameter has no \"=value\" (its text is not shown: it may hold a password)",
            )?;
            set_param(&mut p, &percent_decode(k)?, percent_decode(v)?)?;
        }
    }
    Ok(p)
}

fn parse_keyword_value(s: &str) -> Result<ConnParams, String> {
    let mut p = ConnParams::default();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(format!(
                "it is neither a postgres:// URL nor key=value pairs ({}; the text is not shown: \
                 it may hold a password)",
                match known_key(&key) {
                    Some(k) => format!("\"{k}\" has no \"=\" after it"),
                    None => "a word without \"=\"".into(),
                }
            ));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.push(chars.next().ok_or("unterminated quoted value")?),
                    '\'' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(format!(
                    "unterminated quoted value for {}",
                    known_key(&key).map_or("a parameter".into(), |k| format!("\"{k}\""))
                ));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    value.push(chars.next().ok_or("trailing backslash")?);
                } else {
                    value.push(c);
                }
            }
        }
        set_param(&mut p, &key, value)?;
    }
    Ok(p)
}

fn set_param(p: &mut ConnParams, key: &str, value: String) -> Result<(), String> {
    match key {
        "host" => {
            if value.contains(',') {
                return Err("multiple hosts are not supported".into());
            }
            p.host = Some(value)
        }
        "port" => p.port = Some(parse_port(&value)?),
        "user" => p.user = Some(value),
        "password" => p.password = Some(value),
        "dbname" => p.dbname = Some(value),
        "sslmode" => p.sslmode = Some(SslMode::parse(&value)?),
        "sslrootcert" => p.sslrootcert = Some(value),
        "sslcert" => p.sslcert = Some(value),
        "sslkey" => p.sslkey = Some(value),
        "sslpassword" => p.sslpassword = Some(value),
        "connect_timeout" => {
            p.connect_timeout = Some(
                value
                    .parse()
                    .map_err(|_| "invalid connect_timeout: expected whole seconds".to_string())?,
            )
        }
        "application_name" => p.application_name = Some(value),
        other => {
            return Err(format!(
                "unsupported connection parameter {} (pgbarge understands host, port, user, \
                 password, dbname, sslmode, sslrootcert, sslcert, sslkey, sslpassword, \
                 connect_timeout, application_name)",
                known_key(other).map_or("(not shown: it may hold a password)".into(), |k| {
                    format!("\"{k}\"")
                })
            ))
        }
    }
    Ok(())
}

fn parse_port(s: &str) -> Result<u16, String> {
    s.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            format!("invalid port {s}: expected 1 to 65535")
        } else {
            // Not digits: often a password in the wrong place
            // (`postgres://user:secret/db`), so it is not shown.
            "invalid port: expected a number from 1 to 65535 (the text is not shown: it may \
                 be a password; a URL's password goes in user:password@host)"
                .into()
        }
    })
}

/// libpq's connection keywords: a key that is one of these is shown in
/// errors; any other word may be a secret typed in the wrong place.
fn known_key(key: &str) -> Option<&str> {
    const LIBPQ_KEYS: &[&str] = &[
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "password",
        "passfile",
        "require_auth",
        "channel_binding",
        "connect_timeout",
        "client_encoding",
        "options",
        "application_name",
        "fallback_application_name",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "replication",
        "gssencmode",
        "sslmode",
        "sslnegotiation",
        "sslcompression",
        "sslcert",
        "sslkey",
        "sslkeylogfile",
        "sslpassword",
        "sslcertmode",
        "sslrootcert",
        "sslcrl",
        "sslcrldir",
        "sslsni",
        "requirepeer",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "krbsrvname",
        "gsslib",
        "gssdelegation",
        "service",
        "target_session_attrs",
        "load_balance_hosts",
        "min_protocol_version",
        "max_protocol_version",
    ];
    LIBPQ_KEYS.contains(&key).then_some(key)
}

fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("invalid percent-encoding in URL")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "URL is not valid UTF-8 after percent-decoding".into())
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where a resolution gets its outside facts from; tests pass fakes.
pub struct Environment<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    /// Contents of the password file, if one is readable and safe to use.
    pub pgpass: Option<String>,
    pub os_user: String,
    /// Unix socket directory used when no host is given.
    pub default_socket_dir: String,
}

/// Apply PG* environment variables, `.pgpass` and libpq's defaults.
pub fn resolve(p: &ConnParams, env: &Environment) -> Result<Endpoint, String> {
    let var = |k: &str| (env.var)(k).filter(|v| !v.is_empty());
    let host = p
        .host
        .clone()
        .or_else(|| var("PGHOST"))
        .unwrap_or_else(|| env.default_socket_dir.clone());
    let port = match (p.port, var("PGPORT")) {
        (Some(port), _) => port,
        (None, Some(s)) => parse_port(&s).map_err(|e| format!("PGPORT: {e}"))?,
        (None, None) => 5432,
    };
    let user = p
        .user
        .clone()
        .or_else(|| var("PGUSER"))
        .unwrap_or_else(|| env.os_user.clone());
    let dbname = p
        .dbname
        .clone()
        .or_else(|| var("PGDATABASE"))
        .unwrap_or_else(|| user.clone());
    let sslrootcert = p.sslrootcert.clone().or_else(|| var("PGSSLROOTCERT"));
    // As libpq (16+): the system's roots mean verify-full, by default and
    // at the least; anything weaker would trust any certificate.
    let system = sslrootcert.as_deref() == Some("system");
    let sslmode = match (p.sslmode, var("PGSSLMODE")) {
        (Some(m), _) => m,
        (None, Some(s)) => SslMode::parse(&s).map_err(|e| format!("PGSSLMODE: {e}"))?,
        (None, None) if system => SslMode::VerifyFull,
        (None, None) => SslMode::Prefer,
    };
    if system && sslmode != SslMode::VerifyFull {
        return Err(format!(
            "sslmode={} may not be used with sslrootcert=system (use sslmode=verify-full, the \
             default with it)",
            sslmode.as_str()
        ));
    }
    let connect_timeout = match (p.connect_timeout, var("PGCONNECT_TIMEOUT")) {
        (Some(t), _) => t,
        (None, Some(s)) => s
            .parse()
            .map_err(|_| "PGCONNECT_TIMEOUT: expected whole seconds".to_string())?,
        (None, None) => 30,
    };
    let password = p
        .password
        .clone()
        .or_else(|| var("PGPASSWORD"))
        .or_else(|| {
            env.pgpass.as_deref().and_then(|file| {
                // libpq looks up the default socket as "localhost".
                let h = if host.starts_with('/') {
                    "localhost"
                } else {
                    &host
                };
                pgpass_lookup(file, h, port, &dbname, &user)
            })
        });
    Ok(Endpoint {
        host,
        port,
        user,
        password,
        dbname,
        sslmode,
        sslrootcert,
        sslcert: p.sslcert.clone().or_else(|| var("PGSSLCERT")),
        sslkey: p.sslkey.clone().or_else(|| var("PGSSLKEY")),
        sslpassword: p.sslpassword.clone(),
        connect_timeout,
        application_name: p
            .application_name
            .clone()
            .unwrap_or_else(|| "pgbarge".into()),
    })
}

/// Find the password for an endpoint in `.pgpass` text: the first line
/// whose five fields match, `*` matching anything, `\:` and `\\` escaped.
pub fn pgpass_lookup(file: &str, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    for line in file.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass_line(line);
        if fields.len() < 5 {
            continue;
        }
        let want = [host, port.as_str(), db, user];
        if fields[..4]
            .iter()
            .zip(want)
            .all(|(f, w)| f == "*" || f == w)
        {
            return Some(fields[4..].join(":"));
        }
    }
    None
}

fn split_pgpass_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields.last_mut().expect("never empty").push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("never empty").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    #[test]
    fn parse_errors_never_echo_what_may_be_a_password() {
        let secret = "hunter2secret";
        for input in [
            "hunter2secret",
            "  hunter2secret  ",
            "host=db hunter2secret",
            "hunter2secret=1",
            "host=db password='hunter2secret",
            "sslmode=hunter2secret",
            "connect_timeout=hunter2secret",
            "port=hunter2secret",
            "postgres://me:hunter2secret/app",
            "postgres://db:hunter2secret",
            "postgres://db/app?hunter2secret",
            "postgres://db/app?hunter2secret=1",
            "postgres://db/app?sslmode=hunter2secret",
            "postgresql://me@db:hunter2secret/app",
        ] {
            let e = parse(input).expect_err(input);
            assert!(!e.contains(secret), "{input:?} gave {e:?}");
        }
        assert!(parse("sslcrl=x").unwrap_err().contains("\"sslcrl\""));
        assert!(parse("port=99999").unwrap_err().contains("99999"));
    }

    use super::*;

    fn env_with<'a>(
        var: &'a dyn Fn(&str) -> Option<String>,
        pgpass: Option<&str>,
    ) -> Environment<'a> {
        Environment {
            var,
            pgpass: pgpass.map(str::to_string),
            os_user: "alice".into(),
            default_socket_dir: "/var/run/postgresql".into(),
        }
    }

    #[test]
    fn url_with_everything() {
        let p = parse("postgresql://bob:s%40cret@db.example.com:6543/my%20db?sslmode=verify-full&sslrootcert=/c.pem&application_name=x").unwrap();
        assert_eq!(p.user.as_deref(), Some("bob"));
        assert_eq!(p.password.as_deref(), Some("s@cret"));
        assert_eq!(p.host.as_deref(), Some("db.example.com"));
        assert_eq!(p.port, Some(6543));
        assert_eq!(p.dbname.as_deref(), Some("my db"));
        assert_eq!(p.sslmode, Some(SslMode::VerifyFull));
        assert_eq!(p.sslrootcert.as_deref(), Some("/c.pem"));
        assert_eq!(p.application_name.as_deref(), Some("x"));
    }

    #[test]
    fn url_unix_socket_and_ipv6() {
        let p = parse("postgres:///app?host=/tmp/sock&port=5433").unwrap();
        assert_eq!(p.host.as_deref(), Some("/tmp/sock"));
        assert_eq!(p.dbname.as_deref(), Some("app"));
        assert_eq!(p.port, Some(5433));
        let p = parse("postgres://%2Ftmp%2Fsock/app").unwrap();
        assert_eq!(p.host.as_deref(), Some("/tmp/sock"));
        let p = parse("postgres://u@[::1]:5432/d").unwrap();
        assert_eq!(p.host.as_deref(), Some("::1"));
        assert_eq!(p.port, Some(5432));
    }

    #[test]
    fn local_servers_are_sockets_localhost_and_loopback() {
        let none = |_: &str| None;
        let env = env_with(&none, None);
        let local = |url: &str| resolve(&parse(url).unwrap(), &env).unwrap().is_local();
        for url in [
            "postgres://localhost/app",
            "postgres://127.0.0.1:5433/app",
            "postgres://[::1]/app",
            "postgres:///app?host=/tmp/sock",
        ] {
            assert!(local(url), "{url}");
        }
        for url in ["postgres://db.example.com/app", "postgres://10.0.0.5/app"] {
            assert!(!local(url), "{url}");
        }
    }

    #[test]
    fn unencoded_at_in_password_uses_last_at() {
        let p = parse("postgres://u:p@ss@h/d").unwrap();
        assert_eq!(p.password.as_deref(), Some("p@ss"));
        assert_eq!(p.host.as_deref(), Some("h"));
    }

    #[test]
    fn keyword_value_with_quotes() {
        let p = parse("host=localhost port=5433 dbname='my db' password='it\\'s' sslmode=require")
            .unwrap();
        assert_eq!(p.host.as_deref(), Some("localhost"));
        assert_eq!(p.port, Some(5433));
        assert_eq!(p.dbname.as_deref(), Some("my db"));
        assert_eq!(p.password.as_deref(), Some("it's"));
        assert_eq!(p.sslmode, Some(SslMode::Require));
        let p = parse("host = h  user=u").unwrap();
        assert_eq!(p.host.as_deref(), Some("h"));
        assert_eq!(p.user.as_deref(), Some("u"));
    }

    #[test]
    fn errors_do_not_echo_the_password() {
        for bad in [
            "postgres://u:hunter2@h:notaport/d",
            "postgres://u:hunter2@h/d?sslmode=bogus",
            "postgres://u:hunter2@h/d?weird=1",
            "password=hunter2 bogus",
            "mysql://u:hunter2@h/d",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn environment_and_defaults() {
        let vars = |k: &str| match k {
            "PGHOST" => Some("envhost".to_string()),
            "PGPORT" => Some("6000".to_string()),
            "PGSSLMODE" => Some("require".to_string()),
            _ => None,
        };
        let e = resolve(&parse("dbname=x").unwrap(), &env_with(&vars, None)).unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.user.as_str()),
            ("envhost", 6000, "alice")
        );
        assert_eq!(e.dbname, "x");
        assert_eq!(e.sslmode, SslMode::Require);
        let none = |_: &str| None;
        let e = resolve(&parse("").unwrap(), &env_with(&none, None)).unwrap();
        assert_eq!(e.host, "/var/run/postgresql");
        assert_eq!(e.dbname, "alice");
        assert_eq!(e.sslmode, SslMode::Prefer);
        assert_eq!(e.application_name, "pgbarge");
    }

    #[test]
    fn explicit_values_beat_environment() {
        let vars = |k: &str| (k == "PGPASSWORD").then(|| "fromenv".to_string());
        let e = resolve(
            &parse("postgres://u:fromurl@h/d").unwrap(),
            &env_with(&vars, Some("*:*:*:*:frompgpass")),
        )
        .unwrap();
        assert_eq!(e.password.as_deref(), Some("fromurl"));
        let e = resolve(&parse("postgres://u@h/d").unwrap(), &env_with(&vars, None)).unwrap();
        assert_eq!(e.password.as_deref(), Some("fromenv"));
    }

    #[test]
    fn pgpass_matching_and_escapes() {
        let file = "# comment\nother:5432:*:u:nope\nh:5432:d:u:first\\:pw\n*:*:*:*:fallback\n";
        assert_eq!(
            pgpass_lookup(file, "h", 5432, "d", "u").as_deref(),
            Some("first:pw")
        );
        assert_eq!(
            pgpass_lookup(file, "h", 5433, "d", "u").as_deref(),
            Some("fallback")
        );
        assert_eq!(pgpass_lookup("a:b", "h", 1, "d", "u"), None);
        let none = |_: &str| None;
        let e = resolve(
            &parse("dbname=d user=u").unwrap(),
            &env_with(&none, Some("localhost:5432:d:u:sock\n")),
        )
        .unwrap();
        assert_eq!(
            e.password.as_deref(),
            Some("sock"),
            "socket looks up as localhost"
        );
    }

    #[test]
    fn redacted_never_shows_password() {
        let none = |_: &str| None;
        let e = resolve(
            &parse("postgres://bob:hunter2@db.example.com:5432/app?sslmode=require").unwrap(),
            &env_with(&none, None),
        )
        .unwrap();
        assert_eq!(
            e.redacted(),
            "postgres://bob@db.example.com:5432/app?sslmode=require"
        );
        assert!(!format!("{e:?}").contains("hunter2"));
    }

    #[test]
    fn sslrootcert_system_means_verify_full_as_in_libpq() {
        let none = |_: &str| None;
        let e = resolve(
            &parse("postgres://db.example.com/app?sslrootcert=system").unwrap(),
            &env_with(&none, None),
        )
        .unwrap();
        assert_eq!(e.sslmode, SslMode::VerifyFull);
        let weak = resolve(
            &parse("postgres://db.example.com/app?sslrootcert=system&sslmode=require").unwrap(),
            &env_with(&none, None),
        )
        .unwrap_err();
        assert!(weak.contains("sslmode=require may not be used"), "{weak}");
        let env = |k: &str| (k == "PGSSLROOTCERT").then(|| "system".to_string());
        let e = resolve(
            &parse("postgres://db.example.com/app").unwrap(),
            &env_with(&env, None),
        )
        .unwrap();
        assert_eq!(e.sslmode, SslMode::VerifyFull);
    }
}
