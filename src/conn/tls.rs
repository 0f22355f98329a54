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
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
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
            let roots = trust_anchors(ep, home)?;
            let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .context("building the certificate verifier")?;
            if check == Check::Chain {
                Arc::new(IgnoreHostName(inner))
            } else {
                inner
            }
        }
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

fn trust_anchors(ep: &Endpoint, home: Option<&Path>) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let file: Option<PathBuf> = match ep.sslrootcert.as_deref() {
        Some("system") => None,
        Some(p) => Some(PathBuf::from(p)),
        None => home
            .map(|h| h.join(".postgresql/root.crt"))
            .filter(|p| p.exists()),
    };
    match file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(&path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .with_context(|| format!("reading sslrootcert {}", path.display()))?;
            if certs.is_empty() {
                bail!("sslrootcert {} holds no PEM certificate", path.display());
            }
            for c in certs {
                roots
                    .add(c)
                    .with_context(|| format!("bad certificate in {}", path.display()))?;
            }
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
        }
    }
    Ok(roots)
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

/// sslmode=verify-ca: the chain must lead to a trusted root; the name on
/// the certificate is not compared with the host.
#[derive(Debug)]
struct IgnoreHostName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for IgnoreHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
