//! The `ldap` type against a real Active Directory: a Samba AD DC started by the testkit (one
//! per test process, each test in an OU of its own; see `harness::samba`). Entries are known by
//! objectGUID, AD's defaults apply, large groups are read in ranges, nested groups give
//! inherited access, pushes and new team groups land in AD, and TLS is ldaps:// or StartTLS
//! with the DC's CA.

mod conformance;
mod nested;
mod pull;
mod push;
mod ranges;
mod tls;

pub(super) fn pair(resource: &str, account: &str) -> (String, String) {
    (resource.to_string(), account.to_string())
}
