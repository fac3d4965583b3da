//! Values every layer speaks, with their one mapping to the database. The bottom layer: it
//! imports nothing from the rest of the crate.

pub mod link_users_by;
pub mod principal;
pub mod run_stats;

pub use link_users_by::LinkUsersBy;
pub use principal::{Principal, Role};
