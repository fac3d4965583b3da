//! Bearer tokens and roles, on every RPC.

use oblique::auth::Role;
use oblique::pb;
use tonic::{Code, Status};
use uuid::Uuid;

use crate::harness::{Clients, TestApp, expect_code};

/// Calls every RPC with harmless arguments; returns each one's name and status code. Calls a
/// role may make fail later (NOT_FOUND, INVALID_ARGUMENT …) but never with an auth code.
async fn call_everything(clients: &Clients) -> Vec<(&'static str, Code)> {
    let id = Uuid::now_v7().to_string();
    let mut i = clients.integrations.clone();
    let mut s = clients.sync.clone();
    fn code<T>(result: Result<tonic::Response<T>, Status>) -> Code {
        result
            .map(|_| Code::Ok)
            .unwrap_or_else(|status| status.code())
    }
    vec![
        (
            "ListIntegrationTypes",
            code(
                i.list_integration_types(pb::ListIntegrationTypesRequest {})
                    .await,
            ),
        ),
        (
            "CreateIntegration",
            code(
                i.create_integration(pb::CreateIntegrationRequest::default())
                    .await,
            ),
        ),
        (
            "GetIntegration",
            code(
                i.get_integration(pb::GetIntegrationRequest { id: id.clone() })
                    .await,
            ),
        ),
        (
            "ListIntegrations",
            code(
                i.list_integrations(pb::ListIntegrationsRequest::default())
                    .await,
            ),
        ),
        (
            "UpdateIntegration",
            code(
                i.update_integration(pb::UpdateIntegrationRequest::default())
                    .await,
            ),
        ),
        (
            "DeleteIntegration",
            code(
                i.delete_integration(pb::DeleteIntegrationRequest {
                    id: id.clone(),
                    force: false,
                })
                .await,
            ),
        ),
        (
            "ListResources",
            code(
                i.list_resources(pb::ListResourcesRequest {
                    integration_id: id.clone(),
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "GetResource",
            code(
                i.get_resource(pb::GetResourceRequest { id: id.clone() })
                    .await,
            ),
        ),
        (
            "SetResourceSyncMode",
            code(
                i.set_resource_sync_mode(pb::SetResourceSyncModeRequest {
                    resource_id: id.clone(),
                    sync_mode: pb::SyncMode::Pull.into(),
                })
                .await,
            ),
        ),
        (
            "ListAccounts",
            code(
                i.list_accounts(pb::ListAccountsRequest {
                    integration_id: id.clone(),
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "ListAuditEvents",
            code(
                i.list_audit_events(pb::ListAuditEventsRequest::default())
                    .await,
            ),
        ),
        (
            "TriggerSync",
            code(
                s.trigger_sync(pb::TriggerSyncRequest {
                    integration_id: id.clone(),
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "GetSyncRun",
            code(
                s.get_sync_run(pb::GetSyncRunRequest { id: id.clone() })
                    .await,
            ),
        ),
        (
            "ListSyncRuns",
            code(s.list_sync_runs(pb::ListSyncRunsRequest::default()).await),
        ),
        (
            "CancelSyncRun",
            code(
                s.cancel_sync_run(pb::CancelSyncRunRequest { id: id.clone() })
                    .await,
            ),
        ),
    ]
}

/// The least role each RPC needs (API.md).
fn needed(rpc: &str) -> Role {
    match rpc {
        "CreateIntegration"
        | "UpdateIntegration"
        | "DeleteIntegration"
        | "SetResourceSyncMode"
        | "ListAuditEvents"
        | "CancelSyncRun" => Role::Admin,
        "TriggerSync" => Role::Service,
        _ => Role::Viewer,
    }
}

#[tokio::test]
async fn every_role_gets_exactly_the_rpcs_it_may_call() {
    let app = TestApp::spawn_without_sync().await;
    for (role, clients) in [
        (Role::Admin, &app.admin),
        (Role::Service, &app.service),
        (Role::Viewer, &app.viewer),
    ] {
        for (rpc, code) in call_everything(clients).await {
            if role >= needed(rpc) {
                assert!(
                    !matches!(code, Code::PermissionDenied | Code::Unauthenticated),
                    "{role} should be allowed {rpc}, got {code:?}"
                );
            } else {
                assert_eq!(code, Code::PermissionDenied, "{role} must not call {rpc}");
            }
        }
    }
}

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthenticated() {
    let app = TestApp::spawn_without_sync().await;
    for (rpc, code) in call_everything(&app.anonymous).await {
        assert_eq!(code, Code::Unauthenticated, "{rpc} without a token");
    }
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
async fn a_revoked_token_fails_at_once() {
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
    expect_code(
        client
            .list_integrations(pb::ListIntegrationsRequest::default())
            .await,
        Code::Unauthenticated,
    );
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
