//! MySQL and MariaDB connector: user accounts are accounts, roles are resources (type `role`)
//! and the roles granted to accounts are access. Accounts and roles are known by
//! `'name'@'host'`. MariaDB 10.4+ and MySQL 8 keep these in different tables: the connector
//! reads whichever the server has (see `flavour.rs`, `catalog.rs`).
//!
//! Every listing and push operation opens a connection of its own: syncs are rare and a
//! connection held between them would only pin a server slot.

mod catalog;
mod connect;
mod errors;
mod flavour;
mod listing;
mod names;
mod pages;
mod push;
mod settings;
mod setup;
mod validate;

pub use settings::{MysqlSettings, TlsMode};
pub use setup::{CREDENTIAL_DESTINATION_FIELDS, SETUP_FIELDS, setup_warnings};

use super::{Connector, ConnectorError, PageStream, RemoteAccess, RemoteAccount, RemoteResource};

/// Reads and writes the accounts and roles of one MySQL or MariaDB server.
#[derive(Debug, Clone)]
pub struct MysqlConnector {
    settings: MysqlSettings,
}

impl MysqlConnector {
    pub fn new(settings: MysqlSettings) -> Self {
        MysqlConnector { settings }
    }
}

#[async_trait::async_trait]
impl Connector for MysqlConnector {
    async fn validate(&self) -> Result<(), ConnectorError> {
        validate::validate(&self.settings).await
    }

    fn list_accounts(&self) -> PageStream<'_, RemoteAccount> {
        listing::accounts(&self.settings)
    }

    fn list_resources(&self) -> PageStream<'_, RemoteResource> {
        listing::resources(&self.settings)
    }

    fn list_access(&self) -> PageStream<'_, RemoteAccess> {
        listing::access(&self.settings)
    }

    async fn add_member(
        &self,
        resource_external_id: &str,
        account_external_id: &str,
    ) -> Result<(), ConnectorError> {
        push::add_member(&self.settings, resource_external_id, account_external_id).await
    }

    async fn remove_member(
        &self,
        resource_external_id: &str,
        account_external_id: &str,
    ) -> Result<(), ConnectorError> {
        push::remove_member(&self.settings, resource_external_id, account_external_id).await
    }

    async fn create_resource(&self, name: &str) -> Result<RemoteResource, ConnectorError> {
        push::create_resource(&self.settings, name).await
    }
}
