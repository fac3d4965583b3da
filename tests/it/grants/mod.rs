//! AccessService decisions: GrantAccess, RevokeAccess, expiry, ListAccess on push-mode
//! resources (now and at past instants), ListAccessHistory, and adopting the remote's members
//! when a resource switches to push mode. Pushing to the remote is tested in push.rs.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use oblique::api::convert::{parse_timestamp, timestamp};
use oblique::auth::Role;
use oblique::db::schema::{grants, propagations};
use oblique::pb::{
    self, AccessSource, GrantAccessRequest, ListAccessHistoryRequest, ListAccessRequest,
    PropagationStatus, RevokeAccessRequest, access_service_client::AccessServiceClient,
};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::access::insert_access;
use crate::fixtures::{insert_account, insert_resource};
use crate::harness::calls::{audit_events, resource, set_mode, synced, user_of};
use crate::harness::remote::RemoteRoles;
use crate::harness::{TestApp, expect_code};
use crate::users::{Token, insert_integration, insert_user, link_account, token};

type Client = AccessServiceClient<InterceptedService<Channel, Token>>;

async fn client(app: &TestApp, role: Role) -> Client {
    let token = token(app, "grants-test", Some(role)).await;
    AccessServiceClient::with_interceptor(app.channel.clone(), token)
}

/// One integration (no remote behind it) with a push-mode and a pull-mode resource, and two
/// users each with an account there.
struct World {
    integration: Uuid,
    pushed: Uuid,
    pulled: Uuid,
    ann: Uuid,
    ann_account: Uuid,
    bob: Uuid,
    bob_account: Uuid,
}

async fn world(app: &TestApp) -> World {
    let integration = insert_integration(app, "directory", Some(Utc::now())).await;
    let pushed = insert_resource(app, integration, "deployers", "push").await;
    let pulled = insert_resource(app, integration, "readers", "pull").await;
    let ann_account = insert_account(app, integration, "ann").await;
    let bob_account = insert_account(app, integration, "bob").await;
    let ann = insert_user(app, Some("ann@example.org"), "ann").await;
    let bob = insert_user(app, Some("bob@example.org"), "bob").await;
    link_account(app, ann_account, ann).await;
    link_account(app, bob_account, bob).await;
    World {
        integration,
        pushed,
        pulled,
        ann,
        ann_account,
        bob,
        bob_account,
    }
}

fn grant_request(resource: Uuid, user: Uuid, reason: &str) -> GrantAccessRequest {
    GrantAccessRequest {
        resource_id: resource.to_string(),
        user_id: user.to_string(),
        reason: reason.into(),
        expires_at: None,
    }
}

fn revoke_request(grant: &pb::Grant, reason: &str) -> RevokeAccessRequest {
    RevokeAccessRequest {
        grant_id: grant.id.clone(),
        reason: reason.into(),
    }
}

async fn grant(client: &mut Client, request: GrantAccessRequest) -> pb::Grant {
    client
        .grant_access(request)
        .await
        .expect("grant access")
        .into_inner()
}

async fn access(
    client: &mut Client,
    resource: Uuid,
    at: Option<DateTime<Utc>>,
) -> Vec<pb::AccessEntry> {
    client
        .list_access(ListAccessRequest {
            resource_id: resource.to_string(),
            at: at.map(timestamp),
            ..Default::default()
        })
        .await
        .expect("list access")
        .into_inner()
        .entries
}

async fn history(client: &mut Client, resource: Uuid) -> Vec<pb::AccessHistoryEntry> {
    client
        .list_access_history(ListAccessHistoryRequest {
            resource_id: resource.to_string(),
            ..Default::default()
        })
        .await
        .expect("list access history")
        .into_inner()
        .entries
}

fn time(at: &Option<prost_types::Timestamp>) -> DateTime<Utc> {
    parse_timestamp("at", at.as_ref().expect("a time")).expect("a valid time")
}

/// (user, status) of every propagation row of the resource.
async fn propagation_rows(app: &TestApp, resource: Uuid) -> Vec<(Uuid, String)> {
    propagations::table
        .filter(propagations::resource_id.eq(resource))
        .select((propagations::user_id, propagations::status))
        .order(propagations::user_id)
        .load(&mut app.conn().await)
        .await
        .expect("propagations")
}

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

#[tokio::test]
async fn grants_expire() {
    let app = TestApp::spawn_without_sync().await;
    let w = world(&app).await;
    let mut service = client(&app, Role::Service).await;

    let past = expect_code(
        service
            .grant_access(GrantAccessRequest {
                expires_at: Some(timestamp(Utc::now() - Duration::seconds(1))),
                ..grant_request(w.pushed, w.ann, "yesterday")
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(past.message(), "expires_at: must be in the future");

    let expires_at = (Utc::now() + Duration::seconds(2)).trunc_subsecs(6);
    let granted = grant(
        &mut service,
        GrantAccessRequest {
            expires_at: Some(timestamp(expires_at)),
            ..grant_request(w.pushed, w.ann, "incident 42")
        },
    )
    .await;
    assert_eq!(granted.expires_at, Some(timestamp(expires_at)));
    // Not yet due.
    assert_eq!(expire_due(&app).await.unwrap(), 0);
    tokio::time::sleep(StdDuration::from_millis(2100)).await;
    // Lapsed: no longer effective even before the scheduler revokes it.
    assert!(access(&mut service, w.pushed, None).await.is_empty());
    // The engine marked the membership in sync meanwhile; expiry must mark it pending again.
    diesel::update(propagations::table.filter(propagations::resource_id.eq(w.pushed)))
        .set(propagations::status.eq("in_sync"))
        .execute(&mut app.conn().await)
        .await
        .unwrap();

    assert_eq!(expire_due(&app).await.unwrap(), 1);
    assert_eq!(expire_due(&app).await.unwrap(), 0);
    let entries = history(&mut service, w.pushed).await;
    assert_eq!(entries[0].action, "access.revoke");
    let expired = entries[0].grant.as_ref().unwrap();
    assert_eq!(expired.revoked_by, "system");
    assert_eq!(expired.revoke_reason, "expired");
    assert_eq!(expired.propagation_status(), PropagationStatus::Pending);
    assert_eq!(
        propagation_rows(&app, w.pushed).await,
        [(w.ann, "pending".into())]
    );
    let audited = audit_events(&app, &w.pushed.to_string(), "access.expire").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].actor.as_ref().unwrap().name, "system");

    // An expired grant the scheduler has not revoked yet does not block a new one.
    let short = grant(
        &mut service,
        GrantAccessRequest {
            expires_at: Some(timestamp(Utc::now() + Duration::milliseconds(300))),
            ..grant_request(w.pushed, w.bob, "quick fix")
        },
    )
    .await;
    tokio::time::sleep(StdDuration::from_millis(400)).await;
    let renewed = grant(&mut service, grant_request(w.pushed, w.bob, "longer fix")).await;
    assert_ne!(renewed.id, short.id);
    let bobs = grants::table
        .filter(grants::user_id.eq(w.bob))
        .select((grants::id, grants::revoke_reason))
        .order(grants::id)
        .load::<(Uuid, Option<String>)>(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(bobs[0].1.as_deref(), Some("expired"));
    assert_eq!(bobs[1].1, None);
}

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
    tokio::time::sleep(StdDuration::from_millis(20)).await;
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

/// What the scheduler does every few seconds.
async fn expire_due(app: &TestApp) -> diesel::QueryResult<usize> {
    let mut conn = app.conn().await;
    oblique::domain::grants::expire_due(&mut conn).await
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
