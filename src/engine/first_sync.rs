//! What a first sync (an integration with no accounts and no resources yet, not a dry run)
//! remembers while listing, so that its merge can COPY the memberships straight into
//! `pulled_access` instead of staging them and resolving a million external ids in SQL.
//!
//! Accounts and resources are listed before access, and staged with ids made here: the same
//! external id listed twice gets the same ids, so whichever staged row the merge keeps, the
//! ids below are the ones it lands. Each membership is then kept as two indexes (the
//! resource's and the account's, in listing order), four bytes a pair, in a list per resource.
//! The merge writes them resource by resource, accounts in order, with ids made as they are
//! written: `pulled_access` is then filled in the order of its primary key and of the indexes
//! that start with the resource, which costs the server about a third less than the same rows
//! in listing order.
//!
//! A pair naming an account or resource that was not listed (or not storable) is not kept here:
//! it is staged as usual, and counted as unresolved by the merge, as the normal merge would.
//!
//! What is kept grows with the listing; past [`MEMORY_BUDGET`] the staging gives the first sync
//! up (`Staging::stage`): the kept pairs are staged, and the normal merge lands everything. A
//! directory of any size then costs a bounded amount of memory, a large one a slower merge.
//! A listing whose resources have member names (LDAP groups nested in others, expanded in
//! staging by `merge::member_names`) is given up the same way as soon as one is staged, and so
//! is one whose accounts' member names outgrow staging's budget for them (`stage::names`):
//! staging resolves a pair given by member name before this listing sees it, and whatever it
//! cannot resolve then is left to the merge's SQL.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use uuid::Uuid;

use crate::connectors::RemoteAccess;
use crate::engine::access_key::PairKeys;
use crate::engine::copy_rows::CopyRows;

/// Whether the integration has never had an account or a resource (neither is ever deleted
/// for good, and memberships name both): its sync has no difference to compute.
pub const IS_FIRST_SYNC: &str = "
    SELECT NOT EXISTS (SELECT 1 FROM accounts WHERE integration_id = $1)
       AND NOT EXISTS (SELECT 1 FROM resources WHERE integration_id = $1)";

/// What a first sync may keep in memory: about 100,000 accounts with a million memberships
/// (the benchmark's default size takes ~20 MiB of it).
pub const MEMORY_BUDGET: usize = 32 << 20;

/// The bytes an object kept costs beside its external id (twice): its index entry, two boxed
/// strings' headers and allocations, its ids. Counted, not measured: the budget is a bound on
/// growth, not an exact figure.
pub const BYTES_PER_OBJECT: usize = 120;

/// Objects of one kind by external id, in the order first listed.
#[derive(Default)]
struct Listed {
    index: HashMap<Box<str>, u32>,
    external_ids: Vec<Box<str>>,
    ids: Vec<Uuid>,
}

impl Listed {
    /// The object's index, and whether it was new.
    fn add(&mut self, external_id: &str) -> (usize, bool) {
        match self.index.entry(external_id.into()) {
            Entry::Occupied(known) => (*known.get() as usize, false),
            Entry::Vacant(new) => {
                let index = self.ids.len();
                new.insert(index as u32);
                self.external_ids.push(external_id.into());
                self.ids.push(Uuid::now_v7());
                (index, true)
            }
        }
    }

    fn find(&self, external_id: &str) -> Option<u32> {
        self.index.get(external_id).copied()
    }
}

/// A first sync's listing, as far as the merge needs it beyond staging.
#[derive(Default)]
pub struct FirstSyncListing {
    accounts: Listed,
    /// The id of the user made for each account (if its link needs one).
    user_ids: Vec<Uuid>,
    resources: Listed,
    /// Per resource index: `account index << 1 | inherited`, in listing order until sorted.
    members: Vec<Vec<u32>>,
    /// Pairs kept (before removing pairs listed twice).
    kept: u64,
    /// What all of it takes, about (see [`BYTES_PER_OBJECT`]).
    bytes: usize,
}

impl FirstSyncListing {
    /// The ids an account is staged with: its own, and the user's made for it.
    pub fn account_ids(&mut self, external_id: &str) -> (Uuid, Uuid) {
        let (index, new) = self.accounts.add(external_id);
        if new {
            self.user_ids.push(Uuid::now_v7());
            self.bytes += 2 * external_id.len() + BYTES_PER_OBJECT;
        }
        (self.accounts.ids[index], self.user_ids[index])
    }

    pub fn resource_id(&mut self, external_id: &str) -> Uuid {
        let (index, new) = self.resources.add(external_id);
        if new {
            self.bytes += 2 * external_id.len() + BYTES_PER_OBJECT;
        }
        self.resources.ids[index]
    }

    /// Keeps the pair (of the account `account_external_id`: staging resolved a pair by
    /// member name) when both its objects were listed; false when it must be staged.
    pub fn keep(&mut self, pair: &RemoteAccess, account_external_id: &str) -> bool {
        let (Some(resource), Some(account)) = (
            self.resources.find(&pair.resource_external_id),
            self.accounts.find(account_external_id),
        ) else {
            return false;
        };
        // Indexes above 2^31 would not fit beside the inherited bit; no listing gets there.
        if account >= 1 << 31 {
            return false;
        }
        if self.members.len() < self.resources.ids.len() {
            self.members.resize_with(self.resources.ids.len(), Vec::new);
        }
        self.members[resource as usize].push(account << 1 | u32::from(pair.inherited));
        self.kept += 1;
        self.bytes += std::mem::size_of::<u32>();
        true
    }

