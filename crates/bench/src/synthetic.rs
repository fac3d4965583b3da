//! A synthetic directory served through the real [`Connector`] trait. Every object is a pure
//! function of its index and the directory's version, so a listing is generated a page at a
//! time when the engine asks for it and nothing is ever held in memory as a whole.
//!
//! * accounts `acc-{i}`: username `user{i}`, email `user{i}@example.org`, a display name and
//!   `attributes_per_account` attributes of one or two values;
//! * resources `res-{j}`, type `group`;
//! * access pairs `k`: resource `k % R`, and the `(k / R)`-th member slot of that resource, mapped
//!   to an account by a bijection of `0..A`; unique because a resource's slots are distinct.
//!
//! Version 0 is the base directory. From version 1 on, 1% of accounts have another display name,
//! 1% of resources another description, and 1% of access pairs are replaced by pairs in slots
//! the base directory never uses (one removed and one added pair each).

use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Instant;

use futures::StreamExt;
use oblique::connectors::{
    Connector, ConnectorError, PageStream, RemoteAccess, RemoteAccount, RemoteResource,
};

/// Objects per listed page.
pub const PAGE_SIZE: u64 = 1000;

/// How big the directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub accounts: u64,
    pub attributes_per_account: u64,
    pub resources: u64,
    pub access: u64,
}

impl Sizes {
    /// Access pairs need twice their slots per resource in accounts (base and replaced slots).
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.accounts > 0 && self.resources > 0,
            "--accounts and --resources must be at least 1"
        );
        anyhow::ensure!(
            self.access.div_ceil(self.resources) * 2 <= self.accounts,
            "--access {} is too many for {} accounts and {} resources: each resource can have at \
             most half the accounts as members (the other half is room for the 1% changes)",
            self.access,
            self.accounts,
            self.resources
        );
        Ok(())
    }

    pub fn attribute_rows(&self) -> u64 {
        self.accounts * self.attributes_per_account
    }
}

/// The directory at one version: generates any object by index.
#[derive(Debug, Clone, Copy)]
pub struct Directory {
    pub sizes: Sizes,
    pub version: u64,
    /// Member slots per resource in the base directory.
    slots: u64,
    /// Coprime with the account count: `slot * stride + offset (mod A)` is a bijection.
    stride: u64,
}

impl Directory {
    pub fn new(sizes: Sizes, version: u64) -> Self {
        let mut stride = 7919;
        while gcd(stride, sizes.accounts) != 1 {
            stride += 1;
        }
        Directory {
            sizes,
            version,
            slots: sizes.access.div_ceil(sizes.resources),
            stride,
        }
    }

    /// Whether object `index` differs from the base directory (1% of them, from version 1 on).
    fn changed(&self, index: u64) -> bool {
        self.version > 0 && index.is_multiple_of(100)
    }

    pub fn account(&self, i: u64) -> RemoteAccount {
        let display_name = if self.changed(i) {
            format!("User {i} (renamed in v{})", self.version)
        } else {
            format!("User {i}")
        };
        RemoteAccount {
            member_names: Vec::new(),
            external_id: format!("acc-{i}"),
            username: format!("user{i}"),
            email: Some(format!("user{i}@example.org")),
            display_name,
            attributes: (0..self.sizes.attributes_per_account)
                .map(|a| (format!("attr{a}"), attribute_values(i, a)))
                .collect(),
        }
    }

    pub fn resource(&self, j: u64) -> RemoteResource {
        let description = if self.changed(j) {
            format!("Group {j} (edited in v{})", self.version)
        } else {
            format!("Group {j}")
        };
        RemoteResource {
            member_names: Vec::new(),
            external_id: format!("res-{j}"),
            resource_type: oblique::model::ResourceType::Group,
            name: format!("group-{j}"),
            description,
        }
    }

    /// The `k`-th access pair as (resource index, account index).
    pub fn access_pair(&self, k: u64) -> (u64, u64) {
        let resource = k % self.sizes.resources;
        let slot = k / self.sizes.resources;
        // Spread over every resource: pair (resource, slot) changes when their sum is 0 mod 100.
        let slot = if self.version > 0 && (slot + resource).is_multiple_of(100) {
            slot + self.slots
        } else {
            slot
        };
        let accounts = self.sizes.accounts;
        let offset = (resource % accounts) * (104_729 % accounts) % accounts;
        let account = ((slot % accounts) * (self.stride % accounts) % accounts + offset) % accounts;
        (resource, account)
    }

    pub fn access(&self, k: u64) -> RemoteAccess {
        let (resource, account) = self.access_pair(k);
        RemoteAccess {
            resource_external_id: format!("res-{resource}"),
            account_external_id: format!("acc-{account}"),
            by_member_name: false,
            inherited: false,
        }
    }
}

