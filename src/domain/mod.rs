//! The service's behaviour, free of gRPC types: the api layer calls in with validated values.

pub mod grants;
pub mod integrations;
pub mod runs;
pub mod sync_mode;
pub mod teams;
