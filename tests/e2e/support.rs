//! Throwaway PostgreSQL servers and a runner for the real `pgbarge` binary.
//!
//! Servers are started once per test process (`initdb` + `pg_ctl` in a
//! temporary directory, on a free port, as the `postgres` user when we run
//! as root) and shared by every test; each test makes its own databases. A
//! watcher process stops each server and removes its directory when the
//! test process ends, however it ends. Missing server binaries fail loudly.

#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

pub struct PgServer {
    pub name: &'static str,
    pub port: u16,
    pub dir: PathBuf,
    /// CA certificate that signed the server's certificate (TLS servers).
    pub ca_cert: Option<PathBuf>,
}

/// Where initdb and pg_ctl live: $PG_BIN, the newest Debian install, or PATH.
pub fn pg_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("PG_BIN") {
        return PathBuf::from(p);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    if let Ok(out) = Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()
    {
        let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !p.is_empty() {
            return Path::new(&p).parent().unwrap().to_path_buf();
        }
    }
    panic!(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them with \
         `apt-get install postgresql` (scripts/test.sh does this) or set PG_BIN to their directory."
    );
}

pub fn running_as_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("running id");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn postgres_ids() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("id");
        assert!(
            out.status.success(),
            "running as root needs a `postgres` user to run the server as (apt-get install postgresql creates it)"
        );
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (id("-u"), id("-g"))
}

/// A command that runs as the server's owner.
fn as_owner(program: &Path) -> Command {
    let mut c = Command::new(program);
    if running_as_root() {
        let (uid, gid) = postgres_ids();
        c.uid(uid).gid(gid);
    }
    c.env_remove("PGDATA").env("LC_ALL", "C");
    c
}

