//! The connector's tests against a real server: an `oblique_testkit` remote cluster (TLS with a
//! test CA's certificate, SCRAM passwords for every role, 127.0.0.1 only, removed on drop), and
//! the connector's settings for it.
//!
//! Only plain values (ports, PEM, passwords) cross from the testkit: it links its own copy of
//! this crate, whose types are not this one's.

use std::time::Duration;

use oblique_testkit::postgres::remote::{Admission, RemoteCluster};
use tokio_postgres::Client;

use super::{PostgresSettings, SslMode};
use crate::connectors::ConnectorError;
use crate::connectors::tls::TrustAnchors;

pub use oblique_testkit::free_port;

/// The superuser's password in every test cluster.
pub const PASSWORD: &str = oblique_testkit::postgres::remote::SUPERUSER_PASSWORD;

pub struct Cluster(RemoteCluster);

impl Cluster {
    /// A cluster whose certificate, signed by a CA of its own, names 127.0.0.1.
    pub async fn start() -> Cluster {
        Cluster::start_named(&["127.0.0.1"]).await
    }

    /// A cluster whose certificate names only `names`.
    pub async fn start_named(names: &[&str]) -> Cluster {
        Cluster(RemoteCluster::start(names, Admission::Passwords).await)
    }

    /// How the superuser `postgres` connects.
    pub fn settings(&self, sslmode: SslMode) -> PostgresSettings {
        settings(self.0.port(), sslmode)
    }

    /// How the superuser connects trusting only this cluster's CA.
    pub fn settings_with_ca(&self, sslmode: SslMode) -> PostgresSettings {
        PostgresSettings {
            ca_cert: Some(TrustAnchors::from_pem("config.ca_cert", self.0.ca_pem()).unwrap()),
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
        self.0.admin().await
    }

    /// Stops the server now; the files stay until drop.
    pub async fn stop(&mut self) {
        self.0.stop().await;
    }
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
