//! End-to-end tests: the real server over gRPC, a real PostgreSQL for its data, and a real
//! PostgreSQL cluster as the remote system.

mod harness;

mod access;
mod audit;
mod auth;
mod auth_matrix;
mod auth_starvation;
mod cited_tests;
mod credential_destination;
mod db_roles;
mod db_tls;
mod embedded_restart;
mod faults;
mod fixtures;
mod fuzz_requests;
mod grants;
mod health;
mod identity_links;
mod integration_changes;
mod integrations;
mod keys;
mod layers;
mod ldap;
mod limits;
mod listing_gate;
mod merge;
mod migrations;
mod mysql;
mod push;
mod remote_tls;
mod retry;
mod run_lifecycle;
mod scim;
mod secrets_never_leak;
mod serve_binary;
mod serve_embedded;
mod serve_security;
mod sync_pull;
mod sync_runs;
mod teams;
mod tls;
mod typed_words;
mod users;
mod watchers;
