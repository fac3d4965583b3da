//! The SCIM service tests use: a [`oblique_testkit::scim::ScimServer`] of each test's own (it
//! starts in about a second and keeps everything in memory, so tests never see each other's
//! users), with the setups and connectors that reach it. `scim2-server` unless a test asks for
//! the second implementation, SCIMMY.

use std::collections::{BTreeMap, HashMap};

use oblique::connectors::{Connector, IntegrationKind, Setup};
use oblique_testkit::scim::{ScimAdmin, ScimServer};

/// The bearer token the test services accept.
pub const TOKEN: &str = "scim-Token-5b2e-test";

/// One test's SCIM service.
pub struct ScimService {
    server: ScimServer,
    /// Seeds and reads the service, as its administrator.
    pub admin: ScimAdmin,
}

impl ScimService {
    /// A `scim2-server`.
    pub async fn start() -> ScimService {
        Self::started(|| ScimServer::start(TOKEN)).await
    }

    /// A SCIMMY service.
    pub async fn start_scimmy() -> ScimService {
        Self::started(|| ScimServer::start_scimmy(TOKEN)).await
    }

    async fn started(start: fn() -> anyhow::Result<ScimServer>) -> ScimService {
        let server = tokio::task::spawn_blocking(start)
            .await
            .expect("starting a SCIM service")
            .unwrap_or_else(|error| panic!("{error:#}"));
        let admin = server.admin();
        ScimService { server, admin }
    }

    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// A valid `scim` setup for this service, `extra` config on top: plain http:// with
    /// allow_plaintext, as a throwaway loopback service needs nothing more.
    pub fn config(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut config: HashMap<String, String> = [
            ("base_url", self.base_url()),
            ("allow_plaintext", "true".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (key, value) in extra {
            config.insert(key.to_string(), value.to_string());
        }
        config
    }

    pub fn credentials(&self) -> HashMap<String, String> {
        [("bearer_token".to_string(), TOKEN.to_string())].into()
    }

    pub fn create_request(&self, name: &str) -> oblique::pb::CreateIntegrationRequest {
        oblique::pb::CreateIntegrationRequest {
            r#type: "scim".into(),
            name: name.into(),
            config: self.config(&[]),
            credentials: self.credentials(),
            ..Default::default()
        }
    }

    /// The connector an integration with this setup (and `extra` config) would use.
    pub fn connector(&self, extra: &[(&str, &str)]) -> Box<dyn Connector> {
        let kind = IntegrationKind::Scim;
        let setup = Setup::check(
            kind.setup_fields(),
            self.config(extra).into_iter().collect::<BTreeMap<_, _>>(),
            self.credentials().into_iter().collect(),
        )
        .expect("a valid setup");
        kind.connector(&setup).expect("a connector")
    }
}
