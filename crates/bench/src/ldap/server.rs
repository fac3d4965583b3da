//! The throwaway slapd the LDAP benchmark syncs from, and the least that reading it costs: a
//! paged `ldapsearch` of the same entries. Both sides share these settings (suffix, root DN,
//! filter, page size) so that the connector and `ldapsearch` read the same data the same way.
//!
//! The server is the testkit's throwaway [`Slapd`](oblique_testkit::slapd::Slapd) without size
//! limit, the directory bulk-loaded with `slapadd -q` before it starts, stopped and removed when
//! it is dropped, also on error.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use oblique_testkit::slapd::SlapdConfig;

pub const SUFFIX: &str = "dc=example,dc=org";
pub const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
pub(super) const ROOT_PASSWORD: &str = "bench-Secret-91f3";
/// What `ldapsearch` dumps: the users and groups the sync reads.
pub const SEARCH_FILTER: &str = "(|(objectClass=inetOrgPerson)(objectClass=groupOfNames))";
/// Entries per page, for `ldapsearch` and the connector alike.
pub const PAGE_SIZE: u16 = 500;

/// The benchmark's server: the generated directory bulk-loaded, no size limit (the connector
/// pages anyway, and `ldapsearch` binds as the root DN), everything readable by everyone, and an
/// objectClass index, which the connector's and `ldapsearch`'s filters use.
pub(super) fn slapd_config() -> SlapdConfig {
    SlapdConfig {
        name: "oblique-bench-slapd",
        suffix: SUFFIX.to_string(),
        root_dn: ROOT_DN.to_string(),
        root_password: ROOT_PASSWORD.to_string(),
        size_limit: None,
        // Room for millions of memberships.
        max_size: 4 << 30,
        indexes: vec!["objectClass eq".to_string()],
        access: vec!["* by * read".to_string()],
        // Measures the connector, not TLS: plain ldap:// with allow_plaintext.
        tls: None,
    }
}

/// The paged `ldapsearch` of every user and group, output to /dev/null: its wall time.
/// Blocking.
pub fn ldapsearch(url: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let status = Command::new("/usr/bin/ldapsearch")
        .args([
            "-x",
            "-H",
            url,
            "-D",
            ROOT_DN,
            "-w",
            ROOT_PASSWORD,
            "-b",
            SUFFIX,
        ])
        .args(["-E", &format!("pr={PAGE_SIZE}/noprompt"), SEARCH_FILTER])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .context("running /usr/bin/ldapsearch")?;
    let elapsed = started.elapsed();
    anyhow::ensure!(status.success(), "ldapsearch failed: {status}");
    Ok(elapsed)
}
