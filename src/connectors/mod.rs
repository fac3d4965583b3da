//! Integration types and the connectors that talk to their systems.
//!
//! Each type declares its setup fields; [`setup::Setup`] checks a caller's config and credentials
//! against them before anything talks to the remote system.

pub mod ldap;
pub mod mysql;
pub mod postgres;
pub mod redact;
pub mod remote;
pub mod scim;
pub mod setup;
pub mod tls;

use std::time::Duration;

pub use remote::{Listed, ObjectProblem, PageStream, RemoteAccess, RemoteAccount, RemoteResource};
pub use setup::{Setup, SetupField};

use crate::error::AppError;
use crate::model::LinkUsersBy;

/// How Oblique reads and writes one external system. Listings stream pages; push operations are
/// idempotent (adding a present member, removing an absent one: success).
#[async_trait::async_trait]
pub trait Connector: Send + Sync {
    /// Connects and checks that everything a sync needs can be read.
    async fn validate(&self) -> Result<(), ConnectorError>;
    fn list_accounts(&self) -> PageStream<'_, RemoteAccount>;
    fn list_resources(&self) -> PageStream<'_, RemoteResource>;
    fn list_access(&self) -> PageStream<'_, RemoteAccess>;
    async fn add_member(
        &self,
        resource_external_id: &str,
        account_external_id: &str,
    ) -> Result<(), ConnectorError>;
    async fn remove_member(
        &self,
        resource_external_id: &str,
        account_external_id: &str,
    ) -> Result<(), ConnectorError>;
    /// Creates a resource named `name`; a name already taken remotely is an error, never adopted.
    async fn create_resource(&self, name: &str) -> Result<RemoteResource, ConnectorError>;
}

/// Why a connector could not do its job. Messages go to API callers: they never contain secrets.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The setup is wrong (bad password, unknown database, missing privilege): `field` names the
    /// setup field most likely at fault (e.g. `credentials.password`, `config.database`).
    #[error("{field}: {message}")]
    InvalidSetup { field: String, message: String },
    /// The system cannot be reached or is not answering (connection refused, DNS, timeout).
    #[error("{0}")]
    Unreachable(String),
    /// Anything else the remote reported.
    #[error("{0}")]
    Remote(String),
}

/// How a caller sees a connector's refusal.
impl From<ConnectorError> for AppError {
    fn from(error: ConnectorError) -> Self {
        match error {
            ConnectorError::InvalidSetup { field, message } => AppError::invalid(field, message),
            ConnectorError::Unreachable(message) => AppError::Unavailable(message),
            ConnectorError::Remote(message) => AppError::FailedPrecondition(message),
        }
    }
}

/// What Oblique can do to a type's systems besides reading them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    pub can_push: bool,
    pub can_create_resources: bool,
}

/// The kinds of system Oblique integrates with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntegrationKind {
    Postgres,
    Ldap,
    Scim,
    Mysql,
}

