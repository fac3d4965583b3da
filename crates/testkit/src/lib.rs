//! What Oblique's tests and its benchmark start and throw away, one launcher of each:
//!
//! - [`postgres`]: throwaway PostgreSQL clusters, and [`postgres::remote`], one dressed as a
//!   remote system (TLS with a test CA's certificate, passwords checked);
//! - [`slapd`]: a throwaway OpenLDAP server;
//! - [`samba`]: a throwaway Active Directory domain controller (Samba), one per machine at a time;
//! - [`scim`]: a throwaway SCIM 2.0 service (`scim2-server`) and an administrator's client of it;
//! - [`mariadb`]: a throwaway MariaDB server, and a root connection to it;
//! - [`pki`]: a test CA and the certificates it signs;
//! - [`grpc`]: clients of every service that present a bearer token, and [`wait`], for what the
//!   service does by itself;
//! - [`conformance`]: the behaviour every connector type shows against its real server;
//! - [`free_port`] and [`keep_until_exit`], which the others build on.
//!
//! The server never links this crate. What only the integration tests need (the server spawned
//! in-process, test databases copied from a migrated template, the tests' LDAP layout) stays in
//! `tests/it/harness`, which builds on this.

pub mod conformance;
pub mod grpc;
pub mod mariadb;
pub mod pki;
pub mod postgres;
pub mod samba;
pub mod scim;
pub mod slapd;
mod until_exit;
pub mod wait;

pub use until_exit::keep_until_exit;

/// A TCP port on 127.0.0.1 that nothing listened on a moment ago. Another process may take it
/// before the caller binds it: callers that start servers retry with another.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port on 127.0.0.1")
}
