//! TLS for PostgreSQL connections with rustls, following libpq's sslmode
//! rules:
//!
//! | sslmode      | encrypts         | checks the chain | checks the host name |
//! |--------------|------------------|------------------|----------------------|
//! | disable      | no               | -                | -                    |
//! | allow/prefer | if server offers | no               | no                   |
//! | require      | yes              | only with sslrootcert (as libpq) | no   |
//! | verify-ca    | yes              | yes              | no                   |
//! | verify-full  | yes              | yes              | yes                  |
//!
//! Trust anchors: `sslrootcert` (a PEM file, or `system`), else
//! `~/.postgresql/root.crt` when present, else the system's certificates.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::params::{Endpoint, SslMode};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// How the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Nothing,
    Chain,
    ChainAndHost,
}

fn check_for(ep: &Endpoint) -> Check {
    match ep.sslmode {
        SslMode::VerifyFull => Check::ChainAndHost,
        SslMode::VerifyCa => Check::Chain,
        // libpq: with a root certificate given, require behaves as verify-ca.
        SslMode::Require if ep.sslrootcert.is_some() => Check::Chain,
        _ => Check::Nothing,
    }
}

/// The rustls client configuration for an endpoint.
pub fn client_config(ep: &Endpoint, home: Option<&Path>) -> anyhow::Result<rustls::ClientConfig> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("setting up TLS")?;
    let check = check_for(ep);
    let verifier: Arc<dyn ServerCertVerifier> = match check {
        Check::Nothing => Arc::new(AcceptAnyCert(provider)),
        Check::Chain | Check::ChainAndHost => {
            let (roots, anchors, source) = trust_anchors(ep, home)?;
            let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .context("building the certificate verifier")?;
            Arc::new(LibpqVerifier {
                inner,
                anchors,
                source,
                host: (check == Check::ChainAndHost).then(|| ep.host.clone()),
            })
        }
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    Ok(match client_identity(ep, home)? {
        Some((certs, key)) => builder
            .with_client_auth_cert(certs, key)
            .context("the client certificate and key do not fit together")?,
        None => builder.with_no_client_auth(),
    })
}

/// The client certificate and key, as libpq finds them: `sslcert` and
/// `sslkey` (or PGSSLCERT/PGSSLKEY), else `~/.postgresql/postgresql.crt`
/// and `postgresql.key` when the certificate is there. A key must not be
/// readable by group or others (libpq refuses it too; a key owned by root
/// may be group-readable).
fn client_identity(
    ep: &Endpoint,
    home: Option<&Path>,
) -> anyhow::Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>> {
    let dir = home.map(|h| h.join(".postgresql"));
    let cert = match (&ep.sslcert, &dir) {
        (Some(c), _) => PathBuf::from(c),
        (None, Some(d)) => d.join("postgresql.crt"),
        (None, None) => return Ok(None),
    };
    if !cert.exists() {
        if ep.sslcert.is_some() {
            bail!("sslcert {} does not exist", cert.display());
        }
        return Ok(None);
    }
    let key = match (&ep.sslkey, &dir) {
        (Some(k), _) => PathBuf::from(k),
        (None, Some(d)) => d.join("postgresql.key"),
        (None, None) => cert.with_extension("key"),
    };
    let certs = CertificateDer::pem_file_iter(&cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading sslcert {}", cert.display()))?;
    if certs.is_empty() {
        bail!("sslcert {} holds no PEM certificate", cert.display());
    }
    if !key.exists() {
        bail!(
            "there is a client certificate ({}) but no private key file {} (set sslkey)",
            cert.display(),
            key.display()
        );
    }
    check_key_permissions(&key)?;
    let text = std::fs::read(&key).with_context(|| format!("reading sslkey {}", key.display()))?;
    Ok(Some((
        certs,
        private_key(&text, &key, ep.sslpassword.as_deref())?,
    )))
}

fn check_key_permissions(key: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(key).with_context(|| format!("reading sslkey {}", key.display()))?;
    if !m.is_file() {
        bail!("sslkey {} is not a regular file", key.display());
    }
    let allowed = if m.uid() == 0 { 0o640 } else { 0o600 };
    if m.mode() & 0o777 & !allowed != 0 {
        bail!(
            "sslkey {} has group or world access ({:o}); it must be u=rw (0600) or less, or \
             owned by root and u=rw,g=r (0640) or less: chmod 600 {}",
            key.display(),
            m.mode() & 0o777,
            key.display()
        );
    }
    Ok(())
}

/// A PEM private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC), or an encrypted
/// PKCS#8 key opened with `sslpassword`.
fn private_key(
    text: &[u8],
    path: &Path,
    password: Option<&str>,
) -> anyhow::Result<PrivateKeyDer<'static>> {
    let shown = path.display();
    let pem = String::from_utf8_lossy(text);
    if pem.contains("Proc-Type: 4,ENCRYPTED") {
        bail!(
            "sslkey {shown} is encrypted in OpenSSL's old format, which pgbarge cannot open: \
             convert it with `openssl pkcs8 -topk8 -in {shown} -out NEW.key` (and a passphrase) \
             and use that"
        );
    }
    if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let Some(password) = password else {
            bail!("sslkey {shown} is encrypted: pass its passphrase as sslpassword");
        };
        let (_, der) = pkcs8::der::pem::decode_vec(text)
            .map_err(|e| anyhow::anyhow!("sslkey {shown} is not valid PEM: {e}"))?;
        let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
            .map_err(|e| anyhow::anyhow!("sslkey {shown} is not an encrypted PKCS#8 key: {e}"))?;
        let doc = info.decrypt(password).map_err(|_| {
            anyhow::anyhow!("sslkey {shown} cannot be decrypted: sslpassword is wrong")
        })?;
        return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            doc.as_bytes().to_vec(),
        )));
    }
    PrivateKeyDer::from_pem_slice(text)
        .map_err(|_| anyhow::anyhow!("sslkey {shown} holds no PEM private key (PKCS#8, RSA or EC)"))
}

