//! The generated gRPC types. They stay at the `api` edge: the domain has its own types.

#![allow(clippy::all, clippy::pedantic)]

tonic::include_proto!("oblique.v1");

/// Served by reflection, so `grpcurl list` and `describe` work without the .proto files.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("oblique_descriptor");
