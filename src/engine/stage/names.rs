//! The accounts' member names (see `RemoteAccount::member_names`), kept while listing so that
//! pairs given by member name can be staged under the account's external id, keyed in Rust,
//! as the LDAP connector's own index did: SQL would pay ~7 µs a pair to key them again
//! (`merge::member_names`). What is kept is bounded: past [`BUDGET`] the index is dropped and
//! every such pair is resolved in SQL instead, with the same result.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// What the names may take: about 150,000 users of a directory like the benchmark's.
pub const BUDGET: usize = 32 << 20;

/// The bytes a name or an external id costs beside its text: its map or list entry and its
/// allocation's header, counted, not measured.
const OVERHEAD: usize = 48;

/// Stands for "more than one account has this name": a pair naming it names no one.
const AMBIGUOUS: u32 = u32::MAX;

#[derive(Default)]
pub struct MemberNames {
    by_name: HashMap<Box<str>, u32>,
    external_ids: Vec<Box<str>>,
    bytes: usize,
}

impl MemberNames {
    /// Notes the account's names; a name another account has already becomes ambiguous.
    pub fn add(&mut self, external_id: &str, names: &[String]) {
        if names.is_empty() {
            return;
        }
        let index = self.external_ids.len() as u32;
        let mut added = false;
        for name in names {
            match self.by_name.entry(name.as_str().into()) {
                Entry::Vacant(new) => {
                    new.insert(index);
                    self.bytes += name.len() + OVERHEAD;
                    added = true;
                }
                Entry::Occupied(mut known) => {
                    let other = *known.get();
                    if other != AMBIGUOUS && *self.external_ids[other as usize] != *external_id {
                        known.insert(AMBIGUOUS);
                    }
                }
            }
        }
        if added {
            self.external_ids.push(external_id.into());
            self.bytes += external_id.len() + OVERHEAD;
        }
    }

    /// The external id of the one account named `name`.
    pub fn find(&self, name: &str) -> Option<&str> {
        let index = *self.by_name.get(name)?;
        (index != AMBIGUOUS).then(|| &*self.external_ids[index as usize])
    }

    pub fn over(&self, budget: usize) -> bool {
        self.bytes > budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_resolves_to_the_one_account_that_has_it() {
        let mut names = MemberNames::default();
        names.add("a", &["dn:a".into(), "uid:x".into()]);
        names.add("b", &["dn:b".into(), "uid:x".into()]);
        names.add("b", &["dn:b".into()]);
        names.add("c", &["uid:x".into()]);
        assert_eq!(names.find("dn:a"), Some("a"));
        assert_eq!(names.find("dn:b"), Some("b"), "listed twice: one account");
        assert_eq!(names.find("uid:x"), None, "three accounts have it");
        assert_eq!(names.find("dn:c"), None);
        assert!(!names.over(1000) && names.over(10));
    }
}
