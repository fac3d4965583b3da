//! Integration types and the connectors that talk to their systems.
//!
//! Each type declares its setup fields; [`setup::Setup`] checks a caller's config and credentials
//! against them before anything talks to the remote system.

pub mod postgres;
pub mod setup;

use std::time::Duration;

pub use setup::{Setup, SetupField};

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
}

/// How long a setup check may take before the system counts as unreachable.
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(10);

impl IntegrationKind {
    pub const ALL: &'static [IntegrationKind] = &[IntegrationKind::Postgres];

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|kind| kind.name() == name)
    }

    /// The stable name callers use (`type` in the API).
    pub fn name(self) -> &'static str {
        match self {
            IntegrationKind::Postgres => "postgres",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            IntegrationKind::Postgres => "PostgreSQL",
        }
    }

    pub fn capabilities(self) -> Capabilities {
        match self {
            IntegrationKind::Postgres => Capabilities {
                can_push: true,
                can_create_resources: true,
            },
        }
    }

    pub fn setup_fields(self) -> &'static [SetupField] {
        match self {
            IntegrationKind::Postgres => postgres::SETUP_FIELDS,
        }
    }

    /// Checks a setup against the real system: connects and reads what a sync will need.
    pub async fn validate(self, setup: &Setup) -> Result<(), ConnectorError> {
        match self {
            IntegrationKind::Postgres => {
                let settings = postgres::PostgresSettings::from_setup(setup, VALIDATION_TIMEOUT)?;
                postgres::validate(&settings).await
            }
        }
    }
}
