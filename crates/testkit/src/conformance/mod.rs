//! The connector conformance suite: the behaviour every integration type must show against its
//! real server, written once. A type joins by implementing [`Remote`] (how to seed its system and
//! read it back) and listing the checks it runs with [`conformance_suite!`]:
//!
//! - `pulls_accounts_resources_and_access`: a sync brings users with their attributes, resources
//!   and memberships, and links the users;
//! - `pages_past_the_limit`: every object of a system larger than one page (or the server's size
//!   limit) is brought;
//! - `an_unreadable_object_is_a_sync_error`: one object that cannot be read is one sync error
//!   naming it, and the rest syncs;
//! - `push_is_idempotent_and_drift_is_put_right`: adding a present member or removing an absent
//!   one is success (twice = once), and a member added by hand to a push-mode resource is removed
//!   and audited as drift;
//! - `a_new_resource_is_created_and_a_taken_name_refused`: a team's resource is created; a name
//!   already taken remotely is an error and the existing object is never adopted;
//! - `wrong_credentials_are_refused_and_nothing_saved`: `INVALID_ARGUMENT` naming the credential
//!   field, without quoting it;
//! - `an_unreachable_server_is_unavailable`: `UNAVAILABLE`, nothing saved;
//! - `removal_leaves_the_remote_as_it_was`: deleting an integration (forced, with a push-mode
//!   resource it changed) changes nothing on the remote.
//!
//! The checks drive the service through its gRPC API as an admin would, and the connector
//! directly where only it can show a property (a push made twice).

pub mod checks;
mod remote;
mod service;

pub use remote::Remote;

/// One `#[tokio::test]` per named check, each on a fresh service and a fresh part of the remote
/// system. `$start` is an async fn answering `(app, remote)`: `app.admin` is the [`Clients`] of
/// an admin of a running service (kept alive for the test), `remote` a [`Remote`].
///
/// [`Clients`]: crate::grpc::Clients
///
/// ```ignore
/// oblique_testkit::conformance_suite!(start; pulls_accounts_resources_and_access, pages_past_the_limit);
/// ```
#[macro_export]
macro_rules! conformance_suite {
    ($start:path; $($check:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                let (app, remote) = $start().await;
                $crate::conformance::checks::$check(&app.admin, &remote).await;
            }
        )+
    };
}
