//! UpdateIntegration never sends stored credentials to a new endpoint: a change of where (or how
//! protected) they travel must carry them again. The "new endpoint" is a TCP relay in front of
//! the remote PostgreSQL, which counts the connections it gets, so the test sees that a refused
//! update sent nothing there.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use oblique::db::schema::integrations;
use oblique::pb::{self, UpdateIntegrationRequest};
use prost_types::FieldMask;
use tokio::net::{TcpListener, TcpStream};
use tonic::Code;
use uuid::Uuid;

use crate::harness::calls::create;
use crate::harness::remote::READER_PASSWORD;
use crate::harness::{TestApp, expect_code, remote_postgres};

/// A TCP relay to `127.0.0.1:target`, as an attacker's server would be; counts connections.
struct Relay {
    port: u16,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(target: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let port = listener.local_addr().expect("relay addr").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Relay {
            port,
            accepted,
            task,
        }
    }

    fn connections(&self) -> usize {
        AtomicUsize::load(&self.accepted, Ordering::SeqCst)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

/// The integration's stored config and credentials ciphertext.
async fn stored(app: &TestApp, id: Uuid) -> (serde_json::Value, Option<Vec<u8>>) {
    integrations::table
        .find(id)
        .select((integrations::config, integrations::credentials_ciphertext))
        .first(&mut app.conn().await)
        .await
        .expect("reading the integration row")
}

#[tokio::test]
async fn a_new_endpoint_needs_the_credentials_again() {
    let app = TestApp::spawn_without_sync().await;
    let created = create(&app, "moving").await;
    let id = Uuid::parse_str(&created.id).unwrap();
    let relay = Relay::start(remote_postgres().await.port).await;
    let before = stored(&app, id).await;
    let mut client = app.admin.integrations.clone();
    let update = |changes: &[(&str, String)], credentials: bool| {
        let mut config = created.config.clone();
        for (key, value) in changes {
            config.insert(key.to_string(), value.clone());
        }
        let mut paths = vec!["config"];
        let mut integration = pb::Integration {
            id: created.id.clone(),
            config,
            ..Default::default()
        };
        if credentials {
            paths.push("credentials");
            integration.credentials = [("password".into(), READER_PASSWORD.into())].into();
        }
        UpdateIntegrationRequest {
            integration: Some(integration),
            update_mask: mask(&paths),
        }
    };

    // Every field that decides where or how the password travels, alone.
    let moves: [&[(&str, String)]; 5] = [
        &[("port", relay.port.to_string())],
        &[("host", "127.0.0.2".into())],
        &[("database", "template1".into())],
        &[("username", "someone_else".into())],
        &[("sslmode", "require".into())],
    ];
    for changes in moves {
        let status = expect_code(
            client.update_integration(update(changes, false)).await,
            Code::InvalidArgument,
        );
        assert!(
            status.message().starts_with("credentials"),
            "{changes:?}: {status:?}"
        );
        assert!(status.message().contains(changes[0].0), "{status:?}");
    }
    assert_eq!(relay.connections(), 0, "a refused update reached the relay");
    assert_eq!(
        stored(&app, id).await,
        before,
        "a refused update changed the row"
    );

    // With the credentials given again, the move is checked there and saved.
    let moved = client
        .update_integration(update(&[("port", relay.port.to_string())], true))
        .await
        .expect("a move with credentials")
        .into_inner();
    assert_eq!(moved.config["port"], relay.port.to_string());
    assert!(relay.connections() > 0, "the new endpoint was not checked");

    // Fields that do not move the credentials need none.
    let renamed = client
        .update_integration(UpdateIntegrationRequest {
            integration: Some(pb::Integration {
                id: created.id.clone(),
                name: "moved".into(),
                sync_interval_seconds: 120,
                ..Default::default()
            }),
            update_mask: mask(&["name", "sync_interval_seconds"]),
        })
        .await
        .expect("rename")
        .into_inner();
    assert_eq!(
        (renamed.name.as_str(), renamed.sync_interval_seconds),
        ("moved", 120)
    );
    let mut config = moved.config.clone();
    config.insert("role_pattern".into(), "app\\_%".into());
    let filtered = client
        .update_integration(UpdateIntegrationRequest {
            integration: Some(pb::Integration {
                id: created.id.clone(),
                config,
                ..Default::default()
            }),
            update_mask: mask(&["config"]),
        })
        .await
        .expect("a config change that keeps the endpoint")
        .into_inner();
    assert_eq!(filtered.config["role_pattern"], "app\\_%");
}
