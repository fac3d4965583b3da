//! Decisions refused: by role, on pull-mode resources, and for bad or unknown ids.

use oblique::auth::Role;
use oblique::pb::{GrantAccessRequest, ListAccessHistoryRequest, RevokeAccessRequest};
use tonic::Code;
use uuid::Uuid;

use super::{client, grant, grant_request, history, revoke_request, world};
use crate::harness::{TestApp, expect_code};

#[tokio::test]
async fn decisions_are_refused_where_they_cannot_apply() {
    let app = TestApp::spawn_without_sync().await;
    let w = world(&app).await;
    let mut service = client(&app, Role::Service).await;
    let mut viewer = client(&app, Role::Viewer).await;
    let mut admin = client(&app, Role::Admin).await;

    // Roles: viewers may read only; admins and services decide.
    expect_code(
        viewer
            .grant_access(grant_request(w.pushed, w.ann, "x"))
            .await,
        Code::PermissionDenied,
    );
    let by_admin = grant(&mut admin, grant_request(w.pushed, w.ann, "admin says")).await;
    assert_eq!(by_admin.granted_by, "grants-test-admin");
    expect_code(
        viewer.revoke_access(revoke_request(&by_admin, "x")).await,
        Code::PermissionDenied,
    );
    assert_eq!(history(&mut viewer, w.pushed).await.len(), 1);

    // Pull mode: the integration is the source of truth.
    let pull = expect_code(
        service
            .grant_access(grant_request(w.pulled, w.ann, "x"))
            .await,
        Code::FailedPrecondition,
    );
    assert!(pull.message().contains("push mode"), "{pull:?}");

    // Bad and unknown ids, named.
    for (request, message) in [
        (
            GrantAccessRequest {
                resource_id: "nope".into(),
                ..grant_request(w.pushed, w.ann, "x")
            },
            "resource_id: must be a UUID",
        ),
        (
            GrantAccessRequest {
                user_id: "nope".into(),
                ..grant_request(w.pushed, w.ann, "x")
            },
            "user_id: must be a UUID",
        ),
        (grant_request(w.pushed, w.ann, " "), "reason: is required"),
        (
            grant_request(w.pushed, w.ann, &"x".repeat(1001)),
            "reason: must be at most 1000 characters",
        ),
    ] {
        let status = expect_code(service.grant_access(request).await, Code::InvalidArgument);
        assert_eq!(status.message(), message);
    }
    let unknown = Uuid::now_v7();
    let status = expect_code(
        service
            .grant_access(grant_request(unknown, w.ann, "x"))
            .await,
        Code::NotFound,
    );
    assert!(status.message().contains(&unknown.to_string()));
    let status = expect_code(
        service
            .grant_access(grant_request(w.pushed, unknown, "x"))
            .await,
        Code::NotFound,
    );
    assert!(status.message().contains("user"), "{status:?}");
    let status = expect_code(
        service
            .revoke_access(RevokeAccessRequest {
                grant_id: unknown.to_string(),
                reason: "x".into(),
            })
            .await,
        Code::NotFound,
    );
    assert!(status.message().contains("grant"), "{status:?}");
    let status = expect_code(
        service
            .revoke_access(RevokeAccessRequest {
                grant_id: "nope".into(),
                reason: "x".into(),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(status.message(), "grant_id: must be a UUID");
    let status = expect_code(
        service.revoke_access(revoke_request(&by_admin, "")).await,
        Code::InvalidArgument,
    );
    assert_eq!(status.message(), "reason: is required");
    let status = expect_code(
        viewer
            .list_access_history(ListAccessHistoryRequest::default())
            .await,
        Code::InvalidArgument,
    );
    assert!(status.message().starts_with("resource_id"), "{status:?}");
    expect_code(
        viewer
            .list_access_history(ListAccessHistoryRequest {
                resource_id: w.pushed.to_string(),
                page_token: "garbage".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    expect_code(
        viewer
            .list_access_history(ListAccessHistoryRequest {
                resource_id: unknown.to_string(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
    );
}
