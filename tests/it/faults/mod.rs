//! Faults (issue 13): what the service does when its database, its remotes or its own workers
//! fail, or a decision races a push: nothing lost, stalled or repeated. One module per kind of
//! fault.

mod adoption;
mod cut_listing;
mod database;
mod propagation;
mod values;
