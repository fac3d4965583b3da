//! TLS for connections to Oblique's own database: what each libpq `sslmode` checks of the
//! server's certificate, and the CA certificates of `sslrootcert`.
//!
//! libpq semantics: `prefer` and `require` encrypt without checking the certificate, except that
//! `require` with an `sslrootcert` checks the chain (as libpq does when a root file is present);
//! `verify-ca` checks the chain; `verify-full` checks the chain and that the certificate names
//! the host. Without `sslrootcert`, the chain is checked against the platform's root store.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

use crate::tls_client::{self, Verification};

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(text: &str) -> Result<Self, TlsSetupError> {
        match text {
            "disable" => Ok(SslMode::Disable),
            "prefer" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa),
            "verify-full" => Ok(SslMode::VerifyFull),
            // libpq's `allow` tries plaintext first: a downgrade we do not offer.
            other => Err(TlsSetupError::UnknownSslMode(other.to_string())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error(
        "unknown sslmode {0:?} in the database URL: use disable, prefer, require, verify-ca or verify-full"
    )]
    UnknownSslMode(String),
    #[error("sslrootcert {path}: {detail}")]
    RootCert { path: String, detail: String },
    #[error("cannot set up TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The rustls configuration for `mode` (unused, but valid, for `Disable`).
pub fn client_config(
    mode: SslMode,
    root_cert: Option<&Path>,
) -> Result<ClientConfig, TlsSetupError> {
    let roots = match root_cert {
        Some(path) => Arc::new(load_roots(path)?),
        None => tls_client::native_roots(),
    };
    let verification = match (mode, root_cert) {
        (SslMode::Disable | SslMode::Prefer, _) | (SslMode::Require, None) => {
            Verification::EncryptOnly
        }
        (SslMode::Require | SslMode::VerifyCa, _) => Verification::Chain(roots),
        (SslMode::VerifyFull, _) => Verification::Full(roots),
    };
    Ok(tls_client::client_config(&verification)?)
}

/// Every certificate of a PEM file; a file with none is an error, not an empty trust store.
fn load_roots(path: &Path) -> Result<RootCertStore, TlsSetupError> {
    let failed = |detail: String| TlsSetupError::RootCert {
        path: path.display().to_string(),
        detail,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| failed(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| failed(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(failed("no usable PEM certificate in it".to_string()));
    }
    Ok(roots)
}
