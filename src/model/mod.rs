//! Values every layer speaks, with their one mapping to the database. The bottom layer: it
//! imports nothing from the rest of the crate.

pub mod link_users_by;
pub mod principal;
pub mod run_phase;
pub mod run_state;
pub mod run_stats;
pub mod run_trigger;
mod text_column;

pub use link_users_by::LinkUsersBy;
pub use principal::{Principal, Role};
pub use run_phase::RunPhase;
pub use run_state::RunState;
pub use run_trigger::RunTrigger;
