//! PostgreSQL connector: LOGIN roles are accounts, NOLOGIN roles are resources and memberships
//! of LOGIN roles in NOLOGIN roles (`pg_auth_members`) are access. Roles are known by oid.
//!
//! Every listing and push operation opens a connection of its own: syncs are rare and a
//! connection held between them would only pin a server slot.

mod connect;
mod errors;
mod listing;
#[cfg(test)]
mod odd_types_tests;
mod paged_query;
mod push;
mod settings;
mod setup;
#[cfg(test)]
mod test_cluster;

pub use connect::{connect, validate};
pub use settings::{PostgresSettings, SslMode};
pub use setup::{CREDENTIAL_DESTINATION_FIELDS, SETUP_FIELDS, setup_warnings};

use super::{Connector, ConnectorError, PageStream, RemoteAccess, RemoteAccount, RemoteResource};

/// Reads and writes the roles of one PostgreSQL cluster.
#[derive(Debug, Clone)]
pub struct PostgresConnector {
    settings: PostgresSettings,
}

impl PostgresConnector {
    pub fn new(settings: PostgresSettings) -> Self {
        PostgresConnector { settings }
    }
}

#[async_trait::async_trait]
impl Connector for PostgresConnector {
    async fn validate(&self) -> Result<(), ConnectorError> {
        validate(&self.settings).await
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
