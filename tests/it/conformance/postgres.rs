//! The `postgres` type: LOGIN roles are accounts, NOLOGIN roles resources, memberships access,
//! in the shared remote cluster under a prefix of this test's own.
//!
//! Every role the catalogue holds can be read (names are at most 63 bytes of text, flags are
//! booleans), so there is no unreadable object to make: the type leaves that check out.

use std::collections::{BTreeSet, HashMap};

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use oblique_testkit::conformance::Remote;

use crate::harness::TestApp;
use crate::harness::remote::{RemoteRoles, remote_postgres};

/// The connector's page (`PAGE_SIZE` in src/connectors/postgres/paged_query.rs), which a listing
/// of one more account goes past.
const CONNECTOR_PAGE: usize = 1_000;

struct Roles {
    roles: RemoteRoles,
    config: HashMap<String, String>,
    credentials: HashMap<String, String>,
}

async fn start() -> (TestApp, Roles) {
    let remote = remote_postgres().await;
    let roles = RemoteRoles::new().await;
    let mut config = remote.config();
    config.insert("role_pattern".into(), roles.pattern());
    let fixture = Roles {
        config,
        credentials: remote.credentials(),
        roles,
    };
    (TestApp::spawn().await, fixture)
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

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

impl Roles {
    /// One text line per row of `query` (`{p}` stands for the prefix).
    async fn lines(&self, query: &str) -> anyhow::Result<Vec<String>> {
        let query = query.replace("{p}", &self.roles.prefix);
        let mut conn = self.roles.connect_admin().await;
        let lines: Vec<Line> = diesel::sql_query(query).load(&mut conn).await?;
        Ok(lines.into_iter().map(|l| l.line).collect())
    }
}

#[async_trait::async_trait]
impl Remote for Roles {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn config(&self) -> HashMap<String, String> {
        self.config.clone()
    }

    fn credentials(&self) -> HashMap<String, String> {
        self.credentials.clone()
    }

    fn secret_field(&self) -> &'static str {
        "password"
    }

    fn unreachable_config(&self) -> HashMap<String, String> {
        let mut config = self.config.clone();
        let port = oblique_testkit::free_port().to_string();
        config.insert("port".into(), port);
        config
    }

    fn paging(&self) -> (Vec<(&'static str, String)>, usize) {
        (Vec::new(), CONNECTOR_PAGE + 1)
    }

    fn account_attribute(&self, _account: &str) -> (&'static str, String) {
        ("superuser", "false".into())
    }

    async fn add_account(&self, name: &str) -> anyhow::Result<String> {
        self.roles
            .sql(&format!("CREATE ROLE {{p}}_{name} LOGIN"))
            .await;
        Ok(self.roles.name(name))
    }

    async fn add_accounts(&self, prefix: &str, count: usize) -> anyhow::Result<Vec<String>> {
        let names: Vec<String> = (0..count).map(|n| format!("{prefix}{n}")).collect();
        let sql: String = names
            .iter()
            .map(|name| format!("CREATE ROLE {{p}}_{name} LOGIN;\n"))
            .collect();
        self.roles.sql(&sql).await;
        Ok(names.iter().map(|name| self.roles.name(name)).collect())
    }

    async fn add_resource(&self, name: &str, members: &[&str]) -> anyhow::Result<String> {
        let mut sql = format!("CREATE ROLE {{p}}_{name} NOLOGIN;\n");
        for member in members {
            sql.push_str(&format!("GRANT {{p}}_{name} TO {{p}}_{member};\n"));
        }
        self.roles.sql(&sql).await;
        Ok(self.roles.name(name))
    }

    async fn add_member(&self, resource: &str, account: &str) -> anyhow::Result<()> {
        let sql = format!("GRANT {{p}}_{resource} TO {{p}}_{account}");
        self.roles.sql(&sql).await;
        Ok(())
    }

    async fn members(&self, resource: &str) -> anyhow::Result<BTreeSet<String>> {
        let members = self
            .lines(&format!(
                "SELECT DISTINCT member.rolname::text AS line
                 FROM pg_auth_members m
                 JOIN pg_roles member ON member.oid = m.member
                 JOIN pg_roles role ON role.oid = m.roleid
                 WHERE role.rolname = '{{p}}_{resource}'"
            ))
            .await?;
        Ok(members.into_iter().collect())
    }

    async fn add_unreadable_account(&self, _name: &str) -> anyhow::Result<String> {
        anyhow::bail!("every PostgreSQL role can be read")
    }

    fn resource_name(&self, name: &str) -> String {
        self.roles.name(name)
    }

    async fn snapshot(&self) -> anyhow::Result<String> {
        let roles = self
            .lines(
                "SELECT concat_ws(' ', rolname, rolcanlogin, rolsuper, rolcreaterole,
                                  rolconnlimit, rolvaliduntil, oid) AS line
                 FROM pg_roles WHERE starts_with(rolname, '{p}_') ORDER BY rolname",
            )
            .await?;
        let memberships = self
            .lines(
                "SELECT concat_ws(' ', role.rolname, member.rolname, m.admin_option) AS line
                 FROM pg_auth_members m
                 JOIN pg_roles member ON member.oid = m.member
                 JOIN pg_roles role ON role.oid = m.roleid
                 WHERE starts_with(role.rolname, '{p}_') ORDER BY 1",
            )
            .await?;
        Ok([roles, memberships].concat().join("\n"))
    }
}
