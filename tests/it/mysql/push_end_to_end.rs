//! Push against a real MariaDB, end to end through the gRPC API: access granted and revoked in
//! Oblique becomes GRANT and REVOKE of the role, a grant made by hand is reported as drift and
//! put right, and a new team gets a role of its own (a name already taken is reported, never
//! adopted).

use oblique::pb::{self, SyncRunState};

use super::MysqlService;
use crate::harness::calls::{
    access_of, audit_events, detail, grant, resource, resources, revoke, set_mode, sync, synced,
    user_of,
};
use crate::harness::{TestApp, eventually};
use crate::teams::create_team;

/// Role `readers` held by alice; bob and carol hold nothing.
async fn populate(service: &MysqlService) {
    service.role("readers").await;
    service
        .sql(
            "CREATE USER 'alice'@'%'; CREATE USER 'bob'@'%'; CREATE USER 'carol'@'%';
             GRANT readers TO 'alice'@'%'",
        )
        .await;
}

#[tokio::test]
async fn grants_and_hand_made_grants_reach_the_server_and_drift_is_audited() {
    let app = TestApp::spawn().await;
    let service = MysqlService::start().await;
    populate(&service).await;
    let (integration, _) = synced(&app, service.create_request("db")).await;
    let readers = resource(&app, &integration, "readers").await;
    let readers = set_mode(&app, &readers.id, pb::SyncMode::Push).await;

    let bob = user_of(&app, &integration, "bob").await;
    let granted = grant(&app, &readers, bob, "joins the readers").await;
    eventually("bob granted the role", || async {
        (service.holders("readers").await == ["alice@%", "bob@%"]).then_some(())
    })
    .await;
    eventually("bob's push recorded as in sync", || async {
        access_of(&app, &readers, bob)
            .await
            .filter(|entry| entry.propagation_status() == pb::PropagationStatus::InSync)
    })
    .await;
    revoke(&app, granted, "leaves the readers").await;
    eventually("bob's role revoked", || async {
        (service.holders("readers").await == ["alice@%"]).then_some(())
    })
    .await;

    // By hand, behind Oblique's back: carol granted the role nobody decided she should have.
    service.sql("GRANT readers TO 'carol'@'%'").await;
    let run = sync(&app, &integration).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    let pushed = run.stats.unwrap().push.unwrap();
    assert_eq!((pushed.created, pushed.deleted), (0, 1), "{pushed:?}");
    assert_eq!(service.holders("readers").await, ["alice@%"]);
    let drift = audit_events(&app, &readers.id, "access.drift_corrected").await;
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(detail(&drift[0], "account").as_deref(), Some("carol"));
    assert_eq!(detail(&drift[0], "after").as_deref(), Some("absent"));
    let carol = user_of(&app, &integration, "carol").await;
    assert!(access_of(&app, &readers, carol).await.is_none());

    // A second run finds nothing to do: the pushes were idempotent.
    let run = sync(&app, &integration).await;
    let pushed = run.stats.unwrap().push.unwrap();
    assert_eq!((pushed.created, pushed.deleted), (0, 0), "{pushed:?}");
}

#[tokio::test]
async fn a_new_team_gets_a_role_and_a_taken_name_is_reported() {
    let app = TestApp::spawn().await;
    let service = MysqlService::start().await;
    populate(&service).await;
    service.role("ops").await;
    let mut request = service.create_request("db");
    request.create_resources_for_new_teams = true;
    let (integration, _) = synced(&app, request).await;
    let alice = user_of(&app, &integration, "alice").await;

    let team = create_team(&app, "platform team", &[alice]).await;
    assert!(team.warnings.is_empty(), "{:?}", team.warnings);
    assert_eq!(team.resource_ids.len(), 1, "{team:?}");
    assert!(service.role_exists("platform team").await);
    let made = resources(&app, &integration, false)
        .await
        .into_iter()
        .find(|r| r.id == team.resource_ids[0])
        .expect("the team's resource");
    assert_eq!(made.external_id, "'platform team'@''");
    assert_eq!(made.sync_mode(), pb::SyncMode::Push);
    eventually("the team's member granted the role", || async {
        (service.holders("platform team").await == ["alice@%"]).then_some(())
    })
    .await;

    let taken = create_team(&app, "ops", &[alice]).await;
    assert!(taken.resource_ids.is_empty(), "{taken:?}");
    assert_eq!(taken.warnings.len(), 1, "{:?}", taken.warnings);
    assert!(
        taken.warnings[0].contains("already exists"),
        "{:?}",
        taken.warnings
    );
    assert!(
        service.holders("ops").await.is_empty(),
        "the existing role is left as it was, and not adopted"
    );
}
