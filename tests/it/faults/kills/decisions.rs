//! The push side of the kill test: groups switched to push mode (adopting their members), then
//! batches of grants and revocations made through the API, each remembered as the remote change
//! it must cause once and only once.

use std::collections::{BTreeMap, BTreeSet};

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use oblique::pb;
use rand::Rng;
use rand::rngs::StdRng;

use super::big_remote::{self, PUSH_GROUPS, USERS, group, user};
use crate::harness::Clients;
use crate::harness::remote::RemoteRoles;

/// Per group and batch: users granted (not members before) and adopted members revoked.
const ADDS: usize = 5;
const REMOVES: usize = 5;

/// One remote change a decision of the test causes: a member added to or removed from a group,
/// by external ids (PostgreSQL role oids).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pushed {
    pub resource_external_id: String,
    pub account_external_id: String,
    /// `add` or `remove`.
    pub op: &'static str,
}

struct Account {
    user_id: String,
    external_id: String,
}

struct Group {
    name: String,
    resource_id: String,
    external_id: String,
    /// Members as decided now (short role names).
    desired: BTreeSet<String>,
    /// Adopted members' grants, for revoking them.
    adopted: BTreeMap<String, String>,
    /// Users a decision of the test already named: never named twice, so that each remote
    /// change is one of its own.
    touched: BTreeSet<String>,
}

pub struct PushGroups {
    groups: Vec<Group>,
    accounts: BTreeMap<String, Account>,
    /// Every remote change the decisions so far cause.
    pub expected: Vec<Pushed>,
}

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    external_id: String,
}

impl PushGroups {
    /// Switches the first [`PUSH_GROUPS`] groups to push mode; their members, as listed at the
    /// switch, become their decided members.
    pub async fn adopt(clients: &Clients, database_url: &str, roles: &RemoteRoles) -> PushGroups {
        let mut conn = AsyncPgConnection::establish(database_url)
            .await
            .expect("connecting to Oblique's database");
        let prefixed = |short: &str| roles.name(short);
        let short = |name: &str| name[roles.prefix.len() + 1..].to_string();
        let accounts: Vec<Row> = diesel::sql_query(
            "SELECT username AS name, user_id::text AS id, external_id FROM accounts
             WHERE deleted_at IS NULL AND user_id IS NOT NULL",
        )
        .load(&mut conn)
        .await
        .expect("accounts");
        let accounts: BTreeMap<String, Account> = accounts
            .into_iter()
            .map(|row| {
                let account = Account {
                    user_id: row.id,
                    external_id: row.external_id,
                };
                (short(&row.name), account)
            })
            .collect();
        let by_user: BTreeMap<&str, &str> = accounts
            .iter()
            .map(|(name, account)| (account.user_id.as_str(), name.as_str()))
            .collect();
        let names: Vec<String> = (0..PUSH_GROUPS).map(|g| prefixed(&group(g))).collect();
        let resources: Vec<Row> = diesel::sql_query(
            "SELECT name, id::text AS id, external_id FROM resources
             WHERE deleted_at IS NULL AND name = ANY($1) ORDER BY name",
        )
        .bind::<diesel::sql_types::Array<Text>, _>(&names)
        .load(&mut conn)
        .await
        .expect("resources");
        assert_eq!(resources.len(), PUSH_GROUPS, "the groups to push to");
        let mut groups = Vec::new();
        for resource in resources {
            clients
                .integrations
                .clone()
                .set_resource_sync_mode(pb::SetResourceSyncModeRequest {
                    resource_id: resource.id.clone(),
                    sync_mode: pb::SyncMode::Push.into(),
                })
                .await
                .expect("switching to push mode");
            let adopted: BTreeMap<String, String> = access(clients, &resource.id)
                .await
                .into_iter()
                .map(|entry| {
                    let name = by_user
                        .get(entry.user_id.as_str())
                        .unwrap_or_else(|| panic!("an adopted user without an account: {entry:?}"));
                    (name.to_string(), entry.grant_id)
                })
                .collect();
            groups.push(Group {
                name: short(&resource.name),
                resource_id: resource.id,
                external_id: resource.external_id,
                desired: adopted.keys().cloned().collect(),
                adopted,
                touched: BTreeSet::new(),
            });
        }
        let push = PushGroups {
            groups,
            accounts,
            expected: Vec::new(),
        };
        assert_eq!(
            push.desired(),
            big_remote::members(roles, &push.names()).await,
            "adopted members are the remote's"
        );
        push
    }

    /// The push-mode groups' short names.
    pub fn names(&self) -> Vec<String> {
        self.groups.iter().map(|g| g.name.clone()).collect()
    }

    /// Members of each push-mode group as decided.
    pub fn desired(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.groups
            .iter()
            .map(|g| (g.name.clone(), g.desired.clone()))
            .collect()
    }

    /// In every push-mode group, grants [`ADDS`] users and revokes [`REMOVES`] adopted
    /// members, none named by an earlier decision. Returns how many remote changes they ask.
    pub async fn decide(&mut self, clients: &Clients, rng: &mut StdRng) -> usize {
        let mut decided = 0;
        for group in &mut self.groups {
            for _ in 0..ADDS {
                let name = loop {
                    let name = user(rng.gen_range(1..=USERS));
                    if !group.desired.contains(&name) && !group.touched.contains(&name) {
                        break name;
                    }
                };
                let account = &self.accounts[&name];
                clients
                    .access
                    .clone()
                    .grant_access(pb::GrantAccessRequest {
                        resource_id: group.resource_id.clone(),
                        user_id: account.user_id.clone(),
                        reason: "kill test".into(),
                        expires_at: None,
                    })
                    .await
                    .expect("grant");
                self.expected.push(Pushed {
                    resource_external_id: group.external_id.clone(),
                    account_external_id: account.external_id.clone(),
                    op: "add",
                });
                group.desired.insert(name.clone());
                group.touched.insert(name);
            }
            let revocable: Vec<String> = group
                .adopted
                .keys()
                .filter(|name| !group.touched.contains(*name))
                .cloned()
                .collect();
            assert!(revocable.len() >= REMOVES, "adopted members left to revoke");
            for _ in 0..REMOVES {
                let name = loop {
                    let name = &revocable[rng.gen_range(0..revocable.len())];
                    if !group.touched.contains(name) {
                        break name.clone();
                    }
                };
                clients
                    .access
                    .clone()
                    .revoke_access(pb::RevokeAccessRequest {
                        grant_id: group.adopted[&name].clone(),
                        reason: "kill test".into(),
                    })
                    .await
                    .expect("revoke");
                self.expected.push(Pushed {
                    resource_external_id: group.external_id.clone(),
                    account_external_id: self.accounts[&name].external_id.clone(),
                    op: "remove",
                });
                group.desired.remove(&name);
                group.touched.insert(name);
            }
            decided += ADDS + REMOVES;
        }
        decided
    }
}

/// The resource's effective access (one page: a group has a few hundred members at most).
async fn access(clients: &Clients, resource_id: &str) -> Vec<pb::AccessEntry> {
    let listed = clients
        .access
        .clone()
        .list_access(pb::ListAccessRequest {
            resource_id: resource_id.into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list access")
        .into_inner();
    assert!(listed.next_page_token.is_empty(), "more than a page");
    listed.entries
}
