//! A sync brings the users with their attributes, the resources and the memberships, and links
//! each user to an Oblique user.

use super::names;
use crate::conformance::Remote;
use crate::conformance::service::{access, accounts, create_request, resources, synced};
use crate::grpc::Clients;

pub async fn pulls_accounts_resources_and_access(admin: &Clients, remote: &dyn Remote) {
    let alice = remote.add_account("alice").await.expect("alice");
    let bob = remote.add_account("bob").await.expect("bob");
    let readers = remote
        .add_resource("readers", &["alice", "bob"])
        .await
        .expect("readers");
    let writers = remote
        .add_resource("writers", &["bob"])
        .await
        .expect("writers");
    let empty = remote.add_resource("empty", &[]).await.expect("empty");

    let (integration, _) = synced(admin, create_request(remote, "pull")).await;

    let pulled = accounts(admin, &integration).await;
    assert_eq!(
        pulled.keys().cloned().collect::<Vec<_>>(),
        [alice.clone(), bob.clone()]
    );
    for (name, username) in [("alice", &alice), ("bob", &bob)] {
        let account = &pulled[username];
        assert!(!account.external_id.is_empty(), "{account:?}");
        assert!(!account.user_id.is_empty(), "linked to a user: {account:?}");
        let (attribute, value) = remote.account_attribute(name);
        let values = account
            .attributes
            .iter()
            .find(|a| a.name == attribute)
            .map(|a| a.values.clone())
            .unwrap_or_default();
        assert_eq!(values, [value], "{attribute} of {account:?}");
    }
    assert_ne!(pulled[&alice].user_id, pulled[&bob].user_id);

    let listed = resources(admin, &integration).await;
    assert_eq!(
        listed
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        names([&empty, &readers, &writers])
    );
    assert_eq!(
        access(admin, &integration, &listed[&readers]).await,
        names([&alice, &bob])
    );
    assert_eq!(
        access(admin, &integration, &listed[&writers]).await,
        names([&bob])
    );
    assert!(
        access(admin, &integration, &listed[&empty])
            .await
            .is_empty()
    );
}
