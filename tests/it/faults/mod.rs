//! Faults (issue 13): what the service does when its database, its remotes or its own workers
//! fail (a run panics, hangs or loses its worker), or a decision races a push: nothing lost,
//! stalled or repeated. One module per kind of fault.

mod adoption;
mod bounded;
mod cut_listing;
mod database;
mod faulty_remote;
mod intents;
mod kills;
mod load;
mod propagation;
pub(crate) mod replicas;
mod scheduler;
mod supervise;
mod unanalysed_remote;
mod values;
