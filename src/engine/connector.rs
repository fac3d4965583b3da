//! The connector of a stored integration: its type, its config and its credentials, opened.

use crate::connectors::{Connector, IntegrationKind, Setup};
use crate::credentials::Credentials;
use crate::crypto::Keys;
use crate::db::models::IntegrationRow;
use crate::error::AppResult;

/// The integration's type; a type this build does not know is an internal error.
pub fn integration_kind(row: &IntegrationRow) -> AppResult<IntegrationKind> {
    IntegrationKind::from_name(&row.integration_type).ok_or_else(|| {
        anyhow::anyhow!(
            "integration {} has unknown type {:?}",
            row.id,
            row.integration_type
        )
        .into()
    })
}

/// The stored credentials of an integration, decrypted.
pub fn open_credentials(keys: &Keys, row: &IntegrationRow) -> AppResult<Credentials> {
    match &row.credentials_ciphertext {
        Some(sealed) => Ok(keys.open(row.id, sealed)?),
        None => Ok(Credentials::default()),
    }
}

/// A connector for the integration's system, built from its stored config and its decrypted
/// credentials. Building one does not connect.
pub fn connector_for_integration(
    keys: &Keys,
    row: &IntegrationRow,
) -> AppResult<Box<dyn Connector>> {
    let kind = integration_kind(row)?;
    let config = serde_json::from_value(row.config.clone())
        .map_err(|e| anyhow::anyhow!("stored config of {} is not a string map: {e}", row.id))?;
    let credentials = open_credentials(keys, row)?;
    let setup = Setup::check(kind.setup_fields(), config, credentials)?;
    Ok(kind.connector(&setup)?)
}

/// Where the engine's runs get their connectors. The service builds each from the integration's
/// stored setup ([`StoredSetup`]); a test can hand the engine its own source to make a remote
/// misbehave in ways a real one no longer can (panic, hang), to prove the engine survives them.
pub trait ConnectorSource: Send + Sync {
    fn connector(&self, keys: &Keys, row: &IntegrationRow) -> AppResult<Box<dyn Connector>>;
}

/// The connector of the integration's stored type, config and credentials.
pub struct StoredSetup;

impl ConnectorSource for StoredSetup {
    fn connector(&self, keys: &Keys, row: &IntegrationRow) -> AppResult<Box<dyn Connector>> {
        connector_for_integration(keys, row)
    }
}