/// How long connecting may take before the system counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl IntegrationKind {
    pub const ALL: &'static [IntegrationKind] = &[
        IntegrationKind::Postgres,
        IntegrationKind::Ldap,
        IntegrationKind::Scim,
        IntegrationKind::Mysql,
    ];

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|kind| kind.name() == name)
    }

    /// The stable name callers use (`type` in the API).
    pub fn name(self) -> &'static str {
        match self {
            IntegrationKind::Postgres => "postgres",
            IntegrationKind::Ldap => "ldap",
            IntegrationKind::Scim => "scim",
            IntegrationKind::Mysql => "mysql",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            IntegrationKind::Postgres => "PostgreSQL",
            IntegrationKind::Ldap => "LDAP",
            IntegrationKind::Scim => "SCIM 2.0",
            IntegrationKind::Mysql => "MySQL / MariaDB",
        }
    }

    pub fn capabilities(self) -> Capabilities {
        match self {
            IntegrationKind::Postgres => Capabilities {
                can_push: true,
                can_create_resources: true,
            },
            IntegrationKind::Ldap => Capabilities {
                can_push: true,
                can_create_resources: true,
            },
            IntegrationKind::Scim => Capabilities {
                can_push: true,
                can_create_resources: true,
            },
            IntegrationKind::Mysql => Capabilities {
                can_push: true,
                can_create_resources: true,
            },
        }
    }

    pub fn setup_fields(self) -> &'static [SetupField] {
        match self {
            IntegrationKind::Postgres => postgres::SETUP_FIELDS,
            IntegrationKind::Ldap => ldap::SETUP_FIELDS,
            IntegrationKind::Scim => scim::SETUP_FIELDS,
            IntegrationKind::Mysql => mysql::SETUP_FIELDS,
        }
    }

    /// Which value links the accounts of a new integration of this type to Oblique users when the
    /// request names none: directories (and the identity providers SCIM speaks for) are where
    /// people's emails are kept; database roles have only a name.
    pub fn default_link_users_by(self) -> LinkUsersBy {
        match self {
            IntegrationKind::Postgres | IntegrationKind::Mysql => LinkUsersBy::Username,
            IntegrationKind::Ldap | IntegrationKind::Scim => LinkUsersBy::Email,
        }
    }

    /// How the setup weakens the transport to the system (no TLS, an unverified certificate),
    /// one sentence each, for the caller to see with the integration.
    pub fn setup_warnings(self, setup: &Setup) -> Vec<String> {
        match self {
            IntegrationKind::Postgres => postgres::setup_warnings(setup),
            IntegrationKind::Ldap => ldap::setup_warnings(setup),
            IntegrationKind::Scim => scim::setup_warnings(setup),
            IntegrationKind::Mysql => mysql::setup_warnings(setup),
        }
    }

    /// The config fields that decide where (and how protected) the credentials are sent: a
    /// change of one must come with the credentials, never reuse the stored ones.
    pub fn credential_destination_fields(self) -> &'static [&'static str] {
        match self {
            IntegrationKind::Postgres => postgres::CREDENTIAL_DESTINATION_FIELDS,
            IntegrationKind::Ldap => ldap::CREDENTIAL_DESTINATION_FIELDS,
            IntegrationKind::Scim => scim::CREDENTIAL_DESTINATION_FIELDS,
            IntegrationKind::Mysql => mysql::CREDENTIAL_DESTINATION_FIELDS,
        }
    }

    /// A connector for the system `setup` describes. Its errors never quote the setup's
    /// credentials, whatever the remote system answers (see [`redact`]).
    pub fn connector(self, setup: &Setup) -> Result<Box<dyn Connector>, ConnectorError> {
        let secrets = redact::Secrets::new(setup.credentials.iter().map(|(_, value)| value));
        match self.unredacted_connector(setup) {
            Ok(inner) => Ok(Box::new(redact::Redacting { inner, secrets })),
            Err(error) => Err(secrets.redact_error(error)),
        }
    }

    fn unredacted_connector(self, setup: &Setup) -> Result<Box<dyn Connector>, ConnectorError> {
        match self {
            IntegrationKind::Postgres => {
                let settings = postgres::PostgresSettings::from_setup(setup, CONNECT_TIMEOUT)?;
                Ok(Box::new(postgres::PostgresConnector::new(settings)))
            }
            // The setup has a timeout field of its own.
            IntegrationKind::Ldap => {
                let settings = ldap::LdapSettings::from_setup(setup)?;
                Ok(Box::new(ldap::LdapConnector::new(settings)))
            }
            // Likewise.
            IntegrationKind::Scim => {
                let settings = scim::ScimSettings::from_setup(setup)?;
                Ok(Box::new(scim::ScimConnector::new(settings)?))
            }
            IntegrationKind::Mysql => {
                let settings = mysql::MysqlSettings::from_setup(setup, CONNECT_TIMEOUT)?;
                Ok(Box::new(mysql::MysqlConnector::new(settings)))
            }
        }
    }

    /// Checks a setup against the real system: connects and reads what a sync will need. Answers
    /// the setup to store, completed with what the system told (an `ldap` setup's `id_attribute`
    /// and its directory's defaults), so that every later sync reads it the same way.
    pub async fn validate(self, setup: Setup) -> Result<Setup, ConnectorError> {
        let setup = match self {
            IntegrationKind::Ldap => {
                let secrets = redact::Secrets::new(setup.credentials.iter().map(|(_, v)| v));
                ldap::complete_setup(setup)
                    .await
                    .map_err(|error| secrets.redact_error(error))?
            }
            IntegrationKind::Postgres | IntegrationKind::Scim | IntegrationKind::Mysql => setup,
        };
        self.connector(&setup)?.validate().await?;
        Ok(setup)
    }
}
