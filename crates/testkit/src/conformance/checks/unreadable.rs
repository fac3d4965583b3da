//! One object the connector (or Oblique's storage) cannot take is one sync error naming it; the
//! run succeeds and everything else syncs.

use oblique::pb;

use crate::conformance::Remote;
use crate::conformance::service::{accounts, create_request, synced};
use crate::grpc::Clients;

pub async fn an_unreadable_object_is_a_sync_error(admin: &Clients, remote: &dyn Remote) {
    let alice = remote.add_account("alice").await.expect("alice");
    let shown = remote
        .add_unreadable_account("broken")
        .await
        .expect("an unreadable account");

    let (integration, run) = synced(admin, create_request(remote, "unreadable")).await;
    assert_eq!(run.stats.as_ref().map(|s| s.errors), Some(1), "{run:?}");
    let pulled = accounts(admin, &integration).await;
    assert_eq!(pulled.keys().cloned().collect::<Vec<_>>(), [alice]);
    let errors = admin
        .sync
        .clone()
        .list_sync_errors(pb::ListSyncErrorsRequest {
            integration_id: integration.id.clone(),
            ..Default::default()
        })
        .await
        .expect("ListSyncErrors")
        .into_inner()
        .errors;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].object.contains(&shown),
        "{errors:?} names {shown}"
    );
    assert!(!errors[0].message.is_empty(), "{errors:?}");
}
