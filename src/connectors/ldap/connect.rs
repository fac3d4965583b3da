//! Opening a bound connection to the directory a setup describes, and checking that setup.

use std::sync::Arc;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings};
use secrecy::ExposeSecret;

use super::errors::{bind_error, connect_error, operation_error, rc, timed_out};
use super::settings::LdapSettings;
use crate::connectors::ConnectorError;
use crate::connectors::tls::{Verification, client_config};

/// Connects (with StartTLS when set) and binds; the connection task is spawned on tokio and
/// ends when the last clone of the returned handle is dropped.
pub(super) async fn connect(settings: &LdapSettings) -> Result<Ldap, ConnectorError> {
    let mut options = LdapConnSettings::new()
        .set_conn_timeout(settings.timeout)
        .set_starttls(settings.starttls);
    if settings.uses_tls() {
        // Always the full check: the certificate must come from ca_cert (else the platform's
        // roots) and name the host in the URL, as LDAP clients' TLS_REQCERT demand does.
        let verification = Verification::Full(settings.ca_cert.clone());
        options = options.set_config(Arc::new(client_config(&verification)?));
    }
    // ldap3's own timeout covers the TCP connect only, not TLS or a silent peer.
    let (connection, mut ldap) = answer(
        settings,
        LdapConnAsync::with_settings(options, &settings.url),
    )
    .await?
    .map_err(|error| connect_error(error, settings))?;
    let url = settings.url.clone();
    tokio::spawn(async move {
        if let Err(error) = connection.drive().await {
            tracing::debug!(%url, %error, "LDAP connection ended with an error");
        }
    });
    let bind = ldap
        .with_timeout(settings.timeout)
        .simple_bind(&settings.bind_dn, settings.bind_password.expose_secret());
    let result = answer(settings, bind)
        .await?
        .map_err(|error| operation_error(error, settings, bind_error))?;
    if result.rc != rc::SUCCESS {
        return Err(bind_error(&result));
    }
    Ok(ldap)
}

/// Awaits one answer from the server, failing as unreachable after the setup's timeout. The
/// inner error is what the server or ldap3 reported, for the caller to map.
pub(super) async fn answer<T>(
    settings: &LdapSettings,
    request: impl Future<Output = Result<T, ldap3::LdapError>>,
) -> Result<Result<T, ldap3::LdapError>, ConnectorError> {
    tokio::time::timeout(settings.timeout, request)
        .await
        .map_err(|_| timed_out(settings))
}
