//! SCIM 2.0 connector (RFC 7643/7644: Okta, Microsoft Entra ID, OneLogin, Slack, Zoom, GitHub
//! Enterprise …): `/Users` are accounts, `/Groups` are resources and the groups' `members` are
//! access. Resources are known by their SCIM `id`.
//!
//! One HTTP client per connector, so that a sync's requests reuse their connections.

mod client;
mod decode;
mod errors;
mod listing;
mod push;
mod settings;
mod setup;
mod validate;

pub use settings::{Auth, ScimSettings};
pub use setup::{CREDENTIAL_DESTINATION_FIELDS, SETUP_FIELDS, setup_warnings};

use tokio::sync::OnceCell;

use super::{Connector, ConnectorError, PageStream, RemoteAccess, RemoteAccount, RemoteResource};
use client::ScimClient;

/// Reads and writes the users and groups of one SCIM service.
#[derive(Debug)]
pub struct ScimConnector {
    settings: ScimSettings,
    client: ScimClient,
    /// Whether the service announces ETags, read once, when the first change needs it.
    etags: OnceCell<bool>,
}

impl ScimConnector {
    pub fn new(settings: ScimSettings) -> Result<Self, ConnectorError> {
        Ok(ScimConnector {
            client: ScimClient::new(&settings)?,
            settings,
            etags: OnceCell::new(),
        })
    }

    async fn etag_support(&self) -> Result<bool, ConnectorError> {
        let read = || async { Ok(validate::service_config(&self.client).await?.etag) };
        self.etags.get_or_try_init(read).await.copied()
    }
}

#[async_trait::async_trait]
impl Connector for ScimConnector {
    async fn validate(&self) -> Result<(), ConnectorError> {
        validate::validate(&self.client, &self.settings).await
    }

    fn list_accounts(&self) -> PageStream<'_, RemoteAccount> {
        listing::accounts(&self.client, &self.settings)
    }

    fn list_resources(&self) -> PageStream<'_, RemoteResource> {
        listing::resources(&self.client, &self.settings)
    }

    fn list_access(&self) -> PageStream<'_, RemoteAccess> {
        listing::access(&self.client, &self.settings)
    }

    async fn add_member(
        &self,
        resource_external_id: &str,
        account_external_id: &str,
    ) -> Result<(), ConnectorError> {
        push::add_member(self, resource_external_id, account_external_id).await
    }

    async fn remove_member(
        &self,
        resource_external_id: &str,
        account_external_id: &str,
    ) -> Result<(), ConnectorError> {
        push::remove_member(self, resource_external_id, account_external_id).await
    }

    async fn create_resource(&self, name: &str) -> Result<RemoteResource, ConnectorError> {
        push::create_group(self, name).await
    }
}