pub fn chown_to_owner(path: &Path) {
    if running_as_root() {
        let (uid, gid) = postgres_ids();
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write_tls_files(dir: &Path) -> PathBuf {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "pgbarge test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    // The certificate names only "localhost": connecting by IP with
    // verify-full must fail, with verify-ca succeed.
    let mut sp = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    sp.distinguished_name.push(DnType::CommonName, "localhost");
    let key = KeyPair::generate().unwrap();
    let cert = sp.signed_by(&key, &ca_cert, &ca_key).unwrap();
    let data = dir.join("data");
    std::fs::write(data.join("server.crt"), cert.pem()).unwrap();
    std::fs::write(data.join("server.key"), key.serialize_pem()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    for f in ["server.crt", "server.key"] {
        let p = data.join(f);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        chown_to_owner(&p);
    }
    let ca_path = dir.join("ca.crt");
    std::fs::write(&ca_path, ca_cert.pem()).unwrap();
    std::fs::set_permissions(&ca_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    ca_path
}

/// Major version of the server binaries in `bin`.
pub fn major_of(bin: &Path) -> u32 {
    let out = Command::new(bin.join("postgres"))
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("running {}/postgres --version: {e}", bin.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .find_map(|w| w.split('.').next()?.parse().ok())
        .unwrap_or_else(|| panic!("cannot read a version from {text:?}"))
}

/// Server binaries of one major version: those of `pg_bin()` when they
/// are that version, otherwise the cache `scripts/pg-versions.sh` fills
/// ($PGBARGE_PG_VERSIONS, default target/pg-versions). Missing ones fail
/// loudly with the command that installs them.
pub fn pg_bin_of(major: u32) -> PathBuf {
    let default = pg_bin();
    if major_of(&default) == major {
        return default;
    }
    let cache = std::env::var_os("PGBARGE_PG_VERSIONS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pg-versions"));
    let bin = cache.join(major.to_string()).join("bin");
    assert!(
        bin.join("postgres").exists(),
        "PostgreSQL {major} server binaries are not in {}: run `scripts/pg-versions.sh {major}` \
         (scripts/test.sh does this)",
        cache.display()
    );
    bin
}

/// A server of one major version, started once per test process.
pub fn server_of(major: u32) -> &'static PgServer {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static S: OnceLock<Mutex<HashMap<u32, &'static PgServer>>> = OnceLock::new();
    let bin = pg_bin_of(major);
    if bin == pg_bin() {
        return &servers().source;
    }
    let mut started = S.get_or_init(Default::default).lock().unwrap();
    started
        .entry(major)
        .or_insert_with(|| Box::leak(Box::new(PgServer::start_in("versioned", &bin, false))))
}

impl PgServer {
    pub fn start(name: &'static str, tls: bool) -> PgServer {
        PgServer::start_in(name, &pg_bin(), tls)
    }

    pub fn start_in(name: &'static str, bin: &Path, tls: bool) -> PgServer {
        PgServer::start_with(name, bin, tls, "")
    }

    /// A server with `extra` added to its configuration.
    pub fn start_with(name: &'static str, bin: &Path, tls: bool, extra: &str) -> PgServer {
        let dir = tempfile::Builder::new()
            .prefix(&format!("pgbarge-test-{name}-"))
            .tempdir()
            .unwrap()
            .keep();
        chown_to_owner(&dir);
        let data = dir.join("data");
        let out = as_owner(&bin.join("initdb"))
            .args(["-D"])
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ])
            .output()
            .expect("running initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        // wal_level = logical: publications are copied, and psql would
        // print a warning for each one created on a lesser level.
        let mut conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
             max_connections = 60\nshared_buffers = 128MB\nmax_wal_size = 4GB\n\
             wal_level = logical\n",
            dir.display()
        );
        let ca_cert = if tls {
            conf.push_str("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
            Some(write_tls_files(&dir))
        } else {
            None
        };
        conf.push_str(extra);
        append(&data.join("postgresql.conf"), &conf);
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\n\
             host all pw_user 127.0.0.1/32 scram-sha-256\n\
             host all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        let log = dir.join("server.log");
        let out = as_owner(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "start"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("running pg_ctl");
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        // Stop the server and remove its directory once this process is
        // gone, whether the tests passed, failed or were killed.
        let script = format!(
            "while [ -d /proc/{pid} ]; do sleep 1; done; \"{pg_ctl}\" -D \"{data}\" -m immediate stop >/dev/null 2>&1; rm -rf \"{dir}\"",
            pid = std::process::id(),
            pg_ctl = bin.join("pg_ctl").display(),
            data = data.display(),
            dir = dir.display()
        );
        // Never waited for: it must outlive this process. Its exit is
        // reaped by init.
        #[allow(clippy::zombie_processes)]
        as_owner(Path::new("/bin/sh"))
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("starting the server watcher");
        PgServer {
            name,
            port,
            dir,
            ca_cert,
        }
    }

    /// Restart the server (fast shutdown: sessions are ended), as a
    /// failover or a maintenance restart would.
    pub fn restart(&self) {
        let out = as_owner(&pg_bin().join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-w", "-t", "60", "-m", "fast", "restart"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("running pg_ctl");
        assert!(
            out.status.success(),
            "pg_ctl restart failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// URL for a database, as the superuser, without TLS.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    pub fn client(&self, db: &str) -> postgres::Client {
        postgres::Client::connect(
            &format!(
                "host=127.0.0.1 port={} user=postgres dbname={db}",
                self.port
            ),
            postgres::NoTls,
        )
        .unwrap_or_else(|e| panic!("connecting to test server {}: {e}", self.name))
    }

    /// A new empty database with a unique name.
    pub fn fresh_db(&self, hint: &str) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!("t{}_{hint}", N.fetch_add(1, Ordering::SeqCst));
        self.client("postgres")
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap();
        name
    }
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// The two servers every test shares: a plain source and a TLS target.
pub struct Servers {
    pub source: PgServer,
    pub target: PgServer,
}

pub fn servers() -> &'static Servers {
    static S: OnceLock<Servers> = OnceLock::new();
    S.get_or_init(|| {
        let (source, target) = std::thread::scope(|s| {
            let a = s.spawn(|| PgServer::start("source", false));
            let b = s.spawn(|| PgServer::start("target", true));
            (a.join().unwrap(), b.join().unwrap())
        });
        Servers { source, target }
    })
}

/// A pair of fresh databases, one per server, with the same setup SQL.
pub fn db_pair(hint: &str, ddl: &str) -> (String, String) {
    let s = servers();
    let a = s.source.fresh_db(hint);
    let b = s.target.fresh_db(hint);
    s.source.client(&a).batch_execute(ddl).unwrap();
    s.target.client(&b).batch_execute(ddl).unwrap();
    (a, b)
}

/// What a run of the binary left behind.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A temporary HOME so a developer's ~/.pgpass never leaks into a test.
pub fn empty_home() -> &'static Path {
    static H: OnceLock<PathBuf> = OnceLock::new();
    // Under cargo's scratch directory for tests, not /tmp: nothing is
    // left behind outside target/.
    H.get_or_init(|| {
        let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("empty-home");
        std::fs::create_dir_all(&home).unwrap();
        home
    })
}

pub fn pgbarge_cmd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pgbarge"));
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") {
            c.env_remove(k);
        }
    }
    c.env("HOME", empty_home()).env("CI", "true");
    c
}

