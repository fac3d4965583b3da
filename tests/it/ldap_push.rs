//! Push against a real OpenLDAP slapd, end to end through the gRPC API: decisions made in Oblique
//! change a group's `member` values on the server, drift made by hand is corrected and audited,
//! and a push the stopped server missed is an error with attempts until the server is back.

use oblique::pb::{self, SyncRunState, TriggerSyncRequest};
use uuid::Uuid;

use crate::harness::slapd::{DedicatedSlapd, Directory};
use crate::harness::{TestApp, eventually, wait_for_run};

const PEOPLE: &str = "
dn: uid=alice,ou=people,{base}
objectClass: inetOrgPerson
uid: alice
cn: Alice Archer
sn: Archer

dn: uid=bob,ou=people,{base}
objectClass: inetOrgPerson
uid: bob
cn: Bob Baker
sn: Baker

dn: uid=carol,ou=people,{base}
objectClass: inetOrgPerson
uid: carol
cn: Carol Cole
sn: Cole
";

/// The DN of the user `uid` in the test's part of the directory.
fn person(directory: &Directory, uid: &str) -> String {
    format!("uid={uid},{}", directory.people())
}

/// The DN of the group `cn` in the test's part of the directory.
fn group(directory: &Directory, cn: &str) -> String {
    format!("cn={cn},{}", directory.groups())
}

/// The people, and a groupOfNames `readers` whose members are `members` (uids).
async fn populate(directory: &Directory, members: &[&str]) {
    directory.ldif(PEOPLE).await;
    let mut readers =
        String::from("dn: cn=readers,ou=groups,{base}\nobjectClass: groupOfNames\ncn: readers\n");
    for uid in members {
        readers.push_str(&format!("member: uid={uid},ou=people,{{base}}\n"));
    }
    directory.ldif(&readers).await;
}

/// The group's `member` values on the server, sorted.
async fn members(directory: &Directory, cn: &str) -> Vec<String> {
    let mut values = directory.values(&group(directory, cn), "member").await;
    values.sort();
    values
}

/// The DNs of `uids`, sorted as [`members`] sorts.
fn dns(directory: &Directory, uids: &[&str]) -> Vec<String> {
    let mut dns: Vec<String> = uids.iter().map(|uid| person(directory, uid)).collect();
    dns.sort();
    dns
}

/// An integration over the test's part of the directory, synced once, with `readers` in push
/// mode (its current members adopted as grants).
async fn pushing(app: &TestApp, directory: &Directory) -> (pb::Integration, pb::Resource) {
    let created = app
        .admin
        .integrations
        .clone()
        .create_integration(directory.create_request("directory"))
        .await
        .expect("create")
        .into_inner();
    let run = wait_for_run(&app.admin, &created.last_sync_run.clone().unwrap().id).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    let readers = resource(app, &created).await;
    let readers = app
        .admin
        .integrations
        .clone()
        .set_resource_sync_mode(pb::SetResourceSyncModeRequest {
            resource_id: readers.id,
            sync_mode: pb::SyncMode::Push.into(),
        })
        .await
        .expect("push mode")
        .into_inner();
    assert_eq!(readers.sync_mode(), pb::SyncMode::Push);
    (created, readers)
}

