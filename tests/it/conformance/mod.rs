//! The connector conformance suite (`oblique_testkit::conformance`) run by every integration
//! type against its real server: each submodule is one type's fixture, seeding and reading its
//! system as an administrator would, and the list of checks it runs.

mod ldap;
mod mysql;
mod postgres;
mod scim;
