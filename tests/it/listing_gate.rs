//! Holding a run while it lists, for tests that act on a running run (cancel it, remove its
//! integration, watch its lease), without touching any other test.
//!
//! The integration reads the remote's roles through a database of the test's own, whose
//! `pg_catalog.pg_roles` is a view that also reads a table of that database: while the test
//! holds the table locked, every listing through that database waits, and nothing else on the
//! shared remote cluster does. (Locking the cluster-wide `pg_authid` instead held every running
//! test's listings, and even new logins, for as long as one test needed.)

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use oblique::pb::CreateIntegrationRequest;

use crate::harness::remote::{RemoteRoles, remote_postgres};

/// Makes `pg_roles` read `listing_gate` too; the rename keeps the views built on it working.
const GATED_ROLES_VIEW: &str = "
    SET allow_system_table_mods = on;
    CREATE TABLE public.listing_gate ();
    ALTER VIEW pg_catalog.pg_roles RENAME TO pg_roles_ungated;
    CREATE VIEW pg_catalog.pg_roles AS
        SELECT roles.* FROM pg_catalog.pg_roles_ungated roles
        LEFT JOIN public.listing_gate ON false;
    GRANT SELECT ON pg_catalog.pg_roles TO PUBLIC";

/// A remote database of one test whose role listings wait while the test holds them.
pub struct ListingGate {
    database: String,
    port: u16,
}

impl ListingGate {
    pub async fn new(roles: &RemoteRoles) -> ListingGate {
        let remote = remote_postgres().await;
        let gate = ListingGate {
            database: format!("{}_gate", roles.prefix),
            port: remote.port,
        };
        let mut admin = AsyncPgConnection::establish(&remote.admin_url)
            .await
            .expect("connecting to the remote cluster");
        admin
            .batch_execute(&format!("CREATE DATABASE {}", gate.database))
            .await
            .expect("creating the gate's database");
        gate.connect()
            .await
            .batch_execute(GATED_ROLES_VIEW)
            .await
            .expect("gating pg_roles");
        gate
    }

    /// Points `request`'s integration at the gate's database.
    pub fn route(&self, mut request: CreateIntegrationRequest) -> CreateIntegrationRequest {
        request
            .config
            .insert("database".into(), self.database.clone());
        request
    }

    /// Listings wait from now until the returned guard opens the gate again (or is dropped,
    /// also by a failing test's unwinding: the lock goes with its connection).
    pub async fn close(&self) -> Closed {
        let mut conn = self.connect().await;
        conn.batch_execute("BEGIN; LOCK TABLE public.listing_gate IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("closing the gate");
        Closed(conn)
    }

    /// As the superuser, who is trusted without a password.
    async fn connect(&self) -> AsyncPgConnection {
        let url = format!(
            "postgres://postgres@127.0.0.1:{}/{}",
            self.port, self.database
        );
        AsyncPgConnection::establish(&url)
            .await
            .expect("connecting to the gate's database")
    }
}

/// The gate held closed.
pub struct Closed(AsyncPgConnection);

impl Closed {
    pub async fn open(mut self) {
        self.0
            .batch_execute("ROLLBACK")
            .await
            .expect("opening the gate");
    }
}

impl Drop for ListingGate {
    fn drop(&mut self) {
        let url = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database);
        // From a plain thread: Drop may run outside any runtime, or inside one it cannot block.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(mut conn) = AsyncPgConnection::establish(&url).await {
                    let _ = conn.batch_execute(&sql).await;
                }
            });
        })
        .join();
    }
}
