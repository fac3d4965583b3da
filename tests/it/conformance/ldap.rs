//! The `ldap` type over OpenLDAP: inetOrgPerson entries are accounts, groupOfNames groups are
//! resources, their `member` values access, in an OU of this test's own on the shared slapd. That
//! server's size limit ([`SIZE_LIMIT`]) is what the paging check goes past.

use std::collections::{BTreeSet, HashMap};

use oblique_testkit::conformance::Remote;

use crate::harness::TestApp;
use crate::harness::slapd::{BIND_DN, Directory, SIZE_LIMIT};

async fn start() -> (TestApp, Directory) {
    let directory = Directory::new().await;
    (TestApp::spawn().await, directory)
}

oblique_testkit::conformance_suite!(
    start;
    pulls_accounts_resources_and_access,
    pages_past_the_limit,
    an_unreadable_object_is_a_sync_error,
    push_is_idempotent_and_drift_is_put_right,
    a_new_resource_is_created_and_a_taken_name_refused,
    wrong_credentials_are_refused_and_nothing_saved,
    an_unreachable_server_is_unavailable,
    removal_leaves_the_remote_as_it_was,
);

/// The DN of the account `name`, `{base}` standing for the test's OU.
fn account_dn(name: &str) -> String {
    format!("uid={name},ou=people,{{base}}")
}

fn group_dn(name: &str) -> String {
    format!("cn={name},ou=groups,{{base}}")
}

fn account_ldif(name: &str) -> String {
    format!(
        "dn: {}\nobjectClass: inetOrgPerson\nuid: {name}\ncn: {name}\nsn: {name}\n\
         mail: {name}@example.org\n\n",
        account_dn(name)
    )
}

#[async_trait::async_trait]
impl Remote for Directory {
    fn kind(&self) -> &'static str {
        "ldap"
    }

    fn config(&self) -> HashMap<String, String> {
        Directory::config(self, &[("group_base", &self.groups())])
    }

    fn credentials(&self) -> HashMap<String, String> {
        Directory::credentials(self)
    }

    fn secret_field(&self) -> &'static str {
        "bind_password"
    }

    fn unreachable_config(&self) -> HashMap<String, String> {
        let url = format!("ldap://127.0.0.1:{}", oblique_testkit::free_port());
        let mut config = Remote::config(self);
        config.insert("url".into(), url);
        config
    }

    fn paging(&self) -> (Vec<(&'static str, String)>, usize) {
        (Vec::new(), SIZE_LIMIT * 2 + 1)
    }

    fn account_attribute(&self, account: &str) -> (&'static str, String) {
        ("cn", account.to_string())
    }

    async fn add_account(&self, name: &str) -> anyhow::Result<String> {
        self.ldif(&account_ldif(name)).await;
        Ok(name.to_string())
    }

    async fn add_accounts(&self, prefix: &str, count: usize) -> anyhow::Result<Vec<String>> {
        let names: Vec<String> = (0..count).map(|n| format!("{prefix}{n}")).collect();
        let ldif: String = names.iter().map(|name| account_ldif(name)).collect();
        self.ldif(&ldif).await;
        Ok(names)
    }

    async fn add_resource(&self, name: &str, members: &[&str]) -> anyhow::Result<String> {
        // groupOfNames needs a member: an empty group holds the bind DN, as the groups the
        // connector creates do, and the connector leaves it out.
        let mut values = vec![BIND_DN.to_string()];
        values.extend(members.iter().map(|member| account_dn(member)));
        let members: String = values.iter().map(|dn| format!("member: {dn}\n")).collect();
        let dn = group_dn(name);
        self.ldif(&format!(
            "dn: {dn}\nobjectClass: groupOfNames\ncn: {name}\n{members}"
        ))
        .await;
        Ok(name.to_string())
    }

    async fn add_member(&self, resource: &str, account: &str) -> anyhow::Result<()> {
        let (dn, member) = (group_dn(resource), account_dn(account));
        self.ldif(&format!(
            "dn: {dn}\nchangetype: modify\nadd: member\nmember: {member}\n"
        ))
        .await;
        Ok(())
    }

    async fn members(&self, resource: &str) -> anyhow::Result<BTreeSet<String>> {
        let values = self.values(&group_dn(resource), "member").await;
        let people = format!(",ou=people,{}", self.base).to_lowercase();
        Ok(values
            .iter()
            .filter_map(|dn| {
                let dn = dn.to_lowercase();
                let uid = dn.strip_prefix("uid=")?.strip_suffix(&people)?;
                Some(uid.to_string())
            })
            .collect())
    }

    async fn add_unreadable_account(&self, name: &str) -> anyhow::Result<String> {
        // A person without the username attribute (uid) is not an account Oblique can know.
        self.ldif(&format!(
            "dn: cn={name},ou=people,{{base}}\nobjectClass: inetOrgPerson\ncn: {name}\nsn: {name}\n"
        ))
        .await;
        Ok(format!("cn={name},ou=people"))
    }

    fn resource_name(&self, name: &str) -> String {
        name.to_string()
    }

    async fn snapshot(&self) -> anyhow::Result<String> {
        let ldif = self.search("{base}", "sub", &["*", "+"]).await;
        // Entries in a stable order, whatever order the server answers in.
        let mut entries: Vec<&str> = ldif.split("\n\n").collect();
        entries.sort();
        Ok(entries.join("\n\n"))
    }
}
