//! End-to-end tests: the real server over gRPC, a real PostgreSQL for its data, and a real
//! PostgreSQL cluster as the remote system.

mod harness;

mod access;
mod audit;
mod auth;
mod fixtures;
mod fuzz_requests;
mod grants;
mod health;
mod integration_changes;
mod integrations;
mod ldap;
mod ldap_push;
mod limits;
mod merge;
mod migrations;
mod push;
mod remote_tls;
mod retry;
mod secrets_never_leak;
mod serve_binary;
mod sync_pull;
mod sync_runs;
mod teams;
mod tls;
mod users;
mod watchers;
