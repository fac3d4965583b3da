//! The remote system integrations connect to in tests: a throwaway PostgreSQL cluster that
//! checks passwords (SCRAM), so wrong credentials really fail, and admits every role but the
//! harness's superuser over TLS only, with a certificate for 127.0.0.1 and localhost signed by
//! a test CA. The default setup verifies it (sslmode verify-full, the CA as ca_cert), so the
//! whole suite goes through the verifying path.

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use tokio::sync::OnceCell;

use super::pki::TestCa;
use super::servers::start_throwaway;

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
            let port = start_throwaway("remote");
            let admin_url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
            let mut conn = AsyncPgConnection::establish(&admin_url)
                .await
                .expect("connecting to the remote cluster");
            // Superuser stays trusted for the harness; every other role must give its password.
            // CREATEROLE lets integrations push memberships and create roles for teams.
            conn.batch_execute(&format!(
                "CREATE ROLE {READER} LOGIN CREATEROLE PASSWORD '{READER_PASSWORD}'"
            ))
            .await
            .expect("creating the reader role");
            let hba_path = setting(&mut conn, "hba_file").await;
            let data_dir = setting(&mut conn, "data_directory").await;
            let ca = TestCa::new("oblique remote test CA");
            serve_tls(&mut conn, &data_dir, &ca).await;
            // The harness's superuser stays trusted in clear; every other role must come over TLS
            // and give its password, so sslmode disable is refused.
            std::fs::write(
                &hba_path,
                "host all postgres 127.0.0.1/32 trust\n\
                 hostssl all all 127.0.0.1/32 scram-sha-256\n",
            )
            .expect("writing pg_hba.conf");
            conn.batch_execute("SELECT pg_reload_conf()")
                .await
                .expect("reloading");
            wait_for_tls(&admin_url).await;
            let ca_pem = ca.pem();
            RemotePostgres {
                port,
                ca_pem,
                admin_url,
            }
        })
        .await
}

/// A server setting's value.
async fn setting(conn: &mut AsyncPgConnection, name: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        setting: String,
    }
    use diesel_async::RunQueryDsl;
    diesel::sql_query("SELECT setting FROM pg_settings WHERE name = $1")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<Setting>(conn)
        .await
        .unwrap_or_else(|error| panic!("reading {name}: {error}"))
        .setting
}

/// Puts a certificate signed by `ca` in the data directory (the key 0600 and owned by the
/// server's OS user, else the server refuses it) and turns TLS on; applied at the next reload.
async fn serve_tls(conn: &mut AsyncPgConnection, data_dir: &str, ca: &TestCa) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (cert, key) = ca.server(&["127.0.0.1", "localhost"]);
    let dir = std::path::Path::new(data_dir);
    let owner = std::fs::metadata(dir).expect("data directory").uid();
    for (name, text) in [("remote-test.crt", cert), ("remote-test.key", key)] {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("writing the server certificate");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        std::os::unix::fs::chown(&path, Some(owner), None).expect("chown");
    }
    // One statement per call: ALTER SYSTEM may not run in a transaction block.
    for sql in [
        "ALTER SYSTEM SET ssl_cert_file = 'remote-test.crt'",
        "ALTER SYSTEM SET ssl_key_file = 'remote-test.key'",
        "ALTER SYSTEM SET ssl = on",
    ] {
        conn.batch_execute(sql).await.expect(sql);
    }
}

/// The postmaster applies a reload asynchronously: wait until new sessions see TLS on.
async fn wait_for_tls(admin_url: &str) {
    #[derive(diesel::QueryableByName)]
    struct Ssl {
        #[diesel(sql_type = diesel::sql_types::Text)]
        ssl: String,
    }
    super::eventually("the remote cluster to turn TLS on", || async {
        let mut conn = AsyncPgConnection::establish(admin_url)
            .await
            .expect("connecting to the remote cluster");
        use diesel_async::RunQueryDsl;
        let ssl = diesel::sql_query("SHOW ssl")
            .get_result::<Ssl>(&mut conn)
            .await
            .expect("SHOW ssl");
        (ssl.ssl == "on").then_some(())
    })
    .await;
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
        let remote = remote_postgres().await;
        RemoteRoles {
            prefix: format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]),
            admin_url: remote.admin_url.clone(),
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
