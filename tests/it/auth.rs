//! Bearer tokens and roles, on every RPC.

use oblique::auth::Role;
use oblique::pb;
use tonic::Code;
use uuid::Uuid;

use crate::harness::calls::create;
use crate::harness::{Clients, TestApp, expect_code};

#[tokio::test]
async fn forged_tokens_are_unauthenticated_and_never_echoed() {
    // Every method and every kind of caller: auth_matrix.rs. Here, near misses of a real token.
    let app = TestApp::spawn_without_sync().await;
    let admin_token = app.issue_token("real", Role::Admin).await;
    let (id_part, _) = admin_token.rsplit_once('_').unwrap();
    let forged = [
        "garbage".to_string(),
        format!("obl_{}_secret", Uuid::now_v7().simple()),
        format!("{id_part}_wrong-secret"),
        format!("{admin_token}x"),
    ];
    for token in forged {
        let clients = Clients::new(app.channel.clone(), Some(token.clone()));
        let status = expect_code(
            clients
                .integrations
                .clone()
                .list_integrations(pb::ListIntegrationsRequest::default())
                .await,
            Code::Unauthenticated,
        );
        assert!(!status.message().contains(&token));
    }
}

#[tokio::test]
async fn a_revoked_token_is_refused_within_seconds() {
    let app = TestApp::spawn_without_sync().await;
    let token = app.issue_token("short-lived", Role::Viewer).await;
    let clients = Clients::new(app.channel.clone(), Some(token));
    let mut client = clients.integrations.clone();
    client
        .list_integrations(pb::ListIntegrationsRequest::default())
        .await
        .expect("valid token");

    let mut conn = app.conn().await;
    assert!(
        oblique::db::tokens::revoke(&mut conn, "short-lived")
            .await
            .unwrap()
    );
    // A look-up stays cached for a few seconds (auth::cache, whose unit tests hold it to its
    // TTL), so the refusal comes once the cache forgets the token, not necessarily at once.
    let deadline = tokio::time::Instant::now() + crate::harness::PATIENCE;
    loop {
        match client
            .list_integrations(pb::ListIntegrationsRequest::default())
            .await
        {
            Err(status) if status.code() == Code::Unauthenticated => break,
            Err(status) => panic!("unexpected status: {status:?}"),
            Ok(_) => assert!(
                tokio::time::Instant::now() < deadline,
                "the revoked token still authenticates"
            ),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn only_an_admin_may_override_the_mass_deletion_guard() {
    let app = TestApp::spawn_without_sync().await;
    let integration = create(&app, "guarded").await;
    let trigger = |allow_mass_deletion| pb::TriggerSyncRequest {
        integration_id: integration.id.clone(),
        dry_run: false,
        allow_mass_deletion,
    };
    let status = expect_code(
        app.service.sync.clone().trigger_sync(trigger(true)).await,
        Code::PermissionDenied,
    );
    assert!(status.message().contains("admin"), "{status:?}");
    app.service
        .sync
        .clone()
        .trigger_sync(trigger(false))
        .await
        .expect("a plain trigger by the service");
    app.admin
        .sync
        .clone()
        .trigger_sync(trigger(true))
        .await
        .expect("an override by an admin");
}

#[tokio::test]
async fn tokens_record_when_they_were_last_used() {
    let app = TestApp::spawn_without_sync().await;
    let token = app.issue_token("tracked", Role::Viewer).await;
    let mut conn = app.conn().await;
    let before = oblique::db::tokens::list(&mut conn).await.unwrap();
    assert!(
        before
            .iter()
            .find(|t| t.name == "tracked")
            .unwrap()
            .last_used_at
            .is_none()
    );
    Clients::new(app.channel.clone(), Some(token))
        .integrations
        .list_integrations(pb::ListIntegrationsRequest::default())
        .await
        .unwrap();
    let after = oblique::db::tokens::list(&mut conn).await.unwrap();
    assert!(
        after
            .iter()
            .find(|t| t.name == "tracked")
            .unwrap()
            .last_used_at
            .is_some()
    );
    assert!(
        after.iter().all(|t| !t.secret_hash.is_empty()),
        "only hashes are stored"
    );
}
