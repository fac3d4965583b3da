//! Throwaway PostgreSQL clusters for the connector's tests: TLS on, SCRAM password
//! authentication, listening on 127.0.0.1 only, stopped and deleted on drop (also when a test
//! fails). The system server on port 5432 is never touched.

use std::process::{Command, Output};
use std::time::Duration;

use tempfile::TempDir;
use tokio_postgres::Client;

use super::{PostgresSettings, SslMode, connect};
use crate::connectors::ConnectorError;
use crate::connectors::test_pki::TestCa;
use crate::connectors::tls::TrustAnchors;
use crate::db::embedded::PostgresBinaries;

/// The superuser's password in every test cluster.
pub const PASSWORD: &str = "s3cret-Pw-1f9c";

/// Runs a shell script in which `pg` runs a PostgreSQL binary as the postgres OS user when we
/// are root: initdb and postgres refuse to run as root.
fn sh(script: &str) -> std::io::Result<Output> {
    let bindir = PostgresBinaries::locate()
        .expect("PostgreSQL binaries")
        .bindir;
    let pg = format!(
        r#"pg() {{ p='{}'/$1; shift
            if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$p" "$@"; else "$p" "$@"; fi; }}"#,
        bindir.display()
    );
    Command::new("sh")
        .arg("-c")
        .arg(format!("{pg}\n{script}"))
        .output()
}

pub struct Cluster {
    pub port: u16,
    /// The CA that signed the server's certificate.
    pub ca_pem: String,
    /// Dropped after `Drop::drop` has stopped the server, which removes the files.
    dir: TempDir,
}

impl Cluster {
    /// A cluster whose certificate, signed by a CA of its own, names 127.0.0.1.
    pub fn start() -> Cluster {
        Cluster::start_named(&["127.0.0.1"])
    }

    /// A cluster whose certificate names only `names`.
    pub fn start_named(names: &[&str]) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("oblique-pgtest-")
            .tempdir()
            .unwrap();
        let d = dir.path().display().to_string();
        let ca = TestCa::new("oblique connector test CA");
        let (cert, key) = ca.server(names);
        std::fs::write(format!("{d}/server.crt"), cert).unwrap();
        std::fs::write(format!("{d}/server.key"), key).unwrap();
        std::fs::write(format!("{d}/pw"), PASSWORD).unwrap();
        let init = sh(&format!(
            "set -e; chmod 600 {d}/server.key; [ \"$(id -u)\" != 0 ] || chown -R postgres {d}
            chmod 700 {d}
            pg initdb -D {d}/data -U postgres -A scram-sha-256 --pwfile={d}/pw --no-sync >/dev/null
            # In the file, not on the command line, so that ALTER SYSTEM can turn TLS off.
            printf \"ssl = on\\nssl_cert_file = '{d}/server.crt'\\nssl_key_file = '{d}/server.key'\\n\" \
              >> {d}/data/postgresql.conf"
        ));
        assert!(init.as_ref().is_ok_and(|o| o.status.success()), "{init:?}");
        // Another test may take the free port between our probe and the server's bind: retry.
        let mut last = None;
        for _ in 0..5 {
            let port = free_port();
            let output = sh(&format!(
                "pg pg_ctl -D {d}/data -l {d}/log -w start \
                   -o '-p {port} -k {d} -c listen_addresses=127.0.0.1 -c fsync=off'"
            ));
            if output.as_ref().is_ok_and(|o| o.status.success()) {
                let ca_pem = ca.pem();
                return Cluster { port, ca_pem, dir };
            }
            last = Some(output);
        }
        let log = std::fs::read_to_string(format!("{d}/log")).unwrap_or_default();
        panic!("cannot start a test cluster: {last:?}\n{log}");
    }

    /// How the superuser `postgres` connects.
    pub fn settings(&self, sslmode: SslMode) -> PostgresSettings {
        settings(self.port, sslmode)
    }

    /// How the superuser connects trusting only this cluster's CA.
    pub fn settings_with_ca(&self, sslmode: SslMode) -> PostgresSettings {
        PostgresSettings {
            ca_cert: Some(TrustAnchors::from_pem("config.ca_cert", &self.ca_pem).unwrap()),
            ..self.settings(sslmode)
        }
    }

    /// How `username` (whose password is [`PASSWORD`]) connects, without TLS.
    pub fn settings_as(&self, username: &str) -> PostgresSettings {
        PostgresSettings {
            username: username.into(),
            ..self.settings(SslMode::Disable)
        }
    }

    /// A superuser connection for setting up a test.
    pub async fn admin(&self) -> Client {
        connect(&self.settings(SslMode::Disable)).await.unwrap()
    }

    /// Stops the server now; the files stay until drop.
    pub fn stop(&self) {
        let output = sh(&self.stop_script());
        assert!(
            output.as_ref().is_ok_and(|o| o.status.success()),
            "{output:?}"
        );
    }

    fn stop_script(&self) -> String {
        let d = self.dir.path().display();
        format!("pg pg_ctl -D {d}/data -m immediate -w stop >/dev/null 2>&1 || true")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Errors ignored: this also runs while a failed test unwinds, and after `stop`.
        let _ = sh(&self.stop_script());
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The superuser of a test cluster on `port`.
pub fn settings(port: u16, sslmode: SslMode) -> PostgresSettings {
    PostgresSettings {
        host: "127.0.0.1".into(),
        port,
        database: "postgres".into(),
        username: "postgres".into(),
        password: PASSWORD.into(),
        sslmode,
        ca_cert: None,
        role_pattern: None,
        connect_timeout: Duration::from_secs(10),
    }
}

#[track_caller]
pub fn assert_invalid(result: Result<(), ConnectorError>, expected: &str, contains: &str) {
    match result {
        Err(ConnectorError::InvalidSetup { field, message }) if field == expected => {
            assert!(
                message.contains(contains) && !message.contains(PASSWORD),
                "{message}"
            );
        }
        other => panic!("expected InvalidSetup on {expected}, got {other:?}"),
    }
}
