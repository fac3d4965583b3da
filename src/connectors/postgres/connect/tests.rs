use std::time::Duration;

use secrecy::SecretString;

use super::*;
use crate::connectors::postgres::test_cluster::{
    Cluster, PASSWORD, assert_invalid, free_port, settings,
};
use crate::connectors::tls::TrustAnchors;

#[tokio::test]
async fn validates_against_a_throwaway_cluster() {
    let cluster = Cluster::start().await;
    let good = cluster.settings(SslMode::Disable);
    validate(&good).await.unwrap();
    for mode in [SslMode::Prefer, SslMode::Require] {
        let client = connect(&cluster.settings(mode)).await.unwrap();
        let sql = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
        assert!(
            client.query_one(sql, &[]).await.unwrap().get::<_, bool>(0),
            "{mode:?}"
        );
    }
    // The default: verified against the setup's CA, or refused against the platform's roots.
    validate(&cluster.settings_with_ca(SslMode::VerifyFull))
        .await
        .unwrap();
    assert_invalid(
        validate(&cluster.settings(SslMode::VerifyFull)).await,
        "config.ca_cert",
        "not signed by a CA this machine trusts",
    );

    let wrong = PostgresSettings {
        password: "not-it".into(),
        ..good.clone()
    };
    assert_invalid(
        validate(&wrong).await,
        "credentials.password",
        "password authentication failed",
    );
    let empty = PostgresSettings {
        password: SecretString::default(),
        ..good.clone()
    };
    assert_invalid(
        validate(&empty).await,
        "credentials.password",
        "none is set",
    );
    let database = PostgresSettings {
        database: "nope".into(),
        ..good.clone()
    };
    assert_invalid(
        validate(&database).await,
        "config.database",
        "\"nope\" does not exist",
    );
    let socket = PostgresSettings {
        host: std::env::temp_dir().display().to_string(),
        ..good.clone()
    };
    assert_invalid(validate(&socket).await, "config.host", "host name");

    let admin = cluster.admin().await;
    for sql in [
        &format!("CREATE ROLE limited LOGIN PASSWORD '{PASSWORD}'"),
        "REVOKE SELECT ON pg_catalog.pg_auth_members FROM PUBLIC",
        "ALTER SYSTEM SET ssl = off", // one statement per call: not in a transaction block
        "SELECT pg_reload_conf()",
    ] {
        admin.batch_execute(sql).await.unwrap();
    }
    assert_invalid(
        validate(&cluster.settings_as("limited")).await,
        "config.username",
        "cannot read pg_roles / pg_auth_members",
    );

    // The postmaster applies the reload asynchronously: wait until it stops offering TLS (the
    // bound only ends a wait that is stuck).
    let require = cluster.settings(SslMode::Require);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut result = validate(&require).await;
    while result.is_ok() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        result = validate(&require).await;
    }
    assert_invalid(result, "config.sslmode", "does not offer");
}

/// A certificate from the right CA but for another name, and one from another CA, as each
/// sslmode sees them.
#[tokio::test]
async fn each_sslmode_checks_what_libpq_checks() {
    let cluster = Cluster::start_named(&["db.example.test"]).await;
    let other_ca = oblique_testkit::pki::TestCa::new("unrelated CA");
    let other = Some(TrustAnchors::from_pem("config.ca_cert", &other_ca.pem()).unwrap());
    let with_other_ca = |sslmode| PostgresSettings {
        ca_cert: other.clone(),
        ..cluster.settings(sslmode)
    };

    assert_invalid(
        validate(&cluster.settings_with_ca(SslMode::VerifyFull)).await,
        "config.host",
        "does not name \"127.0.0.1\"",
    );
    validate(&cluster.settings_with_ca(SslMode::VerifyCa))
        .await
        .unwrap();
    // With a root certificate, require checks the chain as libpq does; without, it only
    // encrypts.
    validate(&cluster.settings_with_ca(SslMode::Require))
        .await
        .unwrap();
    validate(&cluster.settings(SslMode::Require)).await.unwrap();
    for mode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
        assert_invalid(
            validate(&with_other_ca(mode)).await,
            "config.ca_cert",
            "not signed by config.ca_cert",
        );
    }
    assert_invalid(
        validate(&cluster.settings(SslMode::VerifyCa)).await,
        "config.ca_cert",
        "not signed by a CA this machine trusts",
    );
}

#[tokio::test]
async fn classifies_servers_that_cannot_serve() {
    let mut refused = settings(free_port(), SslMode::Disable);
    let result = validate(&refused).await;
    assert!(
        matches!(&result, Err(ConnectorError::Unreachable(m)) if m.contains("refused")),
        "{result:?}"
    );
    refused.connect_timeout = Duration::from_millis(300);
    let dns = PostgresSettings {
        host: "nonexistent.invalid".into(),
        ..refused.clone()
    };
    assert!(matches!(
        validate(&dns).await,
        Err(ConnectorError::Unreachable(_))
    ));

    // The kernel completes the TCP handshake for the backlog, and then nobody answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = PostgresSettings { port, ..refused };
    let result = validate(&silent).await;
    assert!(
        matches!(&result, Err(ConnectorError::Unreachable(m)) if m.contains("no answer")),
        "{result:?}"
    );
}
