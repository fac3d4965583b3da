//! The checks of the suite, one concern per file (see the list in [`super`]). Each takes an
//! admin's clients of a running service and a fresh [`Remote`], and fails by panicking.
//!
//! [`Remote`]: super::Remote

mod paging;
mod pull;
mod push;
mod removal;
mod resources;
mod setup;
mod unreadable;

pub use paging::pages_past_the_limit;
pub use pull::pulls_accounts_resources_and_access;
pub use push::push_is_idempotent_and_drift_is_put_right;
pub use removal::removal_leaves_the_remote_as_it_was;
pub use resources::a_new_resource_is_created_and_a_taken_name_refused;
pub use setup::{
    an_unreachable_server_is_unavailable, wrong_credentials_are_refused_and_nothing_saved,
};
pub use unreadable::an_unreadable_object_is_a_sync_error;

/// Sorted names, for comparing with what a listing answers.
fn names<const N: usize>(names: [&String; N]) -> std::collections::BTreeSet<String> {
    names.into_iter().cloned().collect()
}
