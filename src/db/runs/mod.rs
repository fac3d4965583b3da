//! The one owner of a sync run's lifecycle. Every statement that creates, claims, heartbeats,
//! requeues, finishes (succeeded, failed, cancelled) or reads a run is here, and each state
//! change writes its event ([`super::run_events`]) in the same transaction:
//!
//! ```text
//! enqueue ──▶ queued ──claim──▶ running ──finish──▶ succeeded | failed | cancelled
//!               ▲                  │
//!               └─────requeue──────┘   (its worker shut down)
//! ```
//!
//! A queued run can also be finished (cancelled) directly. Every ending, whoever causes it (the
//! worker, a person cancelling, the integration's removal, the reaper of expired leases), goes
//! through [`finish::finish`], or through [`in_merge::finish_in`] when it commits with the
//! merge on the engine's tokio-postgres staging connection: both run the one [`finish::FINISH_SQL`].

pub mod claim;
pub mod enqueue;
pub mod expiry;
pub mod finish;
pub mod in_merge;
pub mod read;

pub use claim::{claim, heartbeat, requeue, set_phase};
pub use enqueue::{enqueue, enqueue_due, request_push};
pub use expiry::reap_expired_leases;
pub use finish::{EndedBy, Ending, Finish, cancel_active, finish};
pub use read::{find, find_active, find_for_update, latest_for, list_page};

/// Deaths (lease expiries) after which a run is given up: not retried, and nothing but a person
/// queues its integration's next run before the integration's interval has passed.
pub const MAX_LEASE_EXPIRIES: i32 = 3;

/// The NOTIFY channel that tells idle workers on every replica that a run is waiting, so that
/// they start at once instead of at their next poll.
pub const QUEUED_CHANNEL: &str = "oblique_runs_queued";
