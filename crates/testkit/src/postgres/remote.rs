//! A throwaway cluster dressed as a remote system: it serves TLS with a certificate that a CA of
//! its own signed, and checks passwords (SCRAM), so that wrong credentials and unverified
//! certificates really fail. The integration tests' shared remote and the postgres connector's
//! unit tests are each one of these.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls};

use super::ThrowawayCluster;
use crate::pki::TestCa;

/// The superuser's password where [`Admission::Passwords`] asks for it.
pub const SUPERUSER_PASSWORD: &str = "s3cret-Pw-1f9c";

/// Who the cluster lets in, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Every role, the superuser included, gives its password ([`SUPERUSER_PASSWORD`] for the
    /// superuser), with or without TLS: for tests that try every sslmode.
    Passwords,
    /// The superuser stays trusted in clear (for fixtures that set up the remote); every other
    /// role must come over TLS and give its password, so `sslmode=disable` is refused.
    TlsAndPasswordsButSuperuser,
    /// Every role, the superuser included, is trusted but only over TLS: plaintext is refused.
    /// For Oblique's own database reached with each sslmode.
    TlsOnly,
}

pub struct RemoteCluster {
    cluster: ThrowawayCluster,
    /// The CA that signed the server's certificate, PEM.
    ca_pem: String,
    admission: Admission,
}

impl RemoteCluster {
    /// A cluster whose certificate names only `names` (host names or IP addresses); panics if
    /// it cannot start.
    pub async fn start(names: &[&str], admission: Admission) -> RemoteCluster {
        let cluster = ThrowawayCluster::try_start("oblique-remote")
            .await
            .unwrap_or_else(|error| panic!("{error:#}"));
        let ca = TestCa::new("oblique test remote PostgreSQL CA");
        let remote = RemoteCluster {
            cluster,
            ca_pem: ca.pem(),
            admission,
        };
        // Still trusting everyone: the superuser connects without a password to set it up.
        let admin = connect(&remote.cluster.url("postgres")).await;
        if admission == Admission::Passwords {
            admin
                .batch_execute(&format!(
                    "ALTER ROLE postgres PASSWORD '{SUPERUSER_PASSWORD}'"
                ))
                .await
                .expect("setting the superuser's password");
        }
        remote.serve_tls(&admin, &ca, names).await;
        let hba = match admission {
            Admission::Passwords => "host all all 127.0.0.1/32 scram-sha-256\n",
            Admission::TlsAndPasswordsButSuperuser => {
                "host all postgres 127.0.0.1/32 trust\n\
                 hostssl all all 127.0.0.1/32 scram-sha-256\n"
            }
            Admission::TlsOnly => "hostssl all all 127.0.0.1/32 trust\n",
        };
        std::fs::write(remote.cluster.data_dir().join("pg_hba.conf"), hba)
            .expect("writing pg_hba.conf");
        admin
            .batch_execute("SELECT pg_reload_conf()")
            .await
            .expect("reloading the configuration");
        remote.wait_for_tls().await;
        remote
    }

    pub fn port(&self) -> u16 {
        self.cluster.port()
    }

    /// The CA that signed the server's certificate, PEM: what a verifying client trusts.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The superuser's URL for `database` (with its password where it needs one; no TLS).
    pub fn admin_url(&self, database: &str) -> String {
        match self.admission {
            Admission::Passwords => format!(
                "postgres://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{}/{database}",
                self.port()
            ),
            Admission::TlsAndPasswordsButSuperuser | Admission::TlsOnly => {
                self.cluster.url(database)
            }
        }
    }

    /// A superuser connection for setting up a test (no TLS; not under [`Admission::TlsOnly`]).
    pub async fn admin(&self) -> Client {
        connect(&self.admin_url("postgres")).await
    }

    /// Stops the server now (the files stay until drop).
    pub async fn stop(&mut self) {
        self.cluster.stop().await;
    }

    /// The cluster, to keep (with [`crate::keep_until_exit`]) once the caller has what it
    /// needs of it.
    pub fn into_cluster(self) -> ThrowawayCluster {
        self.cluster
    }

    /// Puts a certificate for `names` in the data directory (the key 0600 and owned by the
    /// server's OS user, else the server refuses it) and turns TLS on at the next reload. In
    /// postgresql.auto.conf, so that a test's own ALTER SYSTEM can turn it off again.
    async fn serve_tls(&self, admin: &Client, ca: &TestCa, names: &[&str]) {
        let (cert, key) = ca.server(names);
        let data = self.cluster.data_dir();
        let owner = std::fs::metadata(&data).expect("the data directory");
        for (name, text) in [("remote-test.crt", cert), ("remote-test.key", key)] {
            let path = data.join(name);
            std::fs::write(&path, text).expect("writing the server certificate");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
            std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).expect("chown");
        }
        // One statement per call: ALTER SYSTEM may not run in a transaction block.
        for sql in [
            "ALTER SYSTEM SET ssl_cert_file = 'remote-test.crt'",
            "ALTER SYSTEM SET ssl_key_file = 'remote-test.key'",
            "ALTER SYSTEM SET ssl = on",
        ] {
            admin.batch_execute(sql).await.expect(sql);
        }
    }

    /// The postmaster applies a reload asynchronously: waits until new sessions see TLS on (the
    /// bound only ends a wait that is stuck).
    async fn wait_for_tls(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        if self.admission == Admission::TlsOnly {
            // The reload that turns TLS on also drops every plaintext line: once a plaintext
            // session is refused, both apply.
            while tokio_postgres::connect(&self.admin_url("postgres"), NoTls)
                .await
                .is_ok()
            {
                assert!(
                    Instant::now() < deadline,
                    "the remote cluster did not turn TLS on"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            return;
        }
        loop {
            let admin = self.admin().await;
            let row = admin.query_one("SHOW ssl", &[]).await.expect("SHOW ssl");
            if row.get::<_, String>(0) == "on" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the remote cluster did not turn TLS on"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A connection without TLS, driven by a task of its own.
async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|error| panic!("connecting to the remote cluster: {error}"));
    tokio::spawn(connection);
    client
}
