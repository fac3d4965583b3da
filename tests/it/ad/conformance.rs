//! The connector conformance suite against Active Directory: user entries are accounts, global
//! security groups are resources, their `member` values access, in an OU of this test's own. Names
//! carry the test's prefix, since sAMAccountNames are unique in the whole domain. Every AD user
//! entry is readable (AD makes up a sAMAccountName when none is given), so the unreadable-object
//! check is left out.

use std::collections::{BTreeSet, HashMap};

use oblique_testkit::conformance::Remote;

use crate::harness::TestApp;
use crate::harness::samba::Domain;

async fn start() -> (TestApp, Domain) {
    let domain = Domain::new().await;
    (TestApp::spawn().await, domain)
}

oblique_testkit::conformance_suite!(
    start;
    pulls_accounts_resources_and_access,
    pages_past_the_limit,
    push_is_idempotent_and_drift_is_put_right,
    a_new_resource_is_created_and_a_taken_name_refused,
    wrong_credentials_are_refused_and_nothing_saved,
    an_unreachable_server_is_unavailable,
    removal_leaves_the_remote_as_it_was,
);

impl Domain {
    fn named(&self, name: &str) -> String {
        format!("{}{name}", self.prefix())
    }
}

#[async_trait::async_trait]
impl Remote for Domain {
    fn kind(&self) -> &'static str {
        "ldap"
    }

    fn config(&self) -> HashMap<String, String> {
        // The directory as stored after setup: the suite builds connectors from this config
        // without the detection that creating an integration runs.
        Domain::config(
            self,
            &[
                ("group_base", &self.groups()),
                ("id_attribute", "objectGUID"),
            ],
        )
    }

    fn credentials(&self) -> HashMap<String, String> {
        Domain::credentials(self)
    }

    fn secret_field(&self) -> &'static str {
        "bind_password"
    }

    fn unreachable_config(&self) -> HashMap<String, String> {
        let url = format!("ldaps://127.0.0.1:{}", oblique_testkit::free_port());
        let mut config = Remote::config(self);
        config.insert("url".into(), url);
        config
    }

    fn paging(&self) -> (Vec<(&'static str, String)>, usize) {
        (vec![("page_size", "7".to_string())], 23)
    }

    fn account_attribute(&self, account: &str) -> (&'static str, String) {
        ("givenName", self.named(account))
    }

    async fn add_account(&self, name: &str) -> anyhow::Result<String> {
        let name = self.named(name);
        self.ldif(&self.user_ldif(&name)).await;
        Ok(name)
    }

    async fn add_accounts(&self, prefix: &str, count: usize) -> anyhow::Result<Vec<String>> {
        let names: Vec<String> = (0..count)
            .map(|n| self.named(&format!("{prefix}{n}")))
            .collect();
        let ldif: String = names.iter().map(|name| self.user_ldif(name)).collect();
        self.ldif(&ldif).await;
        Ok(names)
    }

    async fn add_resource(&self, name: &str, members: &[&str]) -> anyhow::Result<String> {
        let name = self.named(name);
        let dns: Vec<String> = members
            .iter()
            .map(|m| self.user_dn(&self.named(m)))
            .collect();
        self.ldif(&self.group_ldif(&name, &dns)).await;
        Ok(name)
    }

    async fn add_member(&self, resource: &str, account: &str) -> anyhow::Result<()> {
        let (dn, member) = (
            self.group_dn(&self.named(resource)),
            self.user_dn(&self.named(account)),
        );
        self.ldif(&format!(
            "dn: {dn}\nchangetype: modify\nadd: member\nmember: {member}\n"
        ))
        .await;
        Ok(())
    }

    async fn members(&self, resource: &str) -> anyhow::Result<BTreeSet<String>> {
        let values = self
            .values(&self.group_dn(&self.named(resource)), "member")
            .await;
        let people = format!(",{}", self.people()).to_lowercase();
        Ok(values
            .iter()
            .filter_map(|dn| {
                let dn = dn.to_lowercase();
                let name = dn.strip_prefix("cn=")?.strip_suffix(&people)?;
                Some(name.to_string())
            })
            .collect())
    }

    async fn add_unreadable_account(&self, _name: &str) -> anyhow::Result<String> {
        anyhow::bail!("every AD user entry is readable: the check is not run")
    }

    fn resource_name(&self, name: &str) -> String {
        self.named(name)
    }

    async fn snapshot(&self) -> anyhow::Result<String> {
        let ldif = self.search("{base}", "sub", &["*"]).await;
        // Entries in a stable order, without what changes by itself (logon counters, USNs).
        let volatile = ["usnchanged:", "whenchanged:", "dscorepropagationdata:"];
        let mut entries: Vec<String> = ldif
            .split("\n\n")
            .map(|entry| {
                entry
                    .lines()
                    .filter(|l| !volatile.iter().any(|v| l.to_lowercase().starts_with(v)))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect();
        entries.sort();
        Ok(entries.join("\n\n"))
    }
}
