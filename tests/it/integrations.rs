//! IntegrationService: create, read, list, update and delete, with their errors.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use oblique::db::schema::{integrations, sync_runs};
use oblique::pb::{
    self, DeleteIntegrationRequest, GetIntegrationRequest, GetResourceRequest,
    ListIntegrationsRequest, ListResourcesRequest,
};
use secrecy::ExposeSecret;
use tonic::Code;
use uuid::Uuid;

use crate::harness::calls::{create, integration_count};
use crate::harness::remote::READER_PASSWORD;
use crate::harness::{TestApp, create_request, expect_code};

#[tokio::test]
async fn create_checks_the_remote_saves_and_queues_the_initial_sync() {
    let app = TestApp::spawn_without_sync().await;
    let created = create(&app, "hr database").await;

    assert_eq!(created.r#type, "postgres");
    assert_eq!(created.name, "hr database");
    assert_eq!(created.status(), pb::IntegrationStatus::Active);
    assert!(created.credentials_set);
    assert!(created.credentials.is_empty());
    assert_eq!(created.sync_interval_seconds, 3600);
    assert_eq!(created.max_deletion_percent, 20);
    assert_eq!(created.config["port"], remote_port().await);
    assert_eq!(
        created.config["database"], "postgres",
        "defaults are filled in"
    );
    let run = created.last_sync_run.clone().expect("initial run");
    assert_eq!(run.state(), pb::SyncRunState::Queued);
    assert_eq!(run.trigger(), pb::SyncTrigger::Created);
    assert_eq!(run.requested_by, "test-admin");

    let fetched = app
        .viewer
        .integrations
        .clone()
        .get_integration(GetIntegrationRequest {
            id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched, created);
    let listed = app
        .viewer
        .integrations
        .clone()
        .list_integrations(ListIntegrationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.integrations, vec![created.clone()]);
    assert!(listed.next_page_token.is_empty());
}

#[tokio::test]
async fn credentials_are_never_returned_nor_stored_in_plaintext() {
    let app = TestApp::spawn_without_sync().await;
    let created = create(&app, "secretive").await;
    let mut client = app.admin.integrations.clone();
    let responses = [
        format!("{created:?}"),
        format!(
            "{:?}",
            client
                .get_integration(GetIntegrationRequest {
                    id: created.id.clone()
                })
                .await
                .unwrap()
        ),
        format!(
            "{:?}",
            client
                .list_integrations(ListIntegrationsRequest::default())
                .await
                .unwrap()
        ),
        format!(
            "{:?}",
            client
                .list_audit_events(pb::ListAuditEventsRequest::default())
                .await
                .unwrap()
        ),
    ];
    for response in responses {
        assert!(
            !response.contains(READER_PASSWORD),
            "password leaked: {response}"
        );
    }

    let id = Uuid::parse_str(&created.id).unwrap();
    let (config, sealed): (serde_json::Value, Option<Vec<u8>>) = integrations::table
        .find(id)
        .select((integrations::config, integrations::credentials_ciphertext))
        .first(&mut app.conn().await)
        .await
        .unwrap();
    let sealed = sealed.expect("credentials stored");
    assert!(!config.to_string().contains(READER_PASSWORD));
    let needle = READER_PASSWORD.as_bytes();
    assert!(
        !sealed.windows(needle.len()).any(|w| w == needle),
        "plaintext in the row"
    );
    let opened = app.ctx.secret_key.open(id, &sealed).unwrap();
    assert_eq!(
        opened.get("password").unwrap().expose_secret(),
        READER_PASSWORD
    );
}

#[tokio::test]
async fn bad_input_names_the_field_and_saves_nothing() {
    let app = TestApp::spawn_without_sync().await;
    let mut client = app.admin.integrations.clone();
    let valid = create_request("valid").await;
    let cases: Vec<(pb::CreateIntegrationRequest, &str)> = vec![
        (
            pb::CreateIntegrationRequest {
                r#type: "oracle".into(),
                ..valid.clone()
            },
            "type",
        ),
        (
            pb::CreateIntegrationRequest {
                r#type: String::new(),
                ..valid.clone()
            },
            "type",
        ),
        (
            pb::CreateIntegrationRequest {
                name: "  ".into(),
                ..valid.clone()
            },
            "name",
        ),
        (
            pb::CreateIntegrationRequest {
                name: "x".repeat(201),
                ..valid.clone()
            },
            "name",
        ),
        (
            pb::CreateIntegrationRequest {
                config: without(&valid.config, "host"),
                ..valid.clone()
            },
            "config.host",
        ),
        (
            pb::CreateIntegrationRequest {
                config: with(&valid.config, "hots", "typo"),
                ..valid.clone()
            },
            "config.hots",
        ),
        (
            pb::CreateIntegrationRequest {
                config: with(&valid.config, "password", "in the wrong map"),
                ..valid.clone()
            },
            "config.password",
        ),
        (
            pb::CreateIntegrationRequest {
                config: with(&valid.config, "port", "http"),
                ..valid.clone()
            },
            "config.port",
        ),
        (
            pb::CreateIntegrationRequest {
                config: with(&valid.config, "sslmode", "sometimes"),
                ..valid.clone()
            },
            "config.sslmode",
        ),
        (
            pb::CreateIntegrationRequest {
                config: with(&valid.config, "database", &"d".repeat(8 * 1024 + 1)),
                ..valid.clone()
            },
            "config.database",
        ),
        (
            pb::CreateIntegrationRequest {
                credentials: [("password".to_string(), "p".repeat(8 * 1024 + 1))].into(),
                ..valid.clone()
            },
            "credentials.password",
        ),
        (
            pb::CreateIntegrationRequest {
                config: with(&valid.config, "ca_cert", "not a PEM certificate"),
                ..valid.clone()
            },
            "config.ca_cert",
        ),
        (
            pb::CreateIntegrationRequest {
                credentials: Default::default(),
                ..valid.clone()
            },
            "credentials.password",
        ),
        (
            pb::CreateIntegrationRequest {
                sync_interval_seconds: -5,
                ..valid.clone()
            },
            "sync_interval_seconds",
        ),
        (
            pb::CreateIntegrationRequest {
                max_deletion_percent: Some(101),
                ..valid.clone()
            },
            "max_deletion_percent",
        ),
        (
            pb::CreateIntegrationRequest {
                credentials: [("password".to_string(), "wrong-password".to_string())].into(),
                ..valid.clone()
            },
            "credentials.password",
        ),
    ];
    for (request, field) in cases {
        let status = expect_code(
            client.create_integration(request).await,
            Code::InvalidArgument,
        );
        assert!(
            status.message().starts_with(&format!("{field}:")),
            "{field}: got {:?}",
            status.message()
        );
        assert!(!status.message().contains("wrong-password"));
    }
    assert_eq!(integration_count(&app).await, 0);
    let audit = client
        .list_audit_events(pb::ListAuditEventsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(audit.events.is_empty());
}

#[tokio::test]
async fn an_unreachable_system_is_unavailable_and_nothing_is_saved() {
    let app = TestApp::spawn_without_sync().await;
    let unused_port = oblique_testkit::free_port();
    let mut request = create_request("nowhere").await;
    request
        .config
        .insert("port".into(), unused_port.to_string());
    let status = expect_code(
        app.admin
            .integrations
            .clone()
            .create_integration(request)
            .await,
        Code::Unavailable,
    );
    assert!(status.message().contains("cannot reach"), "{status:?}");
    assert_eq!(integration_count(&app).await, 0);
}

#[tokio::test]
async fn names_are_unique_among_live_integrations() {
    let app = TestApp::spawn_without_sync().await;
    let first = create(&app, "crm").await;
    let mut client = app.admin.integrations.clone();
    let status = expect_code(
        client.create_integration(create_request("crm").await).await,
        Code::AlreadyExists,
    );
    assert!(status.message().contains("crm"));

    client
        .delete_integration(DeleteIntegrationRequest {
            id: first.id,
            force: false,
        })
        .await
        .unwrap();
    let again = create(&app, "crm").await;
    assert_eq!(again.status(), pb::IntegrationStatus::Active);
}

#[tokio::test]
async fn a_retried_create_returns_the_first_result() {
    let app = TestApp::spawn_without_sync().await;
    let mut request = create_request("once").await;
    request.request_id = "create-once-1".into();
    let mut client = app.admin.integrations.clone();
    let first = client
        .create_integration(request.clone())
        .await
        .unwrap()
        .into_inner();
    let second = client
        .create_integration(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.id, second.id);
    assert_eq!(integration_count(&app).await, 1);
    let runs: i64 = sync_runs::table
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(runs, 1, "one initial run");

    // Concurrent retries also converge on one integration.
    request.request_id = "create-twice-2".into();
    request.name = "twice".into();
    let (mut c1, mut c2) = (client.clone(), client.clone());
    let (a, b) = tokio::join!(
        c1.create_integration(request.clone()),
        c2.create_integration(request.clone())
    );
    assert_eq!(a.unwrap().into_inner().id, b.unwrap().into_inner().id);
    assert_eq!(integration_count(&app).await, 2);
}

#[tokio::test]
async fn lists_page_with_opaque_tokens() {
    let app = TestApp::spawn_without_sync().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(create(&app, &format!("integration {i}")).await.id);
    }
    let mut client = app.viewer.integrations.clone();
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_integrations(ListIntegrationsRequest {
                page_size: 2,
                page_token: token,
                include_deleted: false,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.integrations.len() <= 2);
        seen.extend(page.integrations.into_iter().map(|i| i.id));
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids, "every integration once, in creation order");

    let status = expect_code(
        client
            .list_integrations(ListIntegrationsRequest {
                page_token: "not-a-token".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert!(status.message().starts_with("page_token"));
    let status = expect_code(
        client
            .list_integrations(ListIntegrationsRequest {
                page_size: 1001,
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert!(status.message().starts_with("page_size"));
}

#[tokio::test]
async fn get_answers_invalid_argument_for_a_bad_id_and_not_found_for_an_unknown_one() {
    let app = TestApp::spawn_without_sync().await;
    let mut client = app.viewer.integrations.clone();
    let status = expect_code(
        client
            .get_integration(GetIntegrationRequest { id: "42".into() })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(status.message(), "id: must be a UUID");
    expect_code(
        client
            .get_integration(GetIntegrationRequest {
                id: Uuid::now_v7().to_string(),
            })
            .await,
        Code::NotFound,
    );
    expect_code(
        client
            .get_resource(GetResourceRequest {
                id: Uuid::now_v7().to_string(),
            })
            .await,
        Code::NotFound,
    );
    expect_code(
        client
            .list_resources(ListResourcesRequest {
                integration_id: "nope".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
}

async fn remote_port() -> String {
    crate::harness::remote_postgres().await.port.to_string()
}

fn with(
    map: &std::collections::HashMap<String, String>,
    key: &str,
    value: &str,
) -> std::collections::HashMap<String, String> {
    let mut map = map.clone();
    map.insert(key.into(), value.into());
    map
}

fn without(
    map: &std::collections::HashMap<String, String>,
    key: &str,
) -> std::collections::HashMap<String, String> {
    let mut map = map.clone();
    map.remove(key);
    map
}

/// A server at `127.0.0.1:<port>` that is not PostgreSQL: it answers what it is sent with an
/// HTTP error, or, like SSH or MySQL, speaks first with a greeting of its own.
async fn other_service(greets_first: bool) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                if greets_first {
                    let _ = socket
                        .write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
                        .await;
                }
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    port
}

#[tokio::test]
async fn a_server_that_is_not_postgresql_is_named_as_such_and_nothing_is_saved() {
    let app = TestApp::spawn_without_sync().await;
    for greets_first in [false, true] {
        let port = other_service(greets_first).await;
        let mut request = create_request("elsewhere").await;
        request.config.insert("port".into(), port.to_string());
        request.config.insert("sslmode".into(), "disable".into());
        let status = expect_code(
            app.admin
                .integrations
                .clone()
                .create_integration(request)
                .await,
            Code::InvalidArgument,
        );
        assert!(
            status.message().starts_with("config.port")
                && status.message().contains("not as PostgreSQL"),
            "{status:?}"
        );
    }
    assert_eq!(integration_count(&app).await, 0);
}
