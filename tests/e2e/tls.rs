//! TLS as libpq does it: each kind of server certificate psql accepts is
//! accepted, with each sslmode that accepts it, and nothing more; client
//! certificates (also encrypted keys) for servers that require them.
//! Errors say what is wrong in the user's terms.
//!
//! One server of its own, whose certificate is swapped between cases
//! (`pg_reload_conf()` re-reads it).

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SanType,
};

use crate::support::*;

struct Ca {
    cert: Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Ca {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    Ca { cert, key }
}

/// A certificate with this Common Name and these subjectAltNames, signed
/// by `ca`.
fn leaf(cn: &str, sans: Vec<SanType>, ca: &Ca) -> (String, String) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.subject_alt_names = sans;
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca.cert, &ca.key).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn write(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

struct TlsServer {
    server: PgServer,
    db: String,
    files: PathBuf,
}

impl TlsServer {
    /// Serve this certificate and key from now on.
    fn serve(&self, cert: &str, key: &str) {
        let data = self.server.dir.join("data");
        for (f, text) in [("server.crt", cert), ("server.key", key)] {
            write(&data.join(f), text, 0o600);
            chown_to_owner(&data.join(f));
        }
        self.server
            .client("postgres")
            .batch_execute("SELECT pg_reload_conf()")
            .unwrap();
        // The postmaster re-reads the files on SIGHUP, asynchronously.
        std::thread::sleep(std::time::Duration::from_millis(700));
    }

    fn url(&self, host: &str, user: &str, params: &str) -> String {
        format!(
            "postgres://{user}@{host}:{}/{}?{params}",
            self.server.port, self.db
        )
    }

    fn file(&self, name: &str, text: &str, mode: u32) -> String {
        let p = self.files.join(name);
        write(&p, text, mode);
        p.to_str().unwrap().to_string()
    }
}

/// `pgbarge plan` from a plain source into the TLS server.
fn plan_into(target: &str) -> Run {
    plan_into_with(target, &[])
}

/// `plan_into` with extra environment variables.
fn plan_into_with(target: &str, env: &[(&str, &str)]) -> Run {
    static SRC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let src = SRC.get_or_init(|| {
        let db = servers().source.fresh_db("tls_src");
        seed_source(&db, "CREATE TABLE t (id int PRIMARY KEY)");
        db
    });
    let mut c = pgbarge_cmd();
    c.args([
        "plan",
        "--source",
        &servers().source.url(src),
        "--target",
        target,
    ]);
    for (k, v) in env {
        c.env(k, v);
    }
    run_cmd(c)
}

#[track_caller]
fn accepted(target: &str) {
    let run = plan_into(target);
    assert_eq!(run.code, 0, "{target} refused:\n{}", run.all());
}

#[track_caller]
fn refused(target: &str, says: &str) {
    let run = plan_into(target);
    assert_eq!(run.code, 3, "{target} was not refused:\n{}", run.all());
    assert!(
        run.stderr.contains(says),
        "{target}: expected {says:?} in:\n{}",
        run.stderr
    );
    assert!(!run.stderr.contains("OtherError"), "{}", run.stderr);
}

fn start() -> TlsServer {
    let server = PgServer::start("tls-kinds", true);
    let client_ca = ca("pgbarge client CA");
    let data = server.dir.join("data");
    write(&data.join("client-ca.crt"), &client_ca.cert.pem(), 0o644);
    chown_to_owner(&data.join("client-ca.crt"));
    let conf = data.join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("ssl_ca_file = 'client-ca.crt'\n");
    std::fs::write(&conf, text).unwrap();
    // certuser must present a certificate whose CN is its name.
    let hba = std::fs::read_to_string(data.join("pg_hba.conf")).unwrap();
    std::fs::write(
        data.join("pg_hba.conf"),
        format!("hostssl all certuser 127.0.0.1/32 cert\n{hba}"),
    )
    .unwrap();
    let db = server.fresh_db("tls");
    server
        .client("postgres")
        .batch_execute("CREATE ROLE certuser LOGIN SUPERUSER; SELECT pg_reload_conf();")
        .unwrap();
    let files = server.dir.join("client-files");
    std::fs::create_dir_all(&files).unwrap();
    // Keep the client CA for the client-certificate cases.
    let (cert, key) = leaf("certuser", vec![], &client_ca);
    let t = TlsServer { server, db, files };
    t.file("client.crt", &cert, 0o644);
    t.file("client.key", &key, 0o600);
    t.file("client-open.key", &key, 0o644);
    // The same key, encrypted (PKCS#8, PBES2), as `openssl pkcs8 -topk8` writes it.
    let der = pkcs8::der::pem::decode_vec(key.as_bytes()).unwrap().1;
    let info = pkcs8::PrivateKeyInfo::try_from(der.as_slice()).unwrap();
    let params =
        pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, b"saltsalt", &[7u8; 16])
            .unwrap();
    let enc = info.encrypt_with_params(params, "s3cret pass").unwrap();
    let enc_pem = enc
        .to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)
        .unwrap();
    t.file("client-enc.key", &enc_pem, 0o600);
    t
}

