//! Push against a real OpenLDAP slapd, end to end through the gRPC API: decisions made in Oblique
//! change a group's `member` values on the server, drift made by hand is corrected and audited,
//! and a push the stopped server missed is an error with attempts until the server is back.

use oblique::pb::{self, SyncRunState};

use crate::harness::calls::{
    access_of, audit_events, detail, grant, resource, revoke, set_mode, sync, synced, user_of,
    wait_idle,
};
use crate::harness::slapd::{DedicatedSlapd, Directory};
use crate::harness::{TestApp, eventually};

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
    let (created, _) = synced(app, directory.create_request("directory")).await;
    let readers = resource(app, &created, "readers").await;
    let readers = set_mode(app, &readers.id, pb::SyncMode::Push).await;
    assert_eq!(readers.sync_mode(), pb::SyncMode::Push);
    (created, readers)
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

/// The resource's `access.drift_corrected` audit events, oldest first.
async fn drift_events(app: &TestApp, resource: &pb::Resource) -> Vec<pb::AuditEvent> {
    let mut events = audit_events(app, &resource.id, "access.drift_corrected").await;
    events.sort_by_key(|event| event.at.map(|at| (at.seconds, at.nanos)));
    events
}

#[tokio::test]
async fn a_grant_adds_the_member_on_the_server_and_a_revocation_removes_it() {
    let app = TestApp::spawn().await;
    let directory = Directory::new().await;
    populate(&directory, &["alice"]).await;
    let (integration, readers) = pushing(&app, &directory).await;
    let bob = user_of(&app, &integration, "bob").await;

    let granted = grant(&app, &readers, bob, "joins the readers").await;
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

    revoke(&app, granted, "leaves the readers").await;
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
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
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
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
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
    grant(&app, &readers, bob, "joins the readers").await;
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