/// One value for even (account + attribute), two for odd.
pub fn attribute_values(i: u64, a: u64) -> Vec<String> {
    let first = format!("value-{i}-{a}");
    if (i + a).is_multiple_of(2) {
        vec![first]
    } else {
        vec![first, format!("extra-{a}")]
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Pages of `total` objects made by `item`, each page generated when it is polled.
fn pages<T: Send + 'static>(
    directory: Directory,
    total: u64,
    item: fn(&Directory, u64) -> T,
) -> PageStream<'static, T> {
    futures::stream::iter(0..total.div_ceil(PAGE_SIZE))
        .map(move |page| {
            let start = page * PAGE_SIZE;
            let end = (start + PAGE_SIZE).min(total);
            Ok((start..end)
                .map(|index| Ok(item(&directory, index)))
                .collect())
        })
        .boxed()
}

/// The directory as a connector. The moment the engine asks for the access page after the last
/// one (every listing is then staged) is recorded, splitting a run's time into listing and the
/// rest (merging, committing).
pub struct SyntheticSource {
    directory: Directory,
    listed_at: Arc<Mutex<Option<Instant>>>,
}

impl SyntheticSource {
    pub fn new(directory: Directory) -> Self {
        SyntheticSource {
            directory,
            listed_at: Arc::default(),
        }
    }

    /// Filled in when the access listing has been read to its end.
    pub fn listed_at(&self) -> Arc<Mutex<Option<Instant>>> {
        self.listed_at.clone()
    }
}

const NOT_SUPPORTED: &str = "not supported by the benchmark source";

#[async_trait::async_trait]
impl Connector for SyntheticSource {
    async fn validate(&self) -> Result<(), ConnectorError> {
        Ok(())
    }

    fn list_accounts(&self) -> PageStream<'_, RemoteAccount> {
        let d = self.directory;
        pages(d, d.sizes.accounts, Directory::account)
    }

    fn list_resources(&self) -> PageStream<'_, RemoteResource> {
        let d = self.directory;
        pages(d, d.sizes.resources, Directory::resource)
    }

    fn list_access(&self) -> PageStream<'_, RemoteAccess> {
        let d = self.directory;
        let listed_at = self.listed_at.clone();
        let end = futures::stream::poll_fn(move |_| {
            if let Ok(mut at) = listed_at.lock() {
                at.get_or_insert_with(Instant::now);
            }
            Poll::Ready(None)
        });
        pages(d, d.sizes.access, Directory::access)
            .chain(end)
            .boxed()
    }

    async fn add_member(&self, _resource: &str, _account: &str) -> Result<(), ConnectorError> {
        Err(ConnectorError::Remote(NOT_SUPPORTED.into()))
    }

    async fn remove_member(&self, _resource: &str, _account: &str) -> Result<(), ConnectorError> {
        Err(ConnectorError::Remote(NOT_SUPPORTED.into()))
    }

    async fn create_resource(&self, _name: &str) -> Result<RemoteResource, ConnectorError> {
        Err(ConnectorError::Remote(NOT_SUPPORTED.into()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn sizes() -> Sizes {
        Sizes {
            accounts: 1000,
            attributes_per_account: 5,
            resources: 30,
            access: 10_000,
        }
    }

    fn pairs(directory: &Directory) -> HashSet<(u64, u64)> {
        (0..directory.sizes.access)
            .map(|k| directory.access_pair(k))
            .collect()
    }

    #[test]
    fn access_pairs_are_unique_and_one_percent_are_replaced() {
        let base = pairs(&Directory::new(sizes(), 0));
        let next = pairs(&Directory::new(sizes(), 1));
        assert_eq!(base.len(), 10_000);
        assert_eq!(next.len(), 10_000);
        let removed = base.difference(&next).count();
        assert_eq!(removed, next.difference(&base).count());
        assert!((90..=110).contains(&removed), "{removed} replaced");
        assert!(base.iter().all(|(r, a)| *r < 30 && *a < 1000));
    }

    #[test]
    fn one_percent_of_accounts_and_resources_change() {
        let (base, next) = (Directory::new(sizes(), 0), Directory::new(sizes(), 1));
        let accounts = (0..1000)
            .filter(|&i| base.account(i) != next.account(i))
            .count();
        let resources = (0..30)
            .filter(|&j| base.resource(j) != next.resource(j))
            .count();
        assert_eq!((accounts, resources), (10, 1));
        assert_eq!(base.account(3).attributes.len(), 5);
    }

    #[test]
    fn too_many_pairs_are_refused() {
        let mut too_many = sizes();
        too_many.access = 30 * 501;
        assert!(too_many.check().is_err());
        assert!(sizes().check().is_ok());
    }
}