/// The trusted roots, the DER of each (a server may present one of them
/// as its own certificate), and where they came from, for messages.
fn trust_anchors(
    ep: &Endpoint,
    home: Option<&Path>,
) -> anyhow::Result<(RootCertStore, Vec<Vec<u8>>, String)> {
    let mut roots = RootCertStore::empty();
    let mut anchors = Vec::new();
    let file: Option<PathBuf> = match ep.sslrootcert.as_deref() {
        Some("system") => None,
        Some(p) => Some(PathBuf::from(p)),
        None => home
            .map(|h| h.join(".postgresql/root.crt"))
            .filter(|p| p.exists()),
    };
    let source = match file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(&path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .with_context(|| format!("reading sslrootcert {}", path.display()))?;
            if certs.is_empty() {
                bail!("sslrootcert {} holds no PEM certificate", path.display());
            }
            for c in certs {
                anchors.push(c.as_ref().to_vec());
                roots
                    .add(c)
                    .with_context(|| format!("bad certificate in {}", path.display()))?;
            }
            path.display().to_string()
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for c in found.certs {
                // A few system certificates are always unparsable; skip them.
                let _ = roots.add(c);
            }
            if roots.is_empty() {
                bail!(
                    "sslmode={} needs trust anchors, but no system certificates were found: \
                     pass sslrootcert=/path/to/ca.pem",
                    ep.sslmode.as_str()
                );
            }
            "the system's certificates".to_string()
        }
    };
    Ok((roots, anchors, source))
}

/// sslmode=require/prefer: encryption without authentication, as libpq.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// An error in the user's terms, carried through rustls to the message
/// the connection fails with (`conn::connect` finds it there).
#[derive(Debug)]
pub struct TlsRefusal(pub String);

impl std::fmt::Display for TlsRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsRefusal {}

fn refuse(message: String) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(
        TlsRefusal(message),
    ))))
}

/// sslmode=verify-ca and verify-full as libpq (OpenSSL) decides them:
/// the chain must lead to a trusted root, and a certificate that *is* one
/// of the trusted roots (a self-signed server certificate given as
/// `sslrootcert`, CA:TRUE or not) is trusted as it stands. With
/// verify-full the host name is matched as libpq does: against the DNS
/// (or IP) names of subjectAltName, and against the Common Name when the
/// certificate has no subjectAltName entry of the host's kind.
#[derive(Debug)]
struct LibpqVerifier {
    inner: Arc<WebPkiServerVerifier>,
    anchors: Vec<Vec<u8>>,
    source: String,
    /// The host to match (verify-full), as the connection names it.
    host: Option<String>,
}

