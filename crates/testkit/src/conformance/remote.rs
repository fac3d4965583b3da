//! What the suite needs of a remote system: one test's part of it, seeded and read back as its
//! administrator would (not through the connector under test).

use std::collections::{BTreeSet, HashMap};

/// One test's part of a real remote system of one integration type: its own users and groups
/// (roles …), which no other test sees, removed when dropped.
///
/// Objects are named by the test with short names (`alice`, `readers`); the remote may decorate
/// them (a prefix that keeps tests apart). Methods taking a name take the short one; what they
/// answer is the name Oblique shows (an account's username, a resource's name).
#[async_trait::async_trait]
pub trait Remote: Send + Sync {
    /// The integration type (`postgres`, `ldap`, `scim`, …).
    fn kind(&self) -> &'static str;

    /// A valid setup reaching this part of the system.
    fn config(&self) -> HashMap<String, String>;
    fn credentials(&self) -> HashMap<String, String>;
    /// The credential the server checks (`password`, `bind_password`, `bearer_token` …).
    fn secret_field(&self) -> &'static str;
    /// The config with the server's address replaced by one where nothing answers.
    fn unreachable_config(&self) -> HashMap<String, String>;

    /// Config entries making pages small (none when the limit is the server's or the
    /// connector's own), and how many accounts take a listing past them.
    fn paging(&self) -> (Vec<(&'static str, String)>, usize);
    /// An attribute (name, value) the account [`Remote::add_account`] makes for `account` has,
    /// as Oblique shows it.
    fn account_attribute(&self, account: &str) -> (&'static str, String);

    /// Adds an account whose email (where the system keeps one) is `<name>@example.org`.
    async fn add_account(&self, name: &str) -> anyhow::Result<String>;
    /// Adds `count` accounts `<prefix><n>`: the same as adding them one by one, faster.
    async fn add_accounts(&self, prefix: &str, count: usize) -> anyhow::Result<Vec<String>>;
    /// Adds a resource with these members (short names).
    async fn add_resource(&self, name: &str, members: &[&str]) -> anyhow::Result<String>;
    /// Makes `account` a member of `resource` behind Oblique's back.
    async fn add_member(&self, resource: &str, account: &str) -> anyhow::Result<()>;
    /// The usernames of the resource's members, as the remote has them now.
    async fn members(&self, resource: &str) -> anyhow::Result<BTreeSet<String>>;
    /// Adds an account the connector (or Oblique's storage) cannot take, and answers a part of
    /// the name its sync error shows. Types where every object can be read leave the check out.
    async fn add_unreadable_account(&self, name: &str) -> anyhow::Result<String>;
    /// The name a resource created for a team named `name` gets (what a connector is asked to
    /// create, so that it lands in this test's part).
    fn resource_name(&self, name: &str) -> String;
    /// Everything in this test's part of the system, in a stable text form: two snapshots are
    /// equal when nothing changed.
    async fn snapshot(&self) -> anyhow::Result<String>;
}
