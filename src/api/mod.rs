//! The gRPC edge: one file per service. Handlers check the caller's role, turn requests into
//! domain values (a bad field becomes INVALID_ARGUMENT here) and map results back to messages.

pub mod access_service;
pub mod convert;
pub mod convert_access;
pub mod convert_values;
pub mod integration_input;
pub mod integration_service;
pub mod paging;
#[cfg(test)]
mod redaction_tests;
pub mod run_changes;
pub mod sync_service;
pub mod sync_streams;
pub mod team_service;
pub mod text;
pub mod user_service;
