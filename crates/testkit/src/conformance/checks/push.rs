//! Pushing is idempotent: adding a present member or removing an absent one succeeds and
//! changes nothing (twice = once). A member added by hand to a push-mode resource is drift: the
//! next run removes it and audits the correction.

use oblique::pb;

use super::names;
use crate::conformance::Remote;
use crate::conformance::service::{
    accounts, audit_events, connector, create_request, resources, set_push_mode, sync, synced,
};
use crate::grpc::{Clients, detail};

pub async fn push_is_idempotent_and_drift_is_put_right(admin: &Clients, remote: &dyn Remote) {
    let alice = remote.add_account("alice").await.expect("alice");
    let bob = remote.add_account("bob").await.expect("bob");
    let readers = remote
        .add_resource("readers", &["alice"])
        .await
        .expect("readers");
    let (integration, _) = synced(admin, create_request(remote, "push")).await;
    let bob_id = accounts(admin, &integration).await[&bob]
        .external_id
        .clone();
    let resource = resources(admin, &integration).await[&readers].clone();

    let connector = connector(remote);
    for attempt in 1..=2 {
        let added = connector.add_member(&resource.external_id, &bob_id).await;
        added.unwrap_or_else(|error| panic!("adding bob, attempt {attempt}: {error}"));
    }
    let members = remote.members("readers").await.expect("members");
    assert_eq!(members, names([&alice, &bob]));
    for attempt in 1..=2 {
        let removed = connector
            .remove_member(&resource.external_id, &bob_id)
            .await;
        removed.unwrap_or_else(|error| panic!("removing bob, attempt {attempt}: {error}"));
    }
    let members = remote.members("readers").await.expect("members");
    assert_eq!(members, names([&alice]));

    // Behind Oblique's back, on a resource whose members Oblique now decides.
    set_push_mode(admin, &resource).await;
    remote
        .add_member("readers", "bob")
        .await
        .expect("bob added by hand");
    let run = sync(admin, &integration).await;
    assert_eq!(run.state(), pb::SyncRunState::Succeeded, "{run:?}");
    let members = remote.members("readers").await.expect("members");
    assert_eq!(
        members,
        names([&alice]),
        "the member added by hand is removed"
    );
    let drift = audit_events(admin, &resource, "access.drift_corrected").await;
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(detail(&drift[0], "account"), Some(bob));
    assert_eq!(detail(&drift[0], "after").as_deref(), Some("absent"));
}
