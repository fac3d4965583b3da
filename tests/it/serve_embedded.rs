//! The embedded PostgreSQL behind the real binary: `serve` and `oblique token` meet on its
//! socket, nothing listens on TCP, the service runs as a role that can only append to the audit
//! log, and a data directory made by older versions (trust, TCP, superuser-owned tables) is
//! secured without losing anything.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use diesel_async::SimpleAsyncConnection;
use oblique::auth::{Role, token};
use oblique::db::connect::{establish, percent_encode};
use oblique::db::embedded::EmbeddedPostgres;
use oblique::pb::ListIntegrationTypesRequest;
use secrecy::ExposeSecret;

use crate::serve_binary::{DataDir, Server, oblique, text, wait_for_token};

fn read_trimmed(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

/// The runtime role's URL, from the files `serve` keeps in `<data>/pg`.
fn runtime_url(data: &Path) -> String {
    let pg = data.join("pg");
    let password = read_trimmed(&pg.join("oblique.password"));
    let port = read_trimmed(&pg.join("port"));
    let socket = percent_encode(&pg.join("run").to_string_lossy());
    format!("postgres://oblique:{password}@{socket}:{port}/oblique")
}

async fn assert_runtime_role_cannot_tamper(data: &Path) {
    let mut conn = establish(&runtime_url(data))
        .await
        .expect("the runtime role connects with its password");
    for statement in [
        "UPDATE audit_events SET action = 'tampered'",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        "DROP TABLE audit_events CASCADE",
    ] {
        let error = conn.batch_execute(statement).await.expect_err(statement);
        let error = error.to_string();
        assert!(
            error.contains("permission denied") || error.contains("must be owner"),
            "{statement}: {error}"
        );
    }
}

#[tokio::test]
async fn embedded_serve_and_token_cli_meet_on_the_socket_and_serve_cannot_tamper_with_the_audit_log()
 {
    let data = DataDir::new();
    let logs = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(oblique(&data.path()), logs.path().join("serve.log"));
    let admin = wait_for_token(&mut server, &data.path().join("admin-token")).await;
    server.ready_clients(&admin).await;

    let created = oblique(&data.path())
        .args(["token", "create", "--name", "cli", "--role", "viewer"])
        .output()
        .expect("oblique token create");
    assert!(created.status.success(), "{created:?}");
    let viewer = text(&created.stdout).trim().to_string();
    let mut clients = server.ready_clients(&viewer).await;
    clients
        .integrations
        .list_integration_types(ListIntegrationTypesRequest {})
        .await
        .expect("the server knows the token the CLI made");

    let pg = data.path().join("pg");
    let port: u16 = read_trimmed(&pg.join("port")).parse().expect("port");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the embedded PostgreSQL listens on TCP"
    );
    for file in [
        "postgres.password",
        "oblique_owner.password",
        "oblique.password",
    ] {
        let mode = std::fs::metadata(pg.join(file))
            .expect(file)
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    assert_runtime_role_cannot_tamper(&data.path()).await;

    assert!(server.terminate().await.success());
    let log = server.log_text();
    for file in [
        "postgres.password",
        "oblique_owner.password",
        "oblique.password",
    ] {
        assert!(
            !log.contains(&read_trimmed(&pg.join(file))),
            "the log shows {file}"
        );
    }
}

#[tokio::test]
async fn a_data_dir_made_by_older_versions_is_secured_and_keeps_its_tokens() {
    let data = DataDir::new();
    std::fs::create_dir_all(data.path()).unwrap();
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    // What older versions left: a trust cluster on TCP whose tables the superuser owns.
    let token = {
        let mut old = EmbeddedPostgres::start_throwaway(&data.path().join("pg")).expect("old");
        oblique::cli::database::create_database_if_missing(&old.url("postgres"), "oblique")
            .await
            .unwrap();
        oblique::db::migrate::run_pending(&old.url("oblique"))
            .await
            .unwrap();
        let mut conn = establish(&old.url("oblique")).await.unwrap();
        let token = token::issue(&mut conn, "old-admin", Role::Admin)
            .await
            .unwrap()
            .expose_secret()
            .to_string();
        drop(conn);
        old.stop().unwrap();
        token
    };

    let logs = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(oblique(&data.path()), logs.path().join("serve.log"));
    let mut clients = server.ready_clients(&token).await;
    clients
        .integrations
        .list_integration_types(ListIntegrationTypesRequest {})
        .await
        .expect("the old token still works");
    assert_runtime_role_cannot_tamper(&data.path()).await;
    assert!(server.terminate().await.success(), "{}", server.log_text());
}
