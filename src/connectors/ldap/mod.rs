//! LDAP connector (OpenLDAP, Active Directory, 389-ds/FreeIPA): user entries are accounts, group
//! entries (groupOfNames, groupOfUniqueNames, posixGroup; AD's group) are resources and their
//! member, uniqueMember and memberUid values are access. Entries are known by the directory's
//! stable id (entryUUID, objectGUID or nsUniqueId: see [`identity`]).
//!
//! Every search uses the Simple Paged Results control, since directories cap a plain search at
//! a few hundred or thousand entries, and skips referrals. Each listing and push operation
//! opens a connection of its own, as the PostgreSQL connector does.

mod connect;
mod detect;
mod dn;
mod entry;
mod errors;
mod identity;
mod listing;
mod memberships;
mod pages;
mod push;
mod push_targets;
mod ranged;
mod search;
mod settings;
mod setup;
mod validate;

pub use detect::complete_setup;
pub use identity::IdAttribute;
pub use settings::LdapSettings;
pub use setup::{CREDENTIAL_DESTINATION_FIELDS, SETUP_FIELDS, setup_warnings};

use super::{Connector, ConnectorError, PageStream, RemoteAccess, RemoteAccount, RemoteResource};

/// Reads and writes the users and groups of one directory.
#[derive(Debug)]
pub struct LdapConnector {
    settings: LdapSettings,
}

impl LdapConnector {
    pub fn new(settings: LdapSettings) -> Self {
        LdapConnector { settings }
    }
}

#[async_trait::async_trait]
impl Connector for LdapConnector {
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
        memberships::access(&self.settings)
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
