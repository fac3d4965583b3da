//! A team's resource is created on the remote and the next sync lists it as the same object; a
//! name already taken remotely (by hand, or by the resource just made) is an error, and the
//! object holding it is left as it was, never adopted.

use oblique::pb;

use crate::conformance::Remote;
use crate::conformance::service::{connector, create_request, resources, sync, synced};
use crate::grpc::Clients;

pub async fn a_new_resource_is_created_and_a_taken_name_refused(
    admin: &Clients,
    remote: &dyn Remote,
) {
    remote.add_account("alice").await.expect("alice");
    let taken = remote
        .add_resource("taken", &["alice"])
        .await
        .expect("taken");
    assert_eq!(taken, remote.resource_name("taken"));
    let (integration, _) = synced(admin, create_request(remote, "resources")).await;

    let connector = connector(remote);
    let name = remote.resource_name("platform");
    let created = connector
        .create_resource(&name)
        .await
        .unwrap_or_else(|error| panic!("creating {name}: {error}"));
    assert_eq!(created.name, name);
    let run = sync(admin, &integration).await;
    assert_eq!(run.state(), pb::SyncRunState::Succeeded, "{run:?}");
    let listed = resources(admin, &integration).await;
    assert_eq!(listed[&name].external_id, created.external_id);

    let before = remote.snapshot().await.expect("snapshot");
    for name in [&name, &taken] {
        let again = connector.create_resource(name).await;
        assert!(again.is_err(), "{name} is taken, yet: {again:?}");
    }
    let after = remote.snapshot().await.expect("snapshot");
    assert_eq!(
        after, before,
        "the objects holding the names are left as they were"
    );
}
