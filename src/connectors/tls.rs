//! TLS to remote systems, for every connector: the trust anchors a setup gives (`ca_cert`, PEM)
//! or the platform's, and how much of the server's certificate is checked. All of the
//! connectors' rustls client setup lives here.

use std::sync::{Arc, LazyLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

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
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectorError::Remote(format!("cannot set up TLS: {e}")))?;
    let roots = |anchors: &Option<TrustAnchors>| match anchors {
        Some(TrustAnchors(roots)) => roots.clone(),
        None => NATIVE_ROOTS.clone(),
    };
    let config = match verification {
        Verification::Full(anchors) => builder.with_root_certificates(roots(anchors)),
        Verification::Chain(anchors) => {
            let verifier = WebPkiServerVerifier::builder_with_provider(roots(anchors), provider)
                .build()
                .map_err(|e| ConnectorError::Remote(format!("cannot set up TLS: {e}")))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly(verifier)))
        }
        Verification::EncryptOnly => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider))),
    };
    Ok(config.with_no_client_auth())
}

/// Loaded once: the platform store does not change while we run and reading it costs disk work.
static NATIVE_ROOTS: LazyLock<Arc<RootCertStore>> = LazyLock::new(|| {
    let loaded = rustls_native_certs::load_native_certs();
    for error in &loaded.errors {
        tracing::warn!(%error, "cannot load a platform root certificate");
    }
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
    tracing::debug!(added, ignored, "loaded platform root certificates");
    Arc::new(roots)
});

/// What a failed certificate check most likely means, for a caller's message: whether the
/// trust anchors (rather than the host name or the server's certificate itself) are at fault.
pub fn is_untrusted_issuer(error: &rustls::Error) -> bool {
    matches!(
        error,
        rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature
        )
    )
}

/// Whether the certificate was refused for not naming the host connected to.
pub fn is_wrong_name(error: &rustls::Error) -> bool {
    matches!(
        error,
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        )
    )
}

/// Checks the chain like `Full`, then forgives a name mismatch only. webpki checks the chain
/// before the name, so a name error means the chain was found valid.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
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
            Err(error) if is_wrong_name(&error) => Ok(ServerCertVerified::assertion()),
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

/// Accepts any certificate, as libpq's `require` does: it defeats passive eavesdropping, not an
/// active middleman. Handshake signatures are still checked so the session really belongs to the
/// presented certificate: SCRAM channel binding (used when the server offers it) relies on that
/// to stop a middleman during authentication.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
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
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
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
