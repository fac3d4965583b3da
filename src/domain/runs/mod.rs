//! Sync runs: asking for them, cancelling them, and reading them back with their errors,
//! events and (dry runs) changes. A run is a row; at most one per integration is queued or
//! running (a partial unique index guarantees it across replicas).

mod changes;
mod events;
mod queue;
mod read;

pub use changes::changes;
pub use events::events_after;
pub use queue::{RunOptions, cancel, trigger};
pub use read::{errors, get, list};

/// What a run read or a run change answers with.
pub use crate::db::models::SyncRunRow;
/// One change of a dry run's difference, as ListSyncRunChanges answers it, and its kind.
pub use crate::db::run_changes::RunChangeRow;
/// An event of a run, as stored and as published, and its kind.
pub use crate::db::run_events::{EventKind, SyncEvent};
/// One object that failed to sync, as ListSyncErrors answers it.
pub use crate::db::sync_errors::SyncErrorRow;
pub use crate::model::RunChangeKind;
