//! The `mysql` type against a MariaDB of the test's own: users (`'name'@'%'`) are accounts,
//! roles resources, role grants access.
//!
//! Every account the grant tables hold can be read (names are utf8 text, the rest numbers and
//! flags), so there is no unreadable object to make: the type leaves that check out.

use std::collections::{BTreeSet, HashMap};

use oblique_testkit::conformance::Remote;

use crate::harness::TestApp;
use crate::mysql::MysqlService;

/// The connector's page (`PAGE_SIZE` in src/connectors/mysql/pages.rs), which a listing of one
/// more account goes past.
const CONNECTOR_PAGE: usize = 5_000;

async fn start() -> (TestApp, MysqlService) {
    (TestApp::spawn().await, MysqlService::start().await)
}

oblique_testkit::conformance_suite!(
    start;
    pulls_accounts_resources_and_access,
    pages_past_the_limit,
    push_is_idempotent_and_drift_is_put_right,
    a_new_resource_is_created_and_a_taken_name_refused,
    wrong_credentials_are_refused_and_nothing_saved,
    an_unreachable_server_is_unavailable,
    removal_leaves_the_remote_as_it_was,
);

#[async_trait::async_trait]
impl Remote for MysqlService {
    fn kind(&self) -> &'static str {
        "mysql"
    }

    fn config(&self) -> HashMap<String, String> {
        MysqlService::config(self, &[])
    }

    fn credentials(&self) -> HashMap<String, String> {
        MysqlService::credentials(self)
    }

    fn secret_field(&self) -> &'static str {
        "password"
    }

    fn unreachable_config(&self) -> HashMap<String, String> {
        let port = oblique_testkit::free_port().to_string();
        MysqlService::config(self, &[("port", &port)])
    }

    fn paging(&self) -> (Vec<(&'static str, String)>, usize) {
        (Vec::new(), CONNECTOR_PAGE + 1)
    }

    fn account_attribute(&self, _account: &str) -> (&'static str, String) {
        ("host", "%".into())
    }

    async fn add_account(&self, name: &str) -> anyhow::Result<String> {
        self.sql(&format!("CREATE USER '{name}'@'%'")).await;
        Ok(name.to_string())
    }

    async fn add_accounts(&self, prefix: &str, count: usize) -> anyhow::Result<Vec<String>> {
        let names: Vec<String> = (0..count).map(|n| format!("{prefix}{n}")).collect();
        let users: Vec<String> = names.iter().map(|name| format!("'{name}'@'%'")).collect();
        // One statement per thousand users: far faster than one each.
        for chunk in users.chunks(1_000) {
            self.sql(&format!("CREATE USER {}", chunk.join(", "))).await;
        }
        Ok(names)
    }

    async fn add_resource(&self, name: &str, members: &[&str]) -> anyhow::Result<String> {
        self.role(&format!("`{name}`")).await;
        for member in members {
            self.add_member(name, member).await?;
        }
        Ok(name.to_string())
    }

    async fn add_member(&self, resource: &str, account: &str) -> anyhow::Result<()> {
        self.sql(&format!("GRANT `{resource}` TO '{account}'@'%'"))
            .await;
        Ok(())
    }

    async fn members(&self, resource: &str) -> anyhow::Result<BTreeSet<String>> {
        Ok(self
            .holders(resource)
            .await
            .into_iter()
            .filter_map(|holder| holder.split_once('@').map(|(user, _)| user.to_string()))
            .collect())
    }

    async fn add_unreadable_account(&self, _name: &str) -> anyhow::Result<String> {
        anyhow::bail!("every MariaDB account can be read")
    }

    fn resource_name(&self, name: &str) -> String {
        name.to_string()
    }

    async fn snapshot(&self) -> anyhow::Result<String> {
        Ok(self.grant_tables().await)
    }
}
