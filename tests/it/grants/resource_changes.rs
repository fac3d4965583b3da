//! What happens to decisions when a resource changes: its integration is removed, or it
//! switches between pull and push mode.

use chrono::{DateTime, Duration, Utc};
use oblique::auth::Role;
use oblique::pb::{self, AccessSource, PropagationStatus};
use tonic::Code;
use uuid::Uuid;

use super::{
    access, client, grant, grant_request, history, propagation_rows, revoke_request, time, world,
};
use crate::access::insert_access;
use crate::harness::calls::{audit_events, resource, set_mode, synced, user_of};
use crate::harness::remote::RemoteRoles;
use crate::harness::{TestApp, eventually, expect_code};

#[tokio::test]
async fn removal_keeps_grants_as_history_and_stops_pushing() {
    let app = TestApp::spawn_without_sync().await;
    let w = world(&app).await;
    let mut service = client(&app, Role::Service).await;
    let granted = grant(&mut service, grant_request(w.pushed, w.ann, "deploys")).await;
    let before_removal = Utc::now();
    app.admin
        .integrations
        .clone()
        .delete_integration(pb::DeleteIntegrationRequest {
            id: w.integration.to_string(),
            force: true,
        })
        .await
        .expect("delete with force");

    assert!(propagation_rows(&app, w.pushed).await.is_empty());
    assert!(access(&mut service, w.pushed, None).await.is_empty());
    let then = access(&mut service, w.pushed, Some(before_removal)).await;
    assert_eq!(then.len(), 1);
    assert_eq!(then[0].grant_id, granted.id);
    let after = Utc::now() + Duration::seconds(1);
    assert!(access(&mut service, w.pushed, Some(after)).await.is_empty());
    let entries = history(&mut service, w.pushed).await;
    assert_eq!(entries.len(), 1);
    let kept = entries[0].grant.as_ref().unwrap();
    assert!(kept.revoked_at.is_none());
    assert_eq!(kept.propagation_status(), PropagationStatus::Unspecified);

    expect_code(
        service
            .revoke_access(revoke_request(&granted, "too late"))
            .await,
        Code::FailedPrecondition,
    );
    expect_code(
        service
            .grant_access(grant_request(w.pushed, w.bob, "too late"))
            .await,
        Code::FailedPrecondition,
    );
}

#[tokio::test]
async fn switching_back_to_pull_stops_pushing_and_keeps_grants() {
    let app = TestApp::spawn_without_sync().await;
    let w = world(&app).await;
    let mut service = client(&app, Role::Service).await;
    insert_access(
        &app,
        w.integration,
        w.pushed,
        w.bob_account,
        Utc::now() - Duration::hours(1),
        None,
    )
    .await;
    let granted = grant(&mut service, grant_request(w.pushed, w.ann, "deploys")).await;
    let while_pushed = time(&granted.granted_at);
    database_clock_passes(&app, while_pushed).await;
    set_mode(&app, &w.pushed.to_string(), pb::SyncMode::Pull).await;

    assert!(propagation_rows(&app, w.pushed).await.is_empty());
    let now = access(&mut service, w.pushed, None).await;
    assert_eq!(now.len(), 1, "only the remote's members: {now:?}");
    assert_eq!(now[0].user_id, w.bob.to_string());
    assert_eq!(now[0].source(), AccessSource::Remote);
    // The past answers with the mode it had then.
    let then = access(&mut service, w.pushed, Some(while_pushed)).await;
    assert_eq!(then.len(), 1);
    assert_eq!(then[0].grant_id, granted.id);
    // The grant stays, not revoked, and is no longer pushed.
    let kept = &history(&mut service, w.pushed).await[0];
    let kept = kept.grant.as_ref().unwrap();
    assert!(kept.revoked_at.is_none());
    assert_eq!(kept.propagation_status(), PropagationStatus::Unspecified);
    expect_code(
        service
            .grant_access(grant_request(w.pushed, w.bob, "x"))
            .await,
        Code::FailedPrecondition,
    );
}