impl ServerCertVerifier for LibpqVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let (_, cert) = x509_parser::parse_x509_certificate(end_entity.as_ref()).map_err(|_| {
            refuse("the server's certificate cannot be read (not valid X.509)".into())
        })?;
        let subject = cert.subject().to_string();
        let validity = cert.validity();
        let secs = now.as_secs() as i64;
        if secs > validity.not_after.timestamp() {
            return Err(refuse(format!(
                "the server's certificate ({subject}) expired on {}",
                validity.not_after
            )));
        }
        if secs < validity.not_before.timestamp() {
            return Err(refuse(format!(
                "the server's certificate ({subject}) is not valid before {}",
                validity.not_before
            )));
        }
        if !self.anchors.iter().any(|a| a == end_entity.as_ref()) {
            match self.inner.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                Ok(_) => {}
                Err(rustls::Error::InvalidCertificate(e)) => match e {
                    // The host is matched below, as libpq does.
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. } => {}
                    CertificateError::UnknownIssuer => {
                        return Err(refuse(format!(
                            "the server's certificate ({subject}, issued by {}) is not signed by a \
                             CA in {}",
                            cert.issuer(),
                            self.source
                        )))
                    }
                    CertificateError::BadSignature => {
                        return Err(refuse(format!(
                            "the server's certificate ({subject}) has a signature that does not \
                             verify"
                        )))
                    }
                    // (webpki's own error, which rustls only carries.)
                    CertificateError::Other(o)
                        if format!("{o:?}").contains("CaUsedAsEndEntity") =>
                    {
                        return Err(refuse(if cert.subject() == cert.issuer() {
                            format!(
                                "the server's certificate ({subject}) is self-signed and is not \
                                 in {}",
                                self.source
                            )
                        } else {
                            format!(
                                "the server's certificate ({subject}) is a CA certificate that is \
                                 not itself in {}",
                                self.source
                            )
                        }))
                    }
                    other => {
                        return Err(refuse(format!(
                            "the server's certificate ({subject}) was refused: {other}"
                        )))
                    }
                },
                Err(e) => return Err(e),
            }
        }
        if let Some(host) = &self.host {
            let names = CertNames::of(&cert);
            if !names.matches(host) {
                return Err(refuse(format!(
                    "the server's certificate is for {}, not {host} (sslmode=verify-full compares \
                     them: connect by one of those names, or use sslmode=verify-ca)",
                    names.describe()
                )));
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The names a certificate is for.
#[derive(Debug, Default, PartialEq)]
struct CertNames {
    dns: Vec<String>,
    ips: Vec<std::net::IpAddr>,
    cn: Vec<String>,
}

impl CertNames {
    fn of(cert: &x509_parser::certificate::X509Certificate<'_>) -> CertNames {
        use x509_parser::extensions::GeneralName;
        let mut n = CertNames::default();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for g in &san.value.general_names {
                match g {
                    GeneralName::DNSName(d) => n.dns.push(d.to_string()),
                    GeneralName::IPAddress(b) => match b.len() {
                        4 => n.ips.push(<[u8; 4]>::try_from(*b).unwrap().into()),
                        16 => n.ips.push(<[u8; 16]>::try_from(*b).unwrap().into()),
                        _ => {}
                    },
                    _ => {}
                }
            }
        }
        n.cn = cert
            .subject()
            .iter_common_name()
            .filter_map(|c| c.as_str().ok().map(str::to_string))
            .collect();
        n
    }

    /// libpq's rule: a DNS name (wildcard `*.` for one label) or IP
    /// address in subjectAltName; the Common Name only when there is no
    /// subjectAltName entry of the host's own kind.
    fn matches(&self, host: &str) -> bool {
        let ip: Option<std::net::IpAddr> = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok();
        if self.dns.iter().any(|d| name_matches(d, host)) {
            return true;
        }
        if ip.is_some_and(|ip| self.ips.contains(&ip)) {
            return true;
        }
        let san_of_kind = if ip.is_some() {
            !self.ips.is_empty()
        } else {
            !self.dns.is_empty()
        };
        !san_of_kind && self.cn.iter().any(|c| name_matches(c, host))
    }

    fn describe(&self) -> String {
        let mut all: Vec<String> = self.dns.clone();
        all.extend(self.ips.iter().map(|i| i.to_string()));
        if all.is_empty() {
            all = self.cn.clone();
        }
        if all.is_empty() {
            "no name at all".into()
        } else {
            all.join(", ")
        }
    }
}

/// A certificate name against a host, case-insensitively; `*.rest`
/// matches one label in front of `rest` (libpq's wildcard rule).
fn name_matches(pattern: &str, host: &str) -> bool {
    if pattern.contains('\0') {
        return false;
    }
    let (p, h) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase());
    match p.strip_prefix('*') {
        Some(rest) if rest.starts_with('.') => h
            .strip_suffix(rest)
            .is_some_and(|label| !label.is_empty() && !label.contains('.')),
        _ => p == h,
    }
}

#[cfg(test)]
mod tests {
    use super::{name_matches, CertNames};

    #[test]
    fn host_names_match_as_libpq_matches_them() {
        assert!(name_matches("DB.example.com", "db.EXAMPLE.com"));
        assert!(name_matches("*.example.com", "db.example.com"));
        assert!(!name_matches("*.example.com", "a.db.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(!name_matches("*.example.com", ".example.com"));
        assert!(!name_matches("db.example.com", "db.example.com.evil"));
        let cn_only = CertNames {
            cn: vec!["dbhost".into()],
            ..Default::default()
        };
        assert!(cn_only.matches("dbhost"));
        assert!(!cn_only.matches("otherhost"));
        // A DNS name in subjectAltName hides the Common Name.
        let with_san = CertNames {
            dns: vec!["db.example.com".into()],
            cn: vec!["dbhost".into()],
            ..Default::default()
        };
        assert!(with_san.matches("db.example.com"));
        assert!(!with_san.matches("dbhost"));
        // An IP host: IP entries decide; with none, the CN is compared.
        let ip = CertNames {
            dns: vec!["localhost".into()],
            ips: vec!["127.0.0.1".parse().unwrap()],
            cn: vec!["127.0.0.2".into()],
        };
        assert!(ip.matches("127.0.0.1"));
        assert!(!ip.matches("127.0.0.2"));
        let ip_cn = CertNames {
            dns: vec!["localhost".into()],
            cn: vec!["127.0.0.2".into()],
            ..Default::default()
        };
        assert!(ip_cn.matches("127.0.0.2"));
        assert!(!ip_cn.matches("[::1]"));
    }
}
