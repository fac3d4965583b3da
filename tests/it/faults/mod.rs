//! Faults (issue 13): what the service does when its database, its remotes or its own workers
//! fail. One module per kind of fault.

mod database;
mod values;
