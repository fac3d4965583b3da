//! The service's behaviour, free of gRPC types: the api layer calls in with validated values.

pub mod integrations;
pub mod runs;
