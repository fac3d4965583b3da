//! What a connector mode is called and how its integration is set up: the plain values the
//! round, the sync and the report all read.

use oblique::connectors::IntegrationKind;

/// Which integration type a mode syncs, and what it calls its figures. The metric names are an
/// interface (see `report.rs`).
#[derive(Debug)]
pub struct ModeNames {
    pub kind: IntegrationKind,
    /// The metrics' prefix: `ldap`, `scim`, `mysql`.
    pub prefix: &'static str,
    /// What the server calls groups and memberships (`roles`, `grants` in MySQL).
    pub groups: &'static str,
    pub memberships: &'static str,
    /// The metric of the untimed seeding (`ldap_slapadd_s`, …).
    pub seed_metric: &'static str,
    /// The metric of the timed plain read (`ldapsearch_s`, …).
    pub read_metric: &'static str,
    /// Attribute rows a complete sync lands per user.
    pub attributes_per_user: u64,
}

/// An integration's setup: config and credentials, field by field.
pub struct BenchSetup {
    pub config: Vec<(&'static str, String)>,
    pub credentials: Vec<(&'static str, String)>,
}
