//! ListAccess on push-mode resources: at past instants, and remote members nobody decided on.

use chrono::{Duration, Utc};
use oblique::api::convert::timestamp;
use oblique::auth::Role;
use oblique::pb::{AccessSource, ListAccessRequest, PropagationStatus};

use super::{access, client, grant, grant_request, revoke_request, time, world};
use crate::access::insert_access;
use crate::harness::TestApp;

#[tokio::test]
async fn access_at_past_instants_answers_from_grants() {
    let app = TestApp::spawn_without_sync().await;
    let w = world(&app).await;
    let mut service = client(&app, Role::Service).await;
    let before = Utc::now() - Duration::seconds(1);
    let granted = grant(&mut service, grant_request(w.pushed, w.bob, "audit season")).await;
    let revoked = service
        .revoke_access(revoke_request(&granted, "audit done"))
        .await
        .unwrap()
        .into_inner();
    let (granted_at, revoked_at) = (time(&granted.granted_at), time(&revoked.revoked_at));

    assert!(
        access(&mut service, w.pushed, Some(before))
            .await
            .is_empty()
    );
    let during = access(&mut service, w.pushed, Some(granted_at)).await;
    assert_eq!(during.len(), 1);
    assert_eq!(during[0].user_id, w.bob.to_string());
    assert_eq!(during[0].account_id, w.bob_account.to_string());
    assert_eq!(during[0].source(), AccessSource::Grant);
    assert_eq!(during[0].grant_id, granted.id);
    // The past's pushing is not kept.
    assert_eq!(
        during[0].propagation_status(),
        PropagationStatus::Unspecified
    );
    assert!(
        access(&mut service, w.pushed, Some(revoked_at))
            .await
            .is_empty()
    );

    // By user too.
    let bobs = service
        .list_access(ListAccessRequest {
            user_id: w.bob.to_string(),
            at: Some(timestamp(granted_at)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].resource_id, w.pushed.to_string());
}

#[tokio::test]
async fn remote_members_nobody_decided_on_show_as_pending_removal() {
    let app = TestApp::spawn_without_sync().await;
    let w = world(&app).await;
    let mut viewer = client(&app, Role::Viewer).await;
    let mut service = client(&app, Role::Service).await;
    let since = Utc::now() - Duration::hours(1);
    insert_access(&app, w.integration, w.pushed, w.bob_account, since, None).await;
    insert_access(&app, w.integration, w.pulled, w.bob_account, since, None).await;
    grant(
        &mut service,
        grant_request(w.pushed, w.ann, "release manager"),
    )
    .await;

    let entries = access(&mut viewer, w.pushed, None).await;
    let summary: Vec<(String, AccessSource, PropagationStatus)> = entries
        .iter()
        .map(|e| (e.user_id.clone(), e.source(), e.propagation_status()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                w.ann.to_string(),
                AccessSource::Grant,
                PropagationStatus::Pending
            ),
            (
                w.bob.to_string(),
                AccessSource::Remote,
                PropagationStatus::Pending
            ),
        ]
    );
    // On the pull-mode resource, bob's membership is the remote's, in sync.
    let pulled = access(&mut viewer, w.pulled, None).await;
    assert_eq!(pulled.len(), 1);
    assert_eq!(pulled[0].source(), AccessSource::Remote);
    assert_eq!(pulled[0].propagation_status(), PropagationStatus::InSync);

    // A user's access spans both, in pages.
    let first = viewer
        .list_access(ListAccessRequest {
            user_id: w.bob.to_string(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.entries.len(), 1);
    let second = viewer
        .list_access(ListAccessRequest {
            user_id: w.bob.to_string(),
            page_size: 1,
            page_token: first.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.entries.len(), 1);
    assert!(second.next_page_token.is_empty());
    let mut resources = vec![
        first.entries[0].resource_id.clone(),
        second.entries[0].resource_id.clone(),
    ];
    resources.sort();
    assert_eq!(resources, [w.pushed.to_string(), w.pulled.to_string()]);
}
