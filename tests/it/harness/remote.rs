//! The remote system integrations connect to in tests: a throwaway PostgreSQL cluster that
//! checks passwords (SCRAM), so wrong credentials really fail.

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use tokio::sync::OnceCell;

use super::servers::start_throwaway;

pub const READER: &str = "oblique_reader";
pub const READER_PASSWORD: &str = "remote-Secret-9f3c2a";

pub struct RemotePostgres {
    pub port: u16,
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
            conn.batch_execute(&format!(
                "CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}'"
            ))
            .await
            .expect("creating the reader role");
            let hba_path: String = {
                #[derive(diesel::QueryableByName)]
                struct Setting {
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    setting: String,
                }
                use diesel_async::RunQueryDsl;
                diesel::sql_query("SELECT setting FROM pg_settings WHERE name = 'hba_file'")
                    .get_result::<Setting>(&mut conn)
                    .await
                    .expect("reading hba_file")
                    .setting
            };
            std::fs::write(
                &hba_path,
                "host all postgres 127.0.0.1/32 trust\n\
                 host all all 127.0.0.1/32 scram-sha-256\n",
            )
            .expect("writing pg_hba.conf");
            conn.batch_execute("SELECT pg_reload_conf()")
                .await
                .expect("reloading");
            RemotePostgres { port, admin_url }
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
            ("sslmode", "disable".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    pub fn credentials(&self) -> std::collections::HashMap<String, String> {
        [("password".to_string(), READER_PASSWORD.to_string())].into()
    }
}