#[test]
fn certificates_are_accepted_and_refused_as_libpq_does() {
    let t = start();
    let other_ca = ca("some other CA");

    // 1. The PostgreSQL documentation's self-signed certificate: CN only,
    //    CA:TRUE, given as its own root.
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, "localhost");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let selfsigned = p.self_signed(&key).unwrap().pem();
    t.serve(&selfsigned, &key.serialize_pem());
    let root = t.file("self.crt", &selfsigned, 0o644);
    for mode in ["verify-full", "verify-ca", "require"] {
        accepted(&t.url(
            "localhost",
            "postgres",
            &format!("sslmode={mode}&sslrootcert={root}"),
        ));
    }
    // The name is still compared with verify-full...
    refused(
        &t.url(
            "127.0.0.1",
            "postgres",
            &format!("sslmode=verify-full&sslrootcert={root}"),
        ),
        "the server's certificate is for localhost, not 127.0.0.1",
    );
    // ...and another root is still another root.
    let wrong = t.file("other-ca.crt", &other_ca.cert.pem(), 0o644);
    for mode in ["verify-full", "verify-ca"] {
        refused(
            &t.url(
                "localhost",
                "postgres",
                &format!("sslmode={mode}&sslrootcert={wrong}"),
            ),
            &format!("is self-signed and is not in {wrong}"),
        );
    }

    // 2. A CA-signed certificate with only a Common Name (no
    //    subjectAltName): libpq falls back to the CN.
    let server_ca = ca("server CA");
    let ca_file = t.file("server-ca.crt", &server_ca.cert.pem(), 0o644);
    let (cert, key) = leaf("localhost", vec![], &server_ca);
    t.serve(&cert, &key);
    accepted(&t.url(
        "localhost",
        "postgres",
        &format!("sslmode=verify-full&sslrootcert={ca_file}"),
    ));
    refused(
        &t.url(
            "127.0.0.1",
            "postgres",
            &format!("sslmode=verify-full&sslrootcert={ca_file}"),
        ),
        "not 127.0.0.1",
    );
    accepted(&t.url(
        "127.0.0.1",
        "postgres",
        &format!("sslmode=verify-ca&sslrootcert={ca_file}"),
    ));
    for mode in ["verify-full", "verify-ca"] {
        refused(
            &t.url(
                "localhost",
                "postgres",
                &format!("sslmode={mode}&sslrootcert={wrong}"),
            ),
            &format!("(CN=localhost, issued by CN=server CA) is not signed by a CA in {wrong}"),
        );
    }

    // 3. An IP address in subjectAltName; a DNS name there hides the CN.
    let (cert, key) = leaf(
        "db.example.com",
        vec![
            SanType::IpAddress("127.0.0.1".parse().unwrap()),
            SanType::DnsName("db.example.com".try_into().unwrap()),
        ],
        &server_ca,
    );
    t.serve(&cert, &key);
    accepted(&t.url(
        "127.0.0.1",
        "postgres",
        &format!("sslmode=verify-full&sslrootcert={ca_file}"),
    ));
    refused(
        &t.url(
            "localhost",
            "postgres",
            &format!("sslmode=verify-full&sslrootcert={ca_file}"),
        ),
        "is for db.example.com, 127.0.0.1, not localhost",
    );

    // 4. Client certificates, for a role pg_hba.conf admits by
    //    certificate only.
    let f = |n: &str| t.files.join(n).to_str().unwrap().to_string();
    let with = |extra: &str| {
        t.url(
            "localhost",
            "certuser",
            &format!("sslmode=verify-full&sslrootcert={ca_file}{extra}"),
        )
    };
    let (cert, key) = leaf(
        "localhost",
        vec![SanType::DnsName("localhost".try_into().unwrap())],
        &server_ca,
    );
    t.serve(&cert, &key);
    let run = plan_into(&with(""));
    assert_eq!(run.code, 3, "{}", run.all());
    accepted(&with(&format!(
        "&sslcert={}&sslkey={}",
        f("client.crt"),
        f("client.key")
    )));
    refused(
        &with(&format!(
            "&sslcert={}&sslkey={}",
            f("client.crt"),
            f("client-open.key")
        )),
        "has group or world access",
    );
    accepted(&with(&format!(
        "&sslcert={}&sslkey={}&sslpassword=s3cret%20pass",
        f("client.crt"),
        f("client-enc.key")
    )));
    let run = plan_into(&with(&format!(
        "&sslcert={}&sslkey={}&sslpassword=wrong",
        f("client.crt"),
        f("client-enc.key")
    )));
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.stderr.contains("sslpassword is wrong"),
        "{}",
        run.stderr
    );
    assert!(
        !run.all().contains("wrong&"),
        "the password leaked: {}",
        run.all()
    );
    let run = plan_into(&with(&format!(
        "&sslcert={}&sslkey={}",
        f("client.crt"),
        f("client-enc.key")
    )));
    assert!(
        run.stderr
            .contains("is encrypted: pass its passphrase as sslpassword"),
        "{}",
        run.stderr
    );
}

