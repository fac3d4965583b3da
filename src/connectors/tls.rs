//! TLS to remote systems, for every connector: the trust anchors a setup gives (`ca_cert`, PEM)
//! or the platform's, and how much of the server's certificate is checked (the checks
//! themselves are [`crate::tls_client`]'s).

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

use super::ConnectorError;
use super::setup::invalid;

/// The CA certificates of a setup's `ca_cert` field.
#[derive(Clone)]
pub struct TrustAnchors(Arc<RootCertStore>);

impl std::fmt::Debug for TrustAnchors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustAnchors({} certificates)", self.0.len())
    }
}

impl TrustAnchors {
    /// Parses PEM text holding one or more CA certificates; anything else is refused naming
    /// `field`.
    pub fn from_pem(field: &str, pem: &str) -> Result<Self, ConnectorError> {
        let bad = |why: String| invalid(field, format!("not a PEM CA certificate: {why}"));
        let certificates = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certificates.is_empty() {
            return Err(bad("no -----BEGIN CERTIFICATE----- block".into()));
        }
        let mut roots = RootCertStore::empty();
        for certificate in certificates {
            roots
                .add(certificate)
                .map_err(|e| bad(format!("cannot use it as a trust anchor: {e}")))?;
        }
        Ok(TrustAnchors(Arc::new(roots)))
    }
}

pub use crate::tls_client::{is_untrusted_issuer, is_wrong_name};

/// A handshake that failed because the server's certificate chains to no trusted root: the
/// caller is pointed at `config.ca_cert`, whichever connector it set up.
pub fn untrusted_issuer(failed: &str, has_ca_cert: bool) -> ConnectorError {
    let message = if has_ca_cert {
        format!("{failed}: the server's certificate is not signed by config.ca_cert")
    } else {
        format!(
            "{failed}: the server's certificate is not signed by a CA this machine trusts; \
             set config.ca_cert to the PEM certificate of the server's CA"
        )
    };
    invalid("config.ca_cert", message)
}

/// How much of the server's certificate a connection checks.
#[derive(Clone, Debug)]
pub enum Verification {
    /// Encryption against passive eavesdropping only: any certificate is accepted (libpq's
    /// `require` without a root certificate).
    EncryptOnly,
    /// The chain must lead to `anchors` (the platform's roots when `None`); the host name is
    /// not checked (libpq's `verify-ca`).
    Chain(Option<TrustAnchors>),
    /// The chain must lead to `anchors` (the platform's roots when `None`) and the certificate
    /// must name the host connected to (libpq's `verify-full`, LDAP clients' default).
    Full(Option<TrustAnchors>),
}

/// The rustls client configuration that checks what `verification` asks for.
pub fn client_config(verification: &Verification) -> Result<ClientConfig, ConnectorError> {
    use crate::tls_client::{self, Verification as Checks};
    let roots = |anchors: &Option<TrustAnchors>| match anchors {
        Some(TrustAnchors(roots)) => roots.clone(),
        None => tls_client::native_roots(),
    };
    let checks = match verification {
        Verification::EncryptOnly => Checks::EncryptOnly,
        Verification::Chain(anchors) => Checks::Chain(roots(anchors)),
        Verification::Full(anchors) => Checks::Full(roots(anchors)),
    };
    tls_client::client_config(&checks)
        .map_err(|e| ConnectorError::Remote(format!("cannot set up TLS: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_cert_must_be_pem_certificates() {
        let ca = rcgen::generate_simple_self_signed(vec!["ca".into()]).unwrap();
        assert!(TrustAnchors::from_pem("config.ca_cert", &ca.cert.pem()).is_ok());
        for bad in ["", "hello", &ca.key_pair.serialize_pem()] {
            match TrustAnchors::from_pem("config.ca_cert", bad) {
                Err(ConnectorError::InvalidSetup { field, message }) => {
                    assert_eq!(field, "config.ca_cert");
                    assert!(message.contains("PEM"), "{message}");
                }
                other => panic!("{bad:?} accepted: {other:?}"),
            }
        }
        let truncated = ca.cert.pem().replace("-----END CERTIFICATE-----", "");
        assert!(TrustAnchors::from_pem("config.ca_cert", &truncated).is_err());
    }
}
