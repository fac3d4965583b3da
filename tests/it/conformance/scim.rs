//! The `scim` type over `scim2-server`, one service per test: Users are accounts, Groups
//! resources, their `members` access.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use anyhow::Context;
use oblique_testkit::conformance::Remote;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::scim::ScimService;

/// A page smaller than the accounts the paging check adds.
const PAGE_SIZE: usize = 40;

/// The service, and the SCIM ids of what the test added, by name.
struct Service {
    service: ScimService,
    ids: Mutex<HashMap<String, String>>,
}

async fn start() -> (TestApp, Service) {
    let service = Service {
        service: ScimService::start().await,
        ids: Mutex::default(),
    };
    (TestApp::spawn().await, service)
}

oblique_testkit::conformance_suite!(
    start;
    pulls_accounts_resources_and_access,
    pages_past_the_limit,
    an_unreadable_object_is_a_sync_error,
    push_is_idempotent_and_drift_is_put_right,
    a_new_resource_is_created_and_a_taken_name_refused,
    wrong_credentials_are_refused_and_nothing_saved,
    an_unreachable_server_is_unavailable,
    removal_leaves_the_remote_as_it_was,
);

impl Service {
    fn remember(&self, name: &str, id: String) {
        self.ids.lock().unwrap().insert(name.to_string(), id);
    }

    fn id(&self, name: &str) -> anyhow::Result<String> {
        let ids = self.ids.lock().unwrap();
        ids.get(name).cloned().with_context(|| format!("no {name}"))
    }

    /// Every resource of `collection`, sorted by id, as the service shows them.
    async fn all(&self, collection: &str) -> anyhow::Result<Vec<Value>> {
        let path = format!("{collection}?count=10000");
        let page = self
            .service
            .admin
            .request(reqwest::Method::GET, &path, None)
            .await?;
        let mut resources = page["Resources"].as_array().cloned().unwrap_or_default();
        resources.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        Ok(resources)
    }
}

#[async_trait::async_trait]
impl Remote for Service {
    fn kind(&self) -> &'static str {
        "scim"
    }

    fn config(&self) -> HashMap<String, String> {
        self.service.config(&[])
    }

    fn credentials(&self) -> HashMap<String, String> {
        self.service.credentials()
    }

    fn secret_field(&self) -> &'static str {
        "bearer_token"
    }

    fn unreachable_config(&self) -> HashMap<String, String> {
        let url = format!("http://127.0.0.1:{}/scim/v2", oblique_testkit::free_port());
        self.service.config(&[("base_url", &url)])
    }

    fn paging(&self) -> (Vec<(&'static str, String)>, usize) {
        (
            vec![("page_size", PAGE_SIZE.to_string())],
            PAGE_SIZE * 2 + 1,
        )
    }

    fn account_attribute(&self, account: &str) -> (&'static str, String) {
        ("displayName", format!("{account} (display)"))
    }

    async fn add_account(&self, name: &str) -> anyhow::Result<String> {
        let extra = json!({
            "displayName": format!("{name} (display)"),
            "emails": [{"value": format!("{name}@example.org"), "primary": true}]
        });
        let id = self.service.admin.create_user(name, extra).await?;
        self.remember(name, id);
        Ok(name.to_string())
    }

    async fn add_accounts(&self, prefix: &str, count: usize) -> anyhow::Result<Vec<String>> {
        let ids = self.service.admin.create_users(prefix, count).await?;
        let names: Vec<String> = (0..count).map(|n| format!("{prefix}{n}")).collect();
        for (name, id) in names.iter().zip(ids) {
            self.remember(name, id);
        }
        Ok(names)
    }

    async fn add_resource(&self, name: &str, members: &[&str]) -> anyhow::Result<String> {
        let members = members
            .iter()
            .map(|member| self.id(member))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let members: Vec<&str> = members.iter().map(String::as_str).collect();
        let id = self.service.admin.create_group(name, &members).await?;
        self.remember(name, id);
        Ok(name.to_string())
    }

    async fn add_member(&self, resource: &str, account: &str) -> anyhow::Result<()> {
        let (group, user) = (self.id(resource)?, self.id(account)?);
        self.service.admin.add_member(&group, &user).await
    }

    async fn members(&self, resource: &str) -> anyhow::Result<BTreeSet<String>> {
        let members = self.service.admin.members(&self.id(resource)?).await?;
        let ids = self.ids.lock().unwrap();
        members
            .iter()
            .map(|member| {
                ids.iter()
                    .find(|(_, id)| *id == member)
                    .map(|(name, _)| name.clone())
                    .with_context(|| format!("a member nobody added: {member}"))
            })
            .collect()
    }

    async fn add_unreadable_account(&self, name: &str) -> anyhow::Result<String> {
        // Legal in JSON and SCIM, impossible in PostgreSQL text.
        let extra = json!({"title": "before\u{0}after"});
        self.service.admin.create_user(name, extra).await?;
        Ok(format!("account:{name}"))
    }

    fn resource_name(&self, name: &str) -> String {
        name.to_string()
    }

    async fn snapshot(&self) -> anyhow::Result<String> {
        let everything = json!({
            "Users": self.all("Users").await?,
            "Groups": self.all("Groups").await?,
        });
        Ok(serde_json::to_string_pretty(&everything)?)
    }
}
