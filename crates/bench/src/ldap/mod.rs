//! `oblique-bench --ldap`: the `ldap` connector's initial sync through the real engine against a
//! throwaway OpenLDAP slapd, next to what reading and writing the same data costs at the least:
//! a paged `ldapsearch` dumping the same entries, and a raw binary COPY of the rows the sync
//! landed (the round itself is [`crate::connector_mode`]'s, shared with `--scim` and `--mysql`).
//!
//! The directory is written as LDIF in [`directory`] and bulk-loaded with `slapadd -q` before
//! slapd starts; the server and `ldapsearch` are in [`server`].

mod directory;
mod server;

use anyhow::Context;
use oblique::connectors::IntegrationKind;
use oblique_testkit::slapd::Slapd;

use crate::connector_mode::{BenchSetup, ModeNames, SeededServer};
use crate::directory_sizes::DirectorySizes;
pub use server::{PAGE_SIZE, ROOT_DN, SEARCH_FILTER, SUFFIX, ldapsearch};
use server::{ROOT_PASSWORD, slapd_config};

pub const NAMES: ModeNames = ModeNames {
    kind: IntegrationKind::Ldap,
    prefix: "ldap",
    groups: "groups",
    memberships: "memberships",
    seed_metric: "ldap_slapadd_s",
    read_metric: "ldapsearch_s",
    attributes_per_user: directory::USER_ATTRIBUTES,
};

/// slapd over the generated directory.
pub struct LdapServer {
    slapd: Slapd,
}

/// Generates the directory and starts slapd over it, loaded with `slapadd` (the seeding time
/// is `ldap_slapadd_s`).
pub async fn start(sizes: DirectorySizes) -> anyhow::Result<LdapServer> {
    eprintln!("oblique-bench: ldap: generating and loading the directory");
    let slapd = tokio::task::spawn_blocking(move || {
        Slapd::start(&slapd_config(), |out| directory::write_ldif(out, &sizes))
            .context("starting slapd over the generated directory")
    })
    .await??;
    Ok(LdapServer { slapd })
}

#[async_trait::async_trait]
impl SeededServer for LdapServer {
    fn names(&self) -> &'static ModeNames {
        &NAMES
    }

    /// The root DN, paging like `ldapsearch`.
    fn setup(&self) -> BenchSetup {
        let config = vec![
            ("url", self.slapd.url()),
            // A throwaway server on 127.0.0.1: nothing crosses a network.
            ("allow_plaintext", "true".into()),
            ("bind_dn", ROOT_DN.into()),
            ("base_dn", SUFFIX.into()),
            ("user_base", format!("ou=people,{SUFFIX}")),
            ("group_base", format!("ou=groups,{SUFFIX}")),
            ("page_size", PAGE_SIZE.to_string()),
            ("timeout", "600".into()),
        ];
        BenchSetup {
            config,
            credentials: vec![("bind_password", ROOT_PASSWORD.into())],
        }
    }

    async fn plain_read(&self) -> anyhow::Result<()> {
        let url = self.slapd.url();
        tokio::task::spawn_blocking(move || ldapsearch(&url)).await??;
        Ok(())
    }

    fn describe_read(&self) -> String {
        format!(
            "ldapsearch -x -E pr={PAGE_SIZE}/noprompt -b {SUFFIX} '{SEARCH_FILTER}', output to \
             /dev/null, after an untimed warm-up dump"
        )
    }
}
