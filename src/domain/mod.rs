//! The service's behaviour, free of gRPC types: the api layer calls in with validated values.
//! Everything the api reads or writes goes through a use case here (it never imports `db`);
//! the rows a use case answers with are re-exported by its module rather than copied.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod grants;
pub mod integrations;
mod remote_members;
pub mod resources;
pub mod runs;
pub mod sync_mode;
pub mod teams;
pub mod tokens;
pub mod users;
