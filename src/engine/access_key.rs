//! The key of an access pair: the first 64 bits of SHA-256 over the resource's and the account's
//! external ids (a NUL between them, which PostgreSQL text cannot contain). Every pulled_access
//! row carries its pair's key, and staged pairs carry theirs, so that the merge can compare a
//! resource's listed pairs with its open rows by their count and the XOR of their keys without
//! resolving a single external id (see `merge::access`). Two different sets of pairs fold alike
//! with probability about 2^-64; such a resource would be left as it is until its next change.
//!
//! The SQL function `access_pair_key` (migration 000005) computes the same value.

use sha2::{Digest, Sha256};

pub fn access_pair_key(resource_external_id: &str, account_external_id: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update(resource_external_id.as_bytes())
        .chain_update([0u8])
        .chain_update(account_external_id.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::access_pair_key;

    /// Values computed by PostgreSQL's `access_pair_key`; tests/it/merge.rs checks more against
    /// the live function.
    #[test]
    fn matches_the_sql_function() {
        assert_eq!(access_pair_key("res-1", "acc-2"), 7630152216920243101);
        assert_eq!(access_pair_key("grüppe", "ç"), 7207362251608533475);
    }

    #[test]
    fn the_separator_keeps_pairs_apart() {
        assert_ne!(access_pair_key("ab", "c"), access_pair_key("a", "bc"));
    }
}