/// Returns once a new transaction's `now()` is past `instant`: anything the database stamps from
/// then on (such as a mode switch's audit event) is later than `instant`, even at microsecond
/// resolution.
async fn database_clock_passes(app: &TestApp, instant: DateTime<Utc>) {
    #[derive(diesel::QueryableByName)]
    struct Passed {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        passed: bool,
    }
    eventually("the database clock to pass the grant", || async {
        let query = diesel::sql_query("SELECT now() > $1 AS passed")
            .bind::<diesel::sql_types::Timestamptz, _>(instant);
        let passed: Passed = diesel_async::RunQueryDsl::get_result(query, &mut app.conn().await)
            .await
            .expect("reading the database clock");
        passed.passed.then_some(())
    })
    .await;
}

/// The remote's members when a resource switches to push mode, from a real sync.
#[tokio::test]
async fn switching_to_push_adopts_the_remote_members() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql(
            "CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_bob LOGIN; CREATE ROLE {p}_carol LOGIN;
             CREATE ROLE {p}_readers NOLOGIN; GRANT {p}_readers TO {p}_alice, {p}_bob;",
        )
        .await;
    let (created, _) = synced(&app, roles.create_request("directory").await).await;
    let readers = resource(&app, &created, &roles.name("readers")).await;
    let readers_id = Uuid::parse_str(&readers.id).unwrap();
    let alice = user_of(&app, &created, &roles.name("alice")).await;
    let bob = user_of(&app, &created, &roles.name("bob")).await;
    let carol = user_of(&app, &created, &roles.name("carol")).await;
    let mut service = client(&app, Role::Service).await;

    let refused = expect_code(
        service
            .grant_access(grant_request(readers_id, carol, "x"))
            .await,
        Code::FailedPrecondition,
    );
    assert!(refused.message().contains("source of truth"), "{refused:?}");

    let before_switch = Utc::now();
    let pushed = set_mode(&app, &readers.id, pb::SyncMode::Push).await;
    assert_eq!(pushed.sync_mode(), pb::SyncMode::Push);
    let mut entries = access(&mut service, readers_id, None).await;
    entries.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    let mut expected = vec![alice.to_string(), bob.to_string()];
    expected.sort();
    assert_eq!(
        entries
            .iter()
            .map(|e| e.user_id.clone())
            .collect::<Vec<_>>(),
        expected
    );
    for entry in &entries {
        assert_eq!(entry.source(), AccessSource::RemoteAdopted);
        assert_eq!(entry.propagation_status(), PropagationStatus::InSync);
        assert!(!entry.grant_id.is_empty() && !entry.account_id.is_empty());
    }
    let adopted = history(&mut service, readers_id).await;
    assert_eq!(adopted.len(), 2);
    for entry in &adopted {
        let grant = entry.grant.as_ref().unwrap();
        assert_eq!(grant.source(), AccessSource::RemoteAdopted);
        assert_eq!(grant.granted_by, "test-admin");
        assert_eq!(
            grant.reason,
            "adopted when the resource switched to push mode"
        );
    }
    let audited = audit_events(&app, &readers.id, "access.adopt").await;
    assert_eq!(audited.len(), 1);
    let details = audited[0].details.as_ref().unwrap();
    assert_eq!(
        details.fields["adopted"].kind,
        Some(prost_types::value::Kind::NumberValue(2.0))
    );
    // Before the switch, the remote's members answer from pulled history.
    let then = access(&mut service, readers_id, Some(before_switch)).await;
    assert_eq!(then.len(), 2);
    assert!(then.iter().all(|e| e.source() == AccessSource::Remote));

    // Switching again is a no-op; now decisions are accepted.
    set_mode(&app, &readers.id, pb::SyncMode::Push).await;
    assert_eq!(history(&mut service, readers_id).await.len(), 2);
    let granted = grant(
        &mut service,
        grant_request(readers_id, carol, "joins readers"),
    )
    .await;
    assert_eq!(granted.source(), AccessSource::Grant);
    let carol_entry = access(&mut service, readers_id, None)
        .await
        .into_iter()
        .find(|e| e.user_id == carol.to_string())
        .expect("carol's grant is effective");
    assert_eq!(carol_entry.grant_id, granted.id);
    assert_eq!(carol_entry.source(), AccessSource::Grant);
}
