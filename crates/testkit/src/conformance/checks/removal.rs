//! Removing an integration leaves its system exactly as it was: push-mode resources keep the
//! members Oblique gave them, nothing is cleaned up, nothing is pushed after.

use oblique::pb;

use super::names;
use crate::conformance::Remote;
use crate::conformance::service::{
    accounts, create_request, grant, resources, set_push_mode, synced,
};
use crate::grpc::Clients;
use crate::wait::eventually;

pub async fn removal_leaves_the_remote_as_it_was(admin: &Clients, remote: &dyn Remote) {
    let alice = remote.add_account("alice").await.expect("alice");
    let bob = remote.add_account("bob").await.expect("bob");
    let readers = remote
        .add_resource("readers", &["alice"])
        .await
        .expect("readers");
    remote
        .add_resource("writers", &["bob"])
        .await
        .expect("writers");
    let (integration, _) = synced(admin, create_request(remote, "removal")).await;
    let resource = resources(admin, &integration).await[&readers].clone();
    set_push_mode(admin, &resource).await;
    grant(admin, &resource, &accounts(admin, &integration).await[&bob]).await;
    let pushed = names([&alice, &bob]);
    eventually("bob's grant pushed", || async {
        (remote.members("readers").await.expect("members") == pushed).then_some(())
    })
    .await;
    let before = remote.snapshot().await.expect("snapshot");

    admin
        .integrations
        .clone()
        .delete_integration(pb::DeleteIntegrationRequest {
            id: integration.id.clone(),
            force: true,
        })
        .await
        .expect("DeleteIntegration");

    assert_eq!(remote.snapshot().await.expect("snapshot"), before);
    assert_eq!(remote.members("readers").await.expect("members"), pushed);
}