/// `sslrootcert=system`: the system's roots (here a test CA given the
/// standard way, SSL_CERT_FILE), and as libpq: verify-full by default,
/// a weaker sslmode refused before connecting, and a certificate the
/// system does not trust refused.
#[test]
fn sslrootcert_system_uses_the_system_roots_with_verify_full() {
    let t = start();
    let server_ca = ca("system CA");
    let ca_file = t.file("system-ca.crt", &server_ca.cert.pem(), 0o644);
    let (cert, key) = leaf("localhost", vec![], &server_ca);
    t.serve(&cert, &key);
    let url = t.url("localhost", "postgres", "sslrootcert=system");
    let run = plan_into_with(&url, &[("SSL_CERT_FILE", &ca_file)]);
    assert_eq!(run.code, 0, "{}", run.all());
    // The name is checked: verify-full is the default.
    let by_ip = t.url("127.0.0.1", "postgres", "sslrootcert=system");
    let run = plan_into_with(&by_ip, &[("SSL_CERT_FILE", &ca_file)]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stderr.contains("not 127.0.0.1"), "{}", run.stderr);
    // A weaker mode is a usage error, as in libpq.
    let weak = t.url(
        "localhost",
        "postgres",
        "sslrootcert=system&sslmode=require",
    );
    let run = plan_into_with(&weak, &[("SSL_CERT_FILE", &ca_file)]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .contains("may not be used with sslrootcert=system"),
        "{}",
        run.stderr
    );
    // The machine's own roots do not know the test CA.
    let other = t.file("empty-roots.crt", &ca("unrelated").cert.pem(), 0o644);
    let run = plan_into_with(&url, &[("SSL_CERT_FILE", &other)]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.stderr.contains("the system's certificates"),
        "{}",
        run.stderr
    );
}
