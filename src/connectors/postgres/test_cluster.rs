//! Throwaway PostgreSQL clusters for the connector's tests: TLS on, SCRAM password
//! authentication, listening on 127.0.0.1 only, stopped and deleted on drop (also when a test
//! fails). The system server on port 5432 is never touched.

use std::process::{Command, Output};
use std::time::Duration;

use tempfile::TempDir;
use tokio_postgres::Client;

use super::{PostgresSettings, SslMode, connect};
use crate::connectors::ConnectorError;
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
    /// Dropped after `Drop::drop` has stopped the server, which removes the files.
    dir: TempDir,
}

impl Cluster {
    pub fn start() -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("oblique-pgtest-")
            .tempdir()
            .unwrap();
        let d = dir.path().display().to_string();
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
        std::fs::write(format!("{d}/server.crt"), cert.cert.pem()).unwrap();
        std::fs::write(format!("{d}/server.key"), cert.key_pair.serialize_pem()).unwrap();
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
                return Cluster { port, dir };
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
