//! Granting and revoking on a push-mode resource: pending propagation, idempotence, the
//! audit trail and the access history.

use oblique::auth::Role;
use oblique::pb::{self, AccessSource, ListAccessHistoryRequest, PropagationStatus};

use super::{
    access, client, grant, grant_request, history, propagation_rows, revoke_request, world,
};
use crate::harness::TestApp;
use crate::harness::calls::audit_events;

#[tokio::test]
async fn grant_is_pending_idempotent_and_revocable_with_history() {
    let app = TestApp::spawn_without_sync().await;
    let w = world(&app).await;
    let mut service = client(&app, Role::Service).await;

    let granted = grant(
        &mut service,
        grant_request(w.pushed, w.ann, "on call this week"),
    )
    .await;
    assert_eq!(granted.resource_id, w.pushed.to_string());
    assert_eq!(granted.user_id, w.ann.to_string());
    assert_eq!(granted.reason, "on call this week");
    assert_eq!(granted.granted_by, "grants-test-service");
    assert_eq!(granted.source(), AccessSource::Grant);
    assert_eq!(granted.propagation_status(), PropagationStatus::Pending);
    assert_eq!(granted.propagation_attempts, 0);
    assert!(granted.revoked_at.is_none() && granted.expires_at.is_none());
    assert_eq!(
        propagation_rows(&app, w.pushed).await,
        [(w.ann, "pending".into())]
    );

    // The same decision again: the same grant, no second audit event.
    let again = grant(
        &mut service,
        grant_request(w.pushed, w.ann, "another reason"),
    )
    .await;
    assert_eq!(again, granted);
    let audited = audit_events(&app, &w.pushed.to_string(), "access.grant").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(
        audited[0].actor.as_ref().unwrap().name,
        "grants-test-service"
    );
    assert_eq!(audited[0].integration_id, w.integration.to_string());

    // A push of the integration was asked for.
    let runs = app
        .admin
        .sync
        .clone()
        .list_sync_runs(pb::ListSyncRunsRequest {
            integration_id: w.integration.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .runs;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].trigger(), pb::SyncTrigger::Grant);
    assert_eq!(runs[0].requested_by, "grants-test-service");

    // The effective access: the decision, with the user's account there.
    let now = access(&mut service, w.pushed, None).await;
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].user_id, w.ann.to_string());
    assert_eq!(now[0].account_id, w.ann_account.to_string());
    assert_eq!(now[0].source(), AccessSource::Grant);
    assert_eq!(now[0].propagation_status(), PropagationStatus::Pending);
    assert_eq!(now[0].grant_id, granted.id);
    assert_eq!(now[0].since, granted.granted_at);

    let revoked = service
        .revoke_access(revoke_request(&granted, "rotation ended"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(revoked.id, granted.id);
    assert_eq!(revoked.revoked_by, "grants-test-service");
    assert_eq!(revoked.revoke_reason, "rotation ended");
    assert!(revoked.revoked_at.is_some());
    assert_eq!(revoked.propagation_status(), PropagationStatus::Pending);
    // Revoking again changes nothing.
    let again = service
        .revoke_access(revoke_request(&granted, "again"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, revoked);
    assert_eq!(
        audit_events(&app, &w.pushed.to_string(), "access.revoke")
            .await
            .len(),
        1
    );
    assert!(access(&mut service, w.pushed, None).await.is_empty());

    // History, newest first: the revocation, then the grant, both with the revoked grant.
    let entries = history(&mut service, w.pushed).await;
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["access.revoke", "access.grant"]);
    assert_eq!(entries[0].at, revoked.revoked_at);
    assert_eq!(entries[1].at, granted.granted_at);
    assert!(entries.iter().all(|e| e.grant.as_ref() == Some(&revoked)));

    // Granting again makes a new grant; the user's history has all three entries, in pages.
    let regranted = grant(&mut service, grant_request(w.pushed, w.ann, "back on call")).await;
    assert_ne!(regranted.id, granted.id);
    let mut pages = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = service
            .list_access_history(ListAccessHistoryRequest {
                user_id: w.ann.to_string(),
                page_size: 2,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages.push(page.entries);
        page_token = page.next_page_token;
        if page_token.is_empty() {
            break;
        }
    }
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
    let ids: Vec<&str> = pages
        .iter()
        .flatten()
        .map(|e| e.grant.as_ref().unwrap().id.as_str())
        .collect();
    assert_eq!(ids, [&regranted.id, &granted.id, &granted.id]);
    // Only the latest decision of a (resource, user) carries what pushing it does.
    let old = &pages[0][1].grant.as_ref().unwrap();
    assert_eq!(old.propagation_status(), PropagationStatus::Unspecified);
}