/// The integration's group `readers`, as the API shows it now.
async fn resource(app: &TestApp, integration: &pb::Integration) -> pb::Resource {
    app.viewer
        .integrations
        .clone()
        .list_resources(pb::ListResourcesRequest {
            integration_id: integration.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .resources
        .into_iter()
        .find(|r| r.name == "readers")
        .expect("the readers group")
}

/// The Oblique user of the directory user `uid`.
async fn user_of(app: &TestApp, integration: &pb::Integration, uid: &str) -> Uuid {
    let accounts = app
        .viewer
        .integrations
        .clone()
        .list_accounts(pb::ListAccountsRequest {
            integration_id: integration.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .accounts;
    let account = accounts
        .iter()
        .find(|a| a.username == uid)
        .expect("account");
    Uuid::parse_str(&account.user_id).unwrap()
}

async fn grant(app: &TestApp, resource: &pb::Resource, user: Uuid) -> Uuid {
    let granted = app
        .service
        .access
        .clone()
        .grant_access(pb::GrantAccessRequest {
            resource_id: resource.id.clone(),
            user_id: user.to_string(),
            reason: "joins the readers".into(),
            expires_at: None,
        })
        .await
        .expect("grant")
        .into_inner();
    assert_eq!(granted.propagation_status(), pb::PropagationStatus::Pending);
    Uuid::parse_str(&granted.id).unwrap()
}

async fn revoke(app: &TestApp, grant_id: Uuid) {
    app.service
        .access
        .clone()
        .revoke_access(pb::RevokeAccessRequest {
            grant_id: grant_id.to_string(),
            reason: "leaves the readers".into(),
        })
        .await
        .expect("revoke");
}

/// The user's entry in the resource's effective access (ListAccess), if any.
async fn access_of(app: &TestApp, resource: &pb::Resource, user: Uuid) -> Option<pb::AccessEntry> {
    app.viewer
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
        .find(|entry| entry.user_id == user.to_string())
}

/// The resource as GetResource answers now.
async fn fetched(app: &TestApp, resource: &pb::Resource) -> pb::Resource {
    app.viewer
        .integrations
        .clone()
        .get_resource(pb::GetResourceRequest {
            id: resource.id.clone(),
        })
        .await
        .expect("get resource")
        .into_inner()
}

/// Waits until the integration has no queued or running run (a push the scheduler started may
/// still be finishing), so that the next TriggerSync starts a run of its own.
async fn wait_idle(app: &TestApp, integration: &pb::Integration) {
    use pb::SyncRunState::{Queued, Running};
    eventually("no active run", || async {
        let runs = app
            .viewer
            .sync
            .clone()
            .list_sync_runs(pb::ListSyncRunsRequest {
                integration_id: integration.id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .runs;
        runs.iter()
            .all(|run| !matches!(run.state(), Queued | Running))
            .then_some(())
    })
    .await;
}

/// A manual run once the integration is idle, finished.
async fn sync(app: &TestApp, integration: &pb::Integration) -> pb::SyncRun {
    wait_idle(app, integration).await;
    let run = app
        .admin
        .sync
        .clone()
        .trigger_sync(TriggerSyncRequest {
            integration_id: integration.id.clone(),
            ..Default::default()
        })
        .await
        .expect("trigger")
        .into_inner();
    let run = wait_for_run(&app.admin, &run.id).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    run
}

/// The resource's `access.drift_corrected` audit events, oldest first.
async fn drift_events(app: &TestApp, resource: &pb::Resource) -> Vec<pb::AuditEvent> {
    let mut events: Vec<pb::AuditEvent> = app
        .admin
        .integrations
        .clone()
        .list_audit_events(pb::ListAuditEventsRequest {
            resource_id: resource.id.clone(),
            ..Default::default()
        })
        .await
        .expect("list audit events")
        .into_inner()
        .events
        .into_iter()
        .filter(|event| event.action == "access.drift_corrected")
        .collect();
    events.sort_by_key(|event| event.at.map(|at| (at.seconds, at.nanos)));
    events
}

/// A string in an audit event's details.
fn detail(event: &pb::AuditEvent, key: &str) -> Option<String> {
    match event.details.as_ref()?.fields.get(key)?.kind.as_ref()? {
        prost_types::value::Kind::StringValue(text) => Some(text.clone()),
        _ => None,
    }
}

#[tokio::test]
async fn a_grant_adds_the_member_on_the_server_and_a_revocation_removes_it() {
    let app = TestApp::spawn().await;
    let directory = Directory::new().await;
    populate(&directory, &["alice"]).await;
    let (integration, readers) = pushing(&app, &directory).await;
    let bob = user_of(&app, &integration, "bob").await;

    let granted = grant(&app, &readers, bob).await;
    // The scheduler picks up the pending push by itself; no TriggerSync needed.
    eventually("bob added to the group's members", || async {
        (members(&directory, "readers").await == dns(&directory, &["alice", "bob"])).then_some(())
    })
    .await;
    let entry = eventually("bob's push recorded as in sync", || async {
        access_of(&app, &readers, bob)
            .await
            .filter(|entry| entry.propagation_status() == pb::PropagationStatus::InSync)
    })
    .await;
    assert_eq!(entry.source(), pb::AccessSource::Grant);
    assert_eq!(entry.grant_id, granted.to_string());
    assert_eq!(entry.propagation_attempts, 0);

    revoke(&app, granted).await;
    eventually("bob removed from the group's members", || async {
        (members(&directory, "readers").await == dns(&directory, &["alice"])).then_some(())
    })
    .await;
    eventually("bob no longer listed as having access", || async {
        access_of(&app, &readers, bob).await.is_none().then_some(())
    })
    .await;
    wait_idle(&app, &integration).await;
    assert_eq!(
        fetched(&app, &readers).await.propagation_status(),
        pb::PropagationStatus::InSync
    );
}

#[tokio::test]
async fn members_changed_by_hand_are_put_right_at_the_next_run_and_audited() {
    let app = TestApp::spawn().await;
    let directory = Directory::new().await;
    populate(&directory, &["alice", "bob"]).await;
    let (integration, readers) = pushing(&app, &directory).await;
    let readers_dn = group(&directory, "readers");
    assert!(drift_events(&app, &readers).await.is_empty());

    // By hand, behind Oblique's back: alice, an adopted member, taken out.
    directory
        .ldif(&format!(
            "dn: {readers_dn}\nchangetype: modify\ndelete: member\nmember: {}\n",
            person(&directory, "alice")
        ))
        .await;
    assert_eq!(
        members(&directory, "readers").await,
        dns(&directory, &["bob"])
    );
    let run = sync(&app, &integration).await;
    let pushed = run.stats.unwrap().push.unwrap();
    assert_eq!((pushed.created, pushed.deleted), (1, 0), "{pushed:?}");
    assert_eq!(
        members(&directory, "readers").await,
        dns(&directory, &["alice", "bob"]),
        "alice put back"
    );
    let drift = drift_events(&app, &readers).await;
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(drift[0].resource_id, readers.id);
    assert_eq!(drift[0].integration_id, integration.id);
    assert_eq!(detail(&drift[0], "account").as_deref(), Some("alice"));
    assert_eq!(detail(&drift[0], "before").as_deref(), Some("absent"));
    assert_eq!(detail(&drift[0], "after").as_deref(), Some("member"));

    // By hand again: carol, whom nobody granted anything, added.
    directory
        .ldif(&format!(
            "dn: {readers_dn}\nchangetype: modify\nadd: member\nmember: {}\n",
            person(&directory, "carol")
        ))
        .await;
    let run = sync(&app, &integration).await;
    let pushed = run.stats.unwrap().push.unwrap();
    assert_eq!((pushed.created, pushed.deleted), (0, 1), "{pushed:?}");
    assert_eq!(
        members(&directory, "readers").await,
        dns(&directory, &["alice", "bob"]),
        "carol removed"
    );
    let drift = drift_events(&app, &readers).await;
    assert_eq!(drift.len(), 2, "{drift:?}");
    assert_eq!(detail(&drift[1], "account").as_deref(), Some("carol"));
    assert_eq!(detail(&drift[1], "before").as_deref(), Some("member"));
    assert_eq!(detail(&drift[1], "after").as_deref(), Some("absent"));
    let carol = user_of(&app, &integration, "carol").await;
    assert!(access_of(&app, &readers, carol).await.is_none());
}

#[tokio::test]
async fn a_stopped_server_is_an_error_with_attempts_until_it_is_back() {
    let app = TestApp::spawn().await;
    let mut slapd = DedicatedSlapd::start();
    let directory = Directory::on(&slapd.url()).await;
    populate(&directory, &["alice"]).await;
    let (integration, readers) = pushing(&app, &directory).await;
    let bob = user_of(&app, &integration, "bob").await;
    wait_idle(&app, &integration).await;

    slapd.stop();
    grant(&app, &readers, bob).await;
    let entry = eventually("bob's push failed", || async {
        access_of(&app, &readers, bob)
            .await
            .filter(|entry| entry.propagation_status() == pb::PropagationStatus::Error)
    })
    .await;
    assert!(entry.propagation_attempts >= 1, "{entry:?}");
    assert!(
        entry.propagation_error.contains("cannot reach"),
        "{entry:?}"
    );
    let resource = eventually("the group shows the failed push", || async {
        Some(fetched(&app, &readers).await)
            .filter(|r| r.propagation_status() == pb::PropagationStatus::Error)
    })
    .await;
    assert!(!resource.propagation_error.is_empty(), "{resource:?}");
    // alice's adopted membership is not what failed.
    let alice = user_of(&app, &integration, "alice").await;
    let alice_entry = access_of(&app, &readers, alice).await.expect("alice");
    assert_eq!(
        alice_entry.propagation_status(),
        pb::PropagationStatus::InSync
    );

    // Back up: the scheduler retries by itself.
    slapd.restart();
    let entry = eventually("bob's push in sync after the server is back", || async {
        access_of(&app, &readers, bob)
            .await
            .filter(|entry| entry.propagation_status() == pb::PropagationStatus::InSync)
    })
    .await;
    assert_eq!(entry.propagation_attempts, 0);
    assert_eq!(entry.propagation_error, "");
    assert_eq!(
        members(&directory, "readers").await,
        dns(&directory, &["alice", "bob"])
    );
    eventually("the group back in sync", || async {
        (fetched(&app, &readers).await.propagation_status() == pb::PropagationStatus::InSync)
            .then_some(())
    })
    .await;
}
