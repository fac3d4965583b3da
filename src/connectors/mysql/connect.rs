//! Opening a connection to the server a setup describes, and checking that setup.
//!
//! mysql_async builds its rustls configuration itself, from rustls' process-wide default
//! provider and from the trust anchors and checks given in its `SslOpts`; it takes no
//! configuration from outside. So the ring provider every other connection uses (see
//! `crate::tls_client`) is installed as that default before connecting, and the trust anchors
//! are handed over as certificates: the setup's `ca_cert`, else this machine's roots (never the
//! driver's built-in bundle).

use std::sync::LazyLock;

use mysql_async::{Conn, DriverError, Error, OptsBuilder, SslOpts};
use secrecy::ExposeSecret;

use super::errors::{map_error, timed_out};
use super::settings::{MysqlSettings, TlsMode};
use crate::connectors::ConnectorError;

/// Connects as the setup says: with `preferred`, over TLS when the server offers it and
/// without when it does not.
pub(super) async fn connect(settings: &MysqlSettings) -> Result<Conn, ConnectorError> {
    install_ring_provider();
    let ssl = match settings.tls {
        TlsMode::Disabled => None,
        TlsMode::Preferred | TlsMode::Required => Some(encrypt_only()),
        TlsMode::VerifyIdentity => Some(verified(settings)),
    };
    let first = answer(settings, Conn::new(options(settings, ssl))).await?;
    match first {
        Err(Error::Driver(DriverError::NoClientSslFlagFromServer))
            if settings.tls == TlsMode::Preferred =>
        {
            answer(settings, Conn::new(options(settings, None)))
                .await?
                .map_err(|error| map_error(&error, settings))
        }
        other => other.map_err(|error| map_error(&error, settings)),
    }
}

/// Awaits one answer from the server: the driver bounds neither connecting nor waiting for a
/// result, and a server that stops answering would otherwise hang a sync forever. The outer
/// error is the timeout, the inner one what the server or driver reported, for the caller to map.
pub(super) async fn answer<T>(
    settings: &MysqlSettings,
    request: impl Future<Output = Result<T, Error>>,
) -> Result<Result<T, Error>, ConnectorError> {
    tokio::time::timeout(settings.connect_timeout, request)
        .await
        .map_err(|_| timed_out(settings))
}

/// Says goodbye to the server; a failure to is no failure of the work done.
pub(super) async fn disconnect(conn: Conn) {
    if let Err(error) = conn.disconnect().await {
        tracing::debug!(%error, "MySQL connection ended with an error");
    }
}

fn options(settings: &MysqlSettings, ssl: Option<SslOpts>) -> OptsBuilder {
    OptsBuilder::default()
        .ip_or_hostname(settings.host.clone())
        .tcp_port(settings.port)
        .user(Some(settings.username.clone()))
        // The driver keeps its own copy (not wiped) for as long as the connection lives.
        .pass(Some(settings.password.expose_secret().to_string()))
        // Never switch to a Unix socket the server names: for a loopback address the driver
        // would otherwise connect to a socket on *this* machine, without TLS.
        .prefer_socket(false)
        .ssl_opts(ssl)
        // The password never crosses the network in clear, whatever the server asks.
        .enable_cleartext_plugin(false)
        .stmt_cache_size(0)
}

/// TLS that accepts any certificate: encryption against eavesdropping, not a middleman.
/// Handshake signatures are still checked by the driver's verifier. (That verifier is built
/// with some roots even though it never consults them: the driver's bundle, for want of others.)
fn encrypt_only() -> SslOpts {
    SslOpts::default().with_danger_accept_invalid_certs(true)
}

/// TLS whose certificate must chain to the setup's CA (else this machine's roots) and name the
/// host connected to.
fn verified(settings: &MysqlSettings) -> SslOpts {
    // The driver reads each buffer as PEM, or as one DER certificate when it holds no PEM.
    let roots: Vec<Vec<u8>> = match &settings.ca_cert {
        Some(pem) => vec![pem.as_bytes().to_vec()],
        None => NATIVE_ROOTS.clone(),
    };
    SslOpts::default()
        .with_disable_built_in_roots(true)
        .with_root_certs(roots.into_iter().map(Into::into).collect())
}

/// This machine's root certificates, as DER for the driver: only those rustls can use as trust
/// anchors (the driver refuses the whole set for one it cannot parse).
static NATIVE_ROOTS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let loaded = rustls_native_certs::load_native_certs();
    let mut usable = Vec::new();
    for certificate in loaded.certs {
        let mut probe = rustls::RootCertStore::empty();
        if probe.add(certificate.clone()).is_ok() {
            usable.push(certificate.to_vec());
        }
    }
    usable
});

/// The driver asks rustls for its process-wide default provider: make it ring, the one provider
/// this build has. Installing fails only when a default is already set, which is as good.
fn install_ring_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
