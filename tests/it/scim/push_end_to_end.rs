//! Push against a real SCIM service, end to end through the gRPC API: decisions made in Oblique
//! change a group's members on the service, members changed by hand are put right and audited,
//! and a new team gets a group of its own (a name already taken is reported, never adopted).

use oblique::pb::{self, SyncRunState};

use super::{People, people};
use crate::harness::calls::{
    access_of, audit_events, detail, grant, resource, resources, revoke, set_mode, sync, synced,
    user_of,
};
use crate::harness::scim::ScimService;
use crate::harness::{TestApp, eventually};
use crate::teams::create_team;

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    ids.sort();
    ids
}

/// The people, and a group `readers` whose members are alice and bob.
async fn populate(service: &ScimService) -> (People, String) {
    let people = people(&service.admin).await;
    let readers = service
        .admin
        .create_group("readers", &[&people.alice, &people.bob])
        .await
        .unwrap();
    (people, readers)
}

/// The resource's `access.drift_corrected` audit events, oldest first.
async fn drift_events(app: &TestApp, resource: &pb::Resource) -> Vec<pb::AuditEvent> {
    let mut events = audit_events(app, &resource.id, "access.drift_corrected").await;
    events.sort_by_key(|event| event.at.map(|at| (at.seconds, at.nanos)));
    events
}

#[tokio::test]
async fn grants_and_hand_made_changes_reach_the_service_and_drift_is_audited() {
    let app = TestApp::spawn().await;
    let service = ScimService::start().await;
    let (people, readers_id) = populate(&service).await;
    let admin = &service.admin;
    let (integration, _) = synced(&app, service.create_request("idp")).await;
    let readers = resource(&app, &integration, "readers").await;
    let readers = set_mode(&app, &readers.id, pb::SyncMode::Push).await;

    // A grant adds carol; the scheduler pushes it by itself.
    let carol = user_of(&app, &integration, "carol").await;
    let granted = grant(&app, &readers, carol, "joins the readers").await;
    let all = sorted(&[&people.alice, &people.bob, &people.carol]);
    eventually("carol added to the group's members", || async {
        (admin.members(&readers_id).await.unwrap() == all).then_some(())
    })
    .await;
    eventually("carol's push recorded as in sync", || async {
        access_of(&app, &readers, carol)
            .await
            .filter(|entry| entry.propagation_status() == pb::PropagationStatus::InSync)
    })
    .await;
    revoke(&app, granted, "leaves the readers").await;
    let adopted = sorted(&[&people.alice, &people.bob]);
    eventually("carol removed from the group's members", || async {
        (admin.members(&readers_id).await.unwrap() == adopted).then_some(())
    })
    .await;
    assert!(drift_events(&app, &readers).await.is_empty());

    // By hand, behind Oblique's back: carol added, whom nobody granted anything.
    admin.add_member(&readers_id, &people.carol).await.unwrap();
    let run = sync(&app, &integration).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    let pushed = run.stats.unwrap().push.unwrap();
    assert_eq!((pushed.created, pushed.deleted), (0, 1), "{pushed:?}");
    assert_eq!(admin.members(&readers_id).await.unwrap(), adopted);
    let drift = drift_events(&app, &readers).await;
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(drift[0].integration_id, integration.id);
    assert_eq!(detail(&drift[0], "account").as_deref(), Some("carol"));
    assert_eq!(detail(&drift[0], "before").as_deref(), Some("member"));
    assert_eq!(detail(&drift[0], "after").as_deref(), Some("absent"));
    assert!(access_of(&app, &readers, carol).await.is_none());

    // By hand again: alice, an adopted member, taken out.
    admin
        .remove_member(&readers_id, &people.alice)
        .await
        .unwrap();
    let run = sync(&app, &integration).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    let pushed = run.stats.unwrap().push.unwrap();
    assert_eq!((pushed.created, pushed.deleted), (1, 0), "{pushed:?}");
    assert_eq!(admin.members(&readers_id).await.unwrap(), adopted);
    let drift = drift_events(&app, &readers).await;
    assert_eq!(drift.len(), 2, "{drift:?}");
    assert_eq!(detail(&drift[1], "account").as_deref(), Some("alice"));
    assert_eq!(detail(&drift[1], "after").as_deref(), Some("member"));
}

#[tokio::test]
async fn a_new_team_gets_a_group_and_a_taken_name_is_reported() {
    let app = TestApp::spawn().await;
    let service = ScimService::start().await;
    let (people, _) = populate(&service).await;
    let admin = &service.admin;
    let ops = admin.create_group("ops", &[]).await.unwrap();
    let mut request = service.create_request("idp");
    request.create_resources_for_new_teams = true;
    let (integration, _) = synced(&app, request).await;
    let alice = user_of(&app, &integration, "alice").await;

    let team = create_team(&app, "platform", &[alice]).await;
    assert!(team.warnings.is_empty(), "{:?}", team.warnings);
    assert_eq!(team.resource_ids.len(), 1, "{team:?}");
    let groups = admin.groups_named("platform").await.unwrap();
    assert_eq!(groups.len(), 1, "the team's group on the service");
    let made = resources(&app, &integration, false)
        .await
        .into_iter()
        .find(|r| r.id == team.resource_ids[0])
        .expect("the team's resource");
    assert_eq!(made.external_id, groups[0]);
    assert_eq!(made.sync_mode(), pb::SyncMode::Push);
    assert_eq!(made.team_id, team.id);
    eventually("the team's member in the group", || async {
        (admin.members(&groups[0]).await.unwrap() == [people.alice.clone()]).then_some(())
    })
    .await;

    let taken = create_team(&app, "ops", &[]).await;
    assert!(taken.resource_ids.is_empty(), "{taken:?}");
    assert_eq!(taken.warnings.len(), 1, "{:?}", taken.warnings);
    assert!(
        taken.warnings[0].contains("already exists"),
        "{:?}",
        taken.warnings
    );
    assert_eq!(
        admin.groups_named("ops").await.unwrap(),
        [ops],
        "the existing group is left as it was, and not adopted"
    );
}
