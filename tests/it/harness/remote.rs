//! The remote system integrations connect to in tests: one throwaway PostgreSQL cluster per test
//! process (an `oblique_testkit` remote cluster) that checks passwords (SCRAM), so wrong
//! credentials really fail, and admits every role but the harness's superuser over TLS only,
//! with a certificate for 127.0.0.1 and localhost signed by a test CA. The default setup
//! verifies it (sslmode verify-full, the CA as ca_cert), so the whole suite goes through the
//! verifying path.

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use oblique_testkit::keep_until_exit;
use oblique_testkit::postgres::remote::{Admission, RemoteCluster};
use tokio::sync::OnceCell;

pub const READER: &str = "oblique_reader";
pub const READER_PASSWORD: &str = "remote-Secret-9f3c2a";

pub struct RemotePostgres {
    pub port: u16,
    /// The CA that signed the server's certificate (PEM).
    pub ca_pem: String,
    /// Superuser URL for tests that change the remote.
    pub admin_url: String,
}

pub async fn remote_postgres() -> &'static RemotePostgres {
    static REMOTE: OnceCell<RemotePostgres> = OnceCell::const_new();
    REMOTE
        .get_or_init(|| async {
            // The harness's superuser stays trusted in clear; every other role must come over
            // TLS and give its password, so sslmode disable is refused.
            let cluster = RemoteCluster::start(
                &["127.0.0.1", "localhost"],
                Admission::TlsAndPasswordsButSuperuser,
            )
            .await;
            // CREATEROLE lets integrations push memberships and create roles for teams.
            cluster
                .admin()
                .await
                .batch_execute(&format!(
                    "CREATE ROLE {READER} LOGIN CREATEROLE PASSWORD '{READER_PASSWORD}'"
                ))
                .await
                .expect("creating the reader role");
            let remote = RemotePostgres {
                port: cluster.port(),
                ca_pem: cluster.ca_pem().to_string(),
                admin_url: cluster.admin_url("postgres"),
            };
            keep_until_exit(cluster.into_cluster());
            remote
        })
        .await
}

impl RemotePostgres {
    /// A valid `postgres` integration setup pointing at this cluster.
    pub fn config(&self) -> std::collections::HashMap<String, String> {
        [
            ("host", "127.0.0.1".to_string()),
            ("port", self.port.to_string()),
            ("username", READER.to_string()),
            // sslmode left out: the default, verify-full.
            ("ca_cert", self.ca_pem.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    pub fn credentials(&self) -> std::collections::HashMap<String, String> {
        [("password".to_string(), READER_PASSWORD.to_string())].into()
    }
}

/// Roles of one test in the shared remote cluster, all named with a prefix of their own so that
/// tests running at once never see each other's roles (the integration's role_pattern selects
/// them). Dropped when the fixture goes away.
pub struct RemoteRoles {
    pub prefix: String,
    admin_url: String,
}

impl RemoteRoles {
    pub async fn new() -> RemoteRoles {
        RemoteRoles::in_cluster(remote_postgres().await.admin_url.clone())
    }

    /// Roles in another cluster, whose superuser connects with `admin_url`: for a test that
    /// needs a remote of its own (configured differently from the shared one).
    pub fn in_cluster(admin_url: String) -> RemoteRoles {
        RemoteRoles {
            prefix: format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]),
            admin_url,
        }
    }

    /// The remote role's full name.
    pub fn name(&self, short: &str) -> String {
        format!("{}_{short}", self.prefix)
    }

    /// `role_pattern` matching exactly this fixture's roles.
    pub fn pattern(&self) -> String {
        format!("{}\\_%", self.prefix)
    }

    /// Runs SQL on the remote as superuser; `{p}` in it stands for the prefix.
    pub async fn sql(&self, sql: &str) {
        let mut conn = AsyncPgConnection::establish(&self.admin_url)
            .await
            .expect("connecting to the remote cluster");
        conn.batch_execute(&sql.replace("{p}", &self.prefix))
            .await
            .unwrap_or_else(|error| panic!("remote SQL failed: {error}\n{sql}"));
    }

    /// A create request for an integration that sees only this fixture's roles.
    pub async fn create_request(&self, name: &str) -> oblique::pb::CreateIntegrationRequest {
        let mut request = super::create_request(name).await;
        request.config.insert("role_pattern".into(), self.pattern());
        request
    }

    /// A superuser connection to the remote cluster, for reading or changing it directly.
    pub async fn connect_admin(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.admin_url)
            .await
            .expect("connecting to the remote cluster")
    }
}

impl Drop for RemoteRoles {
    fn drop(&mut self) {
        let url = self.admin_url.clone();
        let prefix = self.prefix.clone();
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async {
                if let Ok(mut conn) = AsyncPgConnection::establish(&url).await {
                    let _ = conn
                        .batch_execute(&format!(
                            "DO $$ DECLARE r record; BEGIN
                               FOR r IN SELECT rolname FROM pg_roles WHERE rolname LIKE '{prefix}\\_%' LOOP
                                 EXECUTE format('DROP ROLE %I', r.rolname);
                               END LOOP;
                             END $$"
                        ))
                        .await;
                }
            });
        })
        .join();
    }
}
