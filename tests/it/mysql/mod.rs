//! The `mysql` integration type against a real MariaDB (`mariadbd`, one per test, started by
//! the testkit): setup checks (credentials, privileges, reachability, TLS), what a sync pulls
//! (users with their attributes, roles, role grants; system accounts and the connecting user
//! left out; `user_pattern`), paging past a page, what a push changes on the server
//! (connector-level, with odd names, and end to end through the gRPC API: grants, drift,
//! teams).
//!
//! This module holds the shared fixture; each submodule covers one concern.

mod paging;
mod pull;
mod push;
mod push_end_to_end;
mod setup;

use std::collections::{BTreeMap, HashMap};

use mysql_async::prelude::Queryable;
use oblique::connectors::{Connector, IntegrationKind, Setup};
use oblique_testkit::mariadb::{MariaDb, MariaDbTls};
use oblique_testkit::pki::TestCa;

/// The password of the user Oblique connects as.
pub const PASSWORD: &str = "mysql-Pw-3c1e-test";

/// The user Oblique connects as: it may read the grant tables and create roles, and holds with
/// ADMIN OPTION the roles [`MysqlService::role`] makes (and those it creates itself). What the
/// README tells admins to grant.
const OBLIQUE_USER: &str = "oblique";

/// One test's MariaDB server and the user Oblique connects as.
pub struct MysqlService {
    server: MariaDb,
    /// The PEM of the CA that signed the server's certificate, when it serves TLS.
    pub ca_pem: Option<String>,
}

impl MysqlService {
    /// A server without TLS.
    pub async fn start() -> MysqlService {
        Self::started(None).await
    }

    /// A server whose certificate, signed by a test CA of its own, names 127.0.0.1 only.
    pub async fn start_tls() -> MysqlService {
        let ca = TestCa::new("oblique mysql test CA");
        let (cert_pem, key_pem) = ca.server(&["127.0.0.1"]);
        let tls = MariaDbTls {
            cert_pem,
            key_pem,
            ca_pem: ca.pem(),
        };
        Self::started(Some(tls)).await
    }

    async fn started(tls: Option<MariaDbTls>) -> MysqlService {
        let ca_pem = tls.as_ref().map(|tls| tls.ca_pem.clone());
        let server = tokio::task::spawn_blocking(move || MariaDb::start(tls.as_ref()))
            .await
            .expect("starting mariadbd")
            .unwrap_or_else(|error| panic!("{error:#}"));
        let service = MysqlService { server, ca_pem };
        service
            .sql(&format!(
                "CREATE USER '{OBLIQUE_USER}'@'%' IDENTIFIED BY '{PASSWORD}';
                 GRANT SELECT ON mysql.global_priv TO '{OBLIQUE_USER}'@'%';
                 GRANT SELECT ON mysql.roles_mapping TO '{OBLIQUE_USER}'@'%';
                 GRANT CREATE USER ON *.* TO '{OBLIQUE_USER}'@'%'"
            ))
            .await;
        service
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Runs `sql` (statements separated by `;`) as root.
    pub async fn sql(&self, sql: &str) {
        let mut admin = self.server.admin().await.expect("root connection");
        admin
            .query_drop(sql)
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
        admin.disconnect().await.expect("disconnect");
    }

    /// Makes role `name` (a quoted identifier) and lets Oblique's user grant it.
    pub async fn role(&self, name: &str) {
        self.sql(&format!(
            "CREATE ROLE {name}; GRANT {name} TO '{OBLIQUE_USER}'@'%' WITH ADMIN OPTION"
        ))
        .await;
    }

    /// Who holds role `role` (its name, as stored) as `user@host`, sorted; root and Oblique's
    /// own user (granted the roles they create, WITH ADMIN OPTION) left out.
    pub async fn holders(&self, role: &str) -> Vec<String> {
        let mut admin = self.server.admin().await.expect("root connection");
        let holders: Vec<(String, String)> = admin
            .exec(
                "SELECT User, Host FROM mysql.roles_mapping
                 WHERE Role = ? AND User NOT IN ('root', ?) ORDER BY User, Host",
                (role, OBLIQUE_USER),
            )
            .await
            .expect("reading roles_mapping");
        admin.disconnect().await.expect("disconnect");
        holders
            .into_iter()
            .map(|(user, host)| format!("{user}@{host}"))
            .collect()
    }

    /// Every row of the grant tables, one line each in a stable order: equal for two calls
    /// when nothing changed on the server.
    pub async fn grant_tables(&self) -> String {
        let mut admin = self.server.admin().await.expect("root connection");
        let users: Vec<(String, String, String)> = admin
            .query("SELECT User, Host, Priv FROM mysql.global_priv ORDER BY Host, User")
            .await
            .expect("reading global_priv");
        let grants: Vec<(String, String, String, String)> = admin
            .query(
                "SELECT Host, User, Role, Admin_option FROM mysql.roles_mapping
                 ORDER BY Host, User, Role",
            )
            .await
            .expect("reading roles_mapping");
        admin.disconnect().await.expect("disconnect");
        let users = users
            .into_iter()
            .map(|(user, host, privileges)| format!("{user}@{host} {privileges}"));
        let grants = grants
            .into_iter()
            .map(|(host, user, role, admin)| format!("{user}@{host} has {role} {admin}"));
        users.chain(grants).collect::<Vec<_>>().join("\n")
    }

    /// Whether a role (or user) named `name` with an empty host exists.
    pub async fn role_exists(&self, name: &str) -> bool {
        let mut admin = self.server.admin().await.expect("root connection");
        let count: Option<i64> = admin
            .exec_first(
                "SELECT COUNT(*) FROM mysql.global_priv WHERE User = ? AND Host = ''",
                (name,),
            )
            .await
            .expect("reading global_priv");
        admin.disconnect().await.expect("disconnect");
        count == Some(1)
    }

    /// A valid `mysql` setup for this server, `extra` config on top: Oblique's user, `tls`
    /// `disabled` (or, for a TLS server, the default `verify_identity` with the test CA).
    pub fn config(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut config: HashMap<String, String> = [
            ("host", "127.0.0.1".to_string()),
            ("port", self.port().to_string()),
            ("username", OBLIQUE_USER.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        match &self.ca_pem {
            Some(ca) => config.insert("ca_cert".into(), ca.clone()),
            None => config.insert("tls".into(), "disabled".into()),
        };
        for (key, value) in extra {
            config.insert(key.to_string(), value.to_string());
        }
        config
    }

    pub fn credentials(&self) -> HashMap<String, String> {
        [("password".to_string(), PASSWORD.to_string())].into()
    }

    pub fn create_request(&self, name: &str) -> oblique::pb::CreateIntegrationRequest {
        oblique::pb::CreateIntegrationRequest {
            r#type: "mysql".into(),
            name: name.into(),
            config: self.config(&[]),
            credentials: self.credentials(),
            ..Default::default()
        }
    }

    /// The connector an integration with this setup (and `extra` config) would use.
    pub fn connector(&self, extra: &[(&str, &str)]) -> Box<dyn Connector> {
        let kind = IntegrationKind::Mysql;
        let setup = Setup::check(
            kind.setup_fields(),
            self.config(extra).into_iter().collect::<BTreeMap<_, _>>(),
            self.credentials().into_iter().collect(),
        )
        .expect("a valid setup");
        kind.connector(&setup).expect("a connector")
    }
}

pub(super) fn pair(resource: &str, account: &str) -> (String, String) {
    (resource.to_string(), account.to_string())
}
