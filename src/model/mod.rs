//! Values every layer speaks, with their one mapping to the database. The bottom layer: it
//! imports nothing from the rest of the crate.

// First, so that the modules below see the macros.
mod text_column;
#[macro_use]
mod text_enum;

pub mod access_source;
pub mod audit_action;
pub mod link_users_by;
pub mod principal;
pub mod propagation_status;
pub mod push_op;
pub mod remote_op;
pub mod resource_type;
pub mod run_change_kind;
pub mod run_phase;
pub mod run_state;
pub mod run_stats;
pub mod run_trigger;
pub mod sync_mode;

pub use access_source::AccessSource;
pub use audit_action::AuditAction;
pub use link_users_by::LinkUsersBy;
pub use principal::{Principal, Role};
pub use propagation_status::PropagationStatus;
pub use push_op::PushOp;
pub use remote_op::RemoteOp;
pub use resource_type::ResourceType;
pub use run_change_kind::RunChangeKind;
pub use run_phase::RunPhase;
pub use run_state::RunState;
pub use run_trigger::RunTrigger;
pub use sync_mode::SyncMode;
