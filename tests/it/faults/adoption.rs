//! Switching a resource to push mode adopts the remote's members as they are now, every account
//! of a user included: the first push removes nobody.

use diesel_async::SimpleAsyncConnection;
use oblique::pb::{self, SyncRunState};

use crate::harness::calls::{audit_events, resource, revoke, set_mode, sync, synced, user_of};
use crate::harness::remote::RemoteRoles;
use crate::harness::{TestApp, eventually};
use crate::push::remote_members;

/// The users whose access to the resource Oblique decides, with the source of each.
async fn decided(app: &TestApp, resource: &pb::Resource) -> Vec<(String, pb::AccessSource)> {
    let mut entries: Vec<_> = app
        .viewer
        .access
        .clone()
        .list_access(pb::ListAccessRequest {
            resource_id: resource.id.clone(),
            ..Default::default()
        })
        .await
        .expect("list access")
        .into_inner()
        .entries
        .into_iter()
        .map(|entry| (entry.user_id.clone(), entry.source()))
        .collect();
    entries.sort();
    entries
}

/// A member added remotely after the last sync is adopted too, and stays.
#[tokio::test]
async fn a_member_added_since_the_last_sync_is_adopted() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql(
            "CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_bob LOGIN; CREATE ROLE {p}_readers NOLOGIN;
             GRANT {p}_readers TO {p}_alice;",
        )
        .await;
    let (integration, _) = synced(&app, roles.create_request("directory").await).await;
    let alice = user_of(&app, &integration, &roles.name("alice")).await;
    let bob = user_of(&app, &integration, &roles.name("bob")).await;
    // Behind the last sync's back: bob joins.
    roles.sql("GRANT {p}_readers TO {p}_bob").await;

    let readers = resource(&app, &integration, &roles.name("readers")).await;
    let readers = set_mode(&app, &readers.id, pb::SyncMode::Push).await;
    let mut expected = vec![
        (alice.to_string(), pb::AccessSource::RemoteAdopted),
        (bob.to_string(), pb::AccessSource::RemoteAdopted),
    ];
    expected.sort();
    assert_eq!(decided(&app, &readers).await, expected);

    let run = sync(&app, &integration).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    assert_eq!(
        remote_members(&roles, "readers").await,
        [roles.name("alice"), roles.name("bob")]
    );
    let drift = audit_events(&app, &readers.id, "access.drift_corrected").await;
    assert!(drift.is_empty(), "{drift:?}");
}

/// A user linked to two accounts of the integration, both members, keeps both through the
/// switch and the pushes after it; a revocation then removes both.
#[tokio::test]
async fn every_account_of_an_adopted_user_stays() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql(
            "CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_alice_admin LOGIN;
             CREATE ROLE {p}_readers NOLOGIN; GRANT {p}_readers TO {p}_alice, {p}_alice_admin;",
        )
        .await;
    let (integration, _) = synced(&app, roles.create_request("directory").await).await;
    let alice = user_of(&app, &integration, &roles.name("alice")).await;
    // Both of alice's roles are hers (as a link by email or by hand makes them); the link
    // stays as it is through later syncs, since its key has not changed.
    app.conn()
        .await
        .batch_execute(&format!(
            "UPDATE accounts SET user_id = '{alice}'
             WHERE integration_id = '{}' AND username = '{}'",
            integration.id,
            roles.name("alice_admin")
        ))
        .await
        .unwrap();

    let readers = resource(&app, &integration, &roles.name("readers")).await;
    let readers = set_mode(&app, &readers.id, pb::SyncMode::Push).await;
    assert_eq!(
        decided(&app, &readers).await,
        [(alice.to_string(), pb::AccessSource::RemoteAdopted)]
    );
    for _ in 0..2 {
        let run = sync(&app, &integration).await;
        assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
        assert_eq!(
            remote_members(&roles, "readers").await,
            [roles.name("alice"), roles.name("alice_admin")]
        );
    }
    let drift = audit_events(&app, &readers.id, "access.drift_corrected").await;
    assert!(drift.is_empty(), "{drift:?}");

    let adopted = app
        .viewer
        .access
        .clone()
        .list_access(pb::ListAccessRequest {
            resource_id: readers.id.clone(),
            ..Default::default()
        })
        .await
        .expect("list access")
        .into_inner()
        .entries
        .remove(0);
    let grant_id = uuid::Uuid::parse_str(&adopted.grant_id).unwrap();
    revoke(&app, grant_id, "left the team").await;
    eventually("both of alice's roles removed", || async {
        remote_members(&roles, "readers")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
}

/// A remote member no sync has seen yet cannot be adopted (there is no account to make a grant
/// for): the switch is refused, naming it, rather than leave it for the first push to remove.
/// Once a sync has seen it, the switch adopts it.
#[tokio::test]
async fn a_member_no_sync_has_seen_refuses_the_switch_until_a_sync_sees_it() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql(
            "CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_readers NOLOGIN;
             GRANT {p}_readers TO {p}_alice;",
        )
        .await;
    let (integration, _) = synced(&app, roles.create_request("directory").await).await;
    // Behind the last sync's back: a new role, already a member.
    roles
        .sql("CREATE ROLE {p}_carol LOGIN; GRANT {p}_readers TO {p}_carol")
        .await;
    let readers = resource(&app, &integration, &roles.name("readers")).await;
    let refused = app
        .admin
        .integrations
        .clone()
        .set_resource_sync_mode(pb::SetResourceSyncModeRequest {
            resource_id: readers.id.clone(),
            sync_mode: pb::SyncMode::Push.into(),
        })
        .await;
    let status = crate::harness::expect_code(refused, tonic::Code::FailedPrecondition);
    assert!(status.message().contains("sync the"), "{status:?}");
    let still = resource(&app, &integration, &roles.name("readers")).await;
    assert_eq!(still.sync_mode(), pb::SyncMode::Pull);

    let run = sync(&app, &integration).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    let readers = set_mode(&app, &readers.id, pb::SyncMode::Push).await;
    assert_eq!(
        decided(&app, &readers).await.len(),
        2,
        "alice and carol adopted"
    );
    let run = sync(&app, &integration).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    assert_eq!(
        remote_members(&roles, "readers").await,
        [roles.name("alice"), roles.name("carol")]
    );
}