pub fn run_cmd(mut c: Command) -> Run {
    let out: Output = c.stdin(Stdio::null()).output().expect("running pgbarge");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn pgbarge(args: &[&str]) -> Run {
    let mut c = pgbarge_cmd();
    c.args(args);
    run_cmd(c)
}

/// `copy --data-only` from one test database to another.
pub fn copy(src_db: &str, dst_db: &str, extra: &[&str]) -> Run {
    let s = servers();
    let (src, dst) = (s.source.url(src_db), s.target.url(dst_db));
    let mut args = vec!["copy", "--data-only", "--source", &src, "--target", &dst];
    args.extend_from_slice(extra);
    pgbarge(&args)
}

/// `pgbarge copy` of the whole schema and rows (no `--data-only`).
pub fn copy_full(src_db: &str, dst_db: &str, extra: &[&str]) -> Run {
    let s = servers();
    let (src, dst) = (s.source.url(src_db), s.target.url(dst_db));
    let mut args = vec!["copy", "--source", &src, "--target", &dst];
    args.extend_from_slice(extra);
    pgbarge(&args)
}

/// Row count and an md5 of the sorted text form of every row, computed by
/// the server, independently of pgbarge.
pub fn digest(c: &mut postgres::Client, table: &str) -> (i64, String) {
    let row = c
        .query_one(
            &format!(
                "SELECT count(*), md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) FROM {table} AS r"
            ),
            &[],
        )
        .unwrap_or_else(|e| panic!("digest of {table}: {e}"));
    (row.get(0), row.get(1))
}

/// Every user table of a database, as quoted names.
pub fn user_tables(c: &mut postgres::Client) -> Vec<String> {
    c.query(
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
          WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Every user schema, relation, type and function of a database, one
/// line each (`function app.f(integer)`), sorted.
pub fn user_objects(c: &mut postgres::Client) -> Vec<String> {
    c.query(
        "WITH ns AS (SELECT oid, nspname FROM pg_namespace \
                      WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%') \
         SELECT 'schema ' || quote_ident(nspname) FROM ns \
         UNION ALL SELECT 'relation ' || c.relkind::text || ' ' || format('%I.%I', ns.nspname, c.relname) \
           FROM pg_class c JOIN ns ON ns.oid = c.relnamespace \
         UNION ALL SELECT 'type ' || format('%I.%I', ns.nspname, t.typname) \
           FROM pg_type t JOIN ns ON ns.oid = t.typnamespace WHERE t.typrelid = 0 AND t.typelem = 0 \
         UNION ALL SELECT 'function ' || p.oid::regprocedure::text \
           FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace \
         ORDER BY 1",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Restore a `.sql.gz` script as a user does, `gunzip -c | psql`,
/// stopping at the first error; panics with psql's words when it fails.
#[track_caller]
pub fn psql_restore_script(script: &Path, server: &PgServer, db: &str) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "gunzip -c '{}' | '{}' -X -q -v ON_ERROR_STOP=1 -d '{}' >/dev/null",
            script.display(),
            pg_bin().join("psql").display(),
            server.url(db)
        ))
        .output()
        .expect("running gunzip | psql");
    assert!(
        out.status.success(),
        "gunzip -c {} | psql failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Assert both databases hold the same rows in every table.
#[track_caller]
pub fn assert_same_content(src_db: &str, dst_db: &str) {
    let s = servers();
    let mut a = s.source.client(src_db);
    let mut b = s.target.client(dst_db);
    let tables = user_tables(&mut a);
    assert!(!tables.is_empty());
    for t in tables {
        assert_eq!(
            digest(&mut a, &t),
            digest(&mut b, &t),
            "content of {t} differs"
        );
    }
}

pub fn read_report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// One table's entry in a run report, by target name.
#[track_caller]
pub fn report_table(r: &serde_json::Value, target: &str) -> serde_json::Value {
    r["tables"]
        .as_array()
        .expect("report has tables")
        .iter()
        .find(|t| t["target"] == target)
        .unwrap_or_else(|| panic!("{target} not in report: {r}"))
        .clone()
}

/// Run SQL on a source database.
pub fn seed_source(db: &str, sql: &str) {
    servers().source.client(db).batch_execute(sql).unwrap();
}

/// Wait for a child `pgbarge`, killing it (and failing the test) if it
/// has not ended within `limit`: a test of "never hangs" must not hang.
pub fn wait_within(mut child: std::process::Child, limit: std::time::Duration, what: &str) -> Run {
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what} did not end within {limit:?}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Poll `ok` until it holds, failing the test after `limit`.
pub fn wait_until(limit: std::time::Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// A running `pgbarge` whose stderr is read on a thread, line by line,
/// so that a test can wait for a line with a bound: a run that never says
/// what the test waits for fails the test instead of blocking it.
pub struct Watched {
    pub child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// Every stderr line read so far.
    pub seen: String,
}

impl Watched {
    /// Start `cmd` with stdin closed and stdout and stderr piped.
    pub fn spawn(mut cmd: Command) -> Watched {
        use std::io::{BufRead, BufReader};
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = BufReader::new(child.stderr.take().unwrap());
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in err.lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Watched {
            child,
            lines,
            seen: String::new(),
        }
    }

    /// The first stderr line containing `marker`; kills the run and fails
    /// the test when none comes within `limit`.
    pub fn line_with(&mut self, marker: &str, limit: std::time::Duration) -> String {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push_str(&l);
                    self.seen.push('\n');
                    if l.contains(marker) {
                        return l;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("never saw {marker:?} within {limit:?}:\n{}", self.seen);
                }
            }
        }
    }

    /// Wait (bounded) for the run to end; its stderr is all of it.
    pub fn finish(mut self, limit: std::time::Duration, what: &str) -> Run {
        let mut run = wait_within(self.child, limit, what);
        while let Ok(l) = self.lines.recv_timeout(std::time::Duration::from_secs(5)) {
            self.seen.push_str(&l);
            self.seen.push('\n');
        }
        run.stderr = self.seen;
        run
    }
}

/// A role on both servers (roles are cluster-wide; tests share them).
/// Two tests creating the same role at once meet as a unique violation
/// rather than duplicate_object; either means it exists.
pub fn ensure_role(name: &str) {
    for server in [&servers().source, &servers().target] {
        server
            .client("postgres")
            .batch_execute(&format!(
                "DO $$ BEGIN CREATE ROLE \"{name}\"; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            ))
            .unwrap();
    }
}

/// Every large object of a database: oid, owner, grants, comment and the
/// md5 of its bytes, one line each.
pub fn large_object_facts(c: &mut postgres::Client) -> Vec<String> {
    c.query(
        "SELECT m.oid::text, pg_get_userbyid(m.lomowner)::text, coalesce(m.lomacl::text, ''), \
                coalesce(obj_description(m.oid, 'pg_largeobject'), ''), md5(lo_get(m.oid)) \
           FROM pg_largeobject_metadata m ORDER BY m.oid",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| {
        (0..5)
            .map(|i| r.get::<_, String>(i))
            .collect::<Vec<_>>()
            .join(" ")
    })
    .collect()
}