    pub fn kept(&self) -> u64 {
        self.kept
    }

    /// Whether what is kept outgrew [`MEMORY_BUDGET`] (`budget` in tests).
    pub fn over(&self, budget: usize) -> bool {
        self.bytes > budget
    }

    /// Sorts each resource's members by account and drops pairs listed twice; listed as direct
    /// and as inherited, the pair is direct (as in the normal merge). Returns the pairs left.
    pub fn sort_members(&mut self) -> u64 {
        let mut pairs = 0;
        for members in &mut self.members {
            members.sort_unstable();
            // Direct (bit 0) sorts before inherited for the same account: the first one stays.
            members.dedup_by_key(|member| *member >> 1);
            members.shrink_to_fit();
            pairs += members.len() as u64;
        }
        pairs
    }

    /// The kept pairs, resource by resource (after [`Self::sort_members`], each resource's
    /// accounts in order): the resource's index and the member.
    pub fn pairs(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        self.members
            .iter()
            .enumerate()
            .flat_map(|(resource, members)| members.iter().map(move |&member| (resource, member)))
    }

    /// One `pulled_access` row: id, integration, resource, account, pair key, inherited.
    pub fn pulled_access_row(
        &self,
        rows: &mut CopyRows,
        integration_id: &Uuid,
        pair_keys: &PairKeys,
        resource: usize,
        member: u32,
    ) {
        let account = (member >> 1) as usize;
        let key = pair_keys.key(
            &self.resources.external_ids[resource],
            &self.accounts.external_ids[account],
        );
        rows.row(6)
            .uuid(&Uuid::now_v7())
            .uuid(integration_id)
            .uuid(&self.resources.ids[resource])
            .uuid(&self.accounts.ids[account])
            .int8(key)
            .boolean(member & 1 == 1);
    }

    /// The same pair as a `stage_access` row (id, resource and account external ids, pair
    /// key, inherited), for the normal merge when the first sync's cannot be used.
    pub fn stage_access_row(
        &self,
        rows: &mut CopyRows,
        pair_keys: &PairKeys,
        resource: usize,
        member: u32,
    ) {
        let account = (member >> 1) as usize;
        let (resource_id, account_id) = (
            &self.resources.external_ids[resource],
            &self.accounts.external_ids[account],
        );
        rows.row(5)
            .uuid(&Uuid::now_v7())
            .text(resource_id)
            .text(account_id)
            .int8(pair_keys.key(resource_id, account_id))
            .boolean(member & 1 == 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(resource: &str, account: &str, inherited: bool) -> RemoteAccess {
        RemoteAccess {
            resource_external_id: resource.into(),
            account_external_id: account.into(),
            by_member_name: false,
            inherited,
        }
    }

    fn keep(listing: &mut FirstSyncListing, pair: RemoteAccess) -> bool {
        listing.keep(&pair, &pair.account_external_id)
    }

    #[test]
    fn an_object_listed_twice_keeps_its_ids() {
        let mut listing = FirstSyncListing::default();
        let first = listing.account_ids("a");
        assert_ne!(listing.account_ids("b"), first);
        assert_eq!(listing.account_ids("a"), first);
        let group = listing.resource_id("g");
        assert_eq!(listing.resource_id("g"), group);
    }

    #[test]
    fn what_is_kept_counts_against_the_budget() {
        let mut listing = FirstSyncListing::default();
        assert!(!listing.over(0));
        listing.account_ids("abc");
        let account = 6 + BYTES_PER_OBJECT;
        assert!(listing.over(account - 1) && !listing.over(account));
        listing.account_ids("abc");
        listing.resource_id("g");
        assert!(keep(&mut listing, pair("g", "abc", false)));
        assert!(!listing.over(account + 2 + BYTES_PER_OBJECT + 4));
        assert!(listing.over(account + 2 + BYTES_PER_OBJECT + 3));
    }

    #[test]
    fn pairs_are_sorted_deduplicated_and_direct_wins() {
        let mut listing = FirstSyncListing::default();
        for account in ["a", "b", "c"] {
            listing.account_ids(account);
        }
        listing.resource_id("g");
        listing.resource_id("h");
        assert!(keep(&mut listing, pair("h", "c", true)));
        assert!(keep(&mut listing, pair("g", "b", true)));
        assert!(keep(&mut listing, pair("g", "a", false)));
        assert!(keep(&mut listing, pair("g", "b", false)));
        assert!(keep(&mut listing, pair("g", "a", false)));
        assert!(!keep(&mut listing, pair("g", "unknown", false)));
        assert!(!keep(&mut listing, pair("unknown", "a", false)));
        assert_eq!(listing.kept(), 5);
        assert_eq!(listing.sort_members(), 3);
        let rows: Vec<_> = listing
            .pairs()
            .map(|(resource, member)| (resource, member >> 1, member & 1))
            .collect();
        assert_eq!(rows, [(0, 0, 0), (0, 1, 0), (1, 2, 1)]);
    }
}
