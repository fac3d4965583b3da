//! The key of an access pair: the first 64 bits of SHA-256 over the integration's secret, the
//! resource's and the account's external ids (a NUL between them, which PostgreSQL text cannot
//! contain). Every pulled_access row carries its pair's key, and staged pairs carry theirs, so
//! that the merge can compare a resource's listed pairs with its open rows by their count and the
//! XOR of their keys without resolving a single external id (see `merge::access`).
//!
//! Why keyed: the remote chooses the external ids. With keys anyone could compute, whoever
//! controls a remote could pick ids whose keys fold like the stored rows (a birthday search over
//! 64 bits, or a few dozen ids and some linear algebra over XOR) and so hide members from
//! Oblique. The secret (`integrations.access_key_secret`, 64 random bytes) never leaves
//! Oblique's database, so two different sets of pairs fold alike with probability about 2^-64
//! whatever the remote does; such a resource would be left as it is until its next change. A
//! pair listed twice counts twice but cancels in the XOR, so its fold differs and the resource
//! is compared pair by pair (where it opens one row).
//!
//! The SQL function `access_pair_key(secret, resource, account)` (migration 000014) computes
//! the same value.

use sha2::{Digest, Sha256};

/// The bytes of a secret: one SHA-256 block, so that [`PairKeys`] hashes it once and each pair
/// costs what an unkeyed key did (one block for ids of up to 54 bytes together).
pub const SECRET_BYTES: usize = 64;

pub fn access_pair_key(
    secret: &[u8],
    resource_external_id: &str,
    account_external_id: &str,
) -> i64 {
    PairKeys::new(secret).key(resource_external_id, account_external_id)
}

/// Keys pairs with one secret: the hash state after the secret, resumed for each pair.
#[derive(Clone)]
pub struct PairKeys {
    after_secret: Sha256,
}

impl PairKeys {
    pub fn new(secret: &[u8]) -> PairKeys {
        PairKeys {
            after_secret: Sha256::new().chain_update(secret),
        }
    }

    pub fn key(&self, resource_external_id: &str, account_external_id: &str) -> i64 {
        let digest = self
            .after_secret
            .clone()
            .chain_update(resource_external_id.as_bytes())
            .chain_update([0u8])
            .chain_update(account_external_id.as_bytes())
            .finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        i64::from_be_bytes(first)
    }
}

#[cfg(test)]
mod tests {
    use super::{PairKeys, SECRET_BYTES, access_pair_key};

    #[test]
    fn the_separator_keeps_pairs_apart() {
        let secret = [7u8; SECRET_BYTES];
        assert_ne!(
            access_pair_key(&secret, "ab", "c"),
            access_pair_key(&secret, "a", "bc")
        );
    }

    #[test]
    fn another_secret_gives_another_key() {
        assert_ne!(
            access_pair_key(&[1u8; SECRET_BYTES], "res-1", "acc-2"),
            access_pair_key(&[2u8; SECRET_BYTES], "res-1", "acc-2")
        );
    }

    #[test]
    fn resumed_state_keys_like_a_fresh_hash() {
        use sha2::{Digest, Sha256};
        let secret = [9u8; SECRET_BYTES];
        let keys = PairKeys::new(&secret);
        for (resource, account) in [("a", "b"), ("", ""), ("grüppe", "ç"), ("a", "b")] {
            let whole = Sha256::new()
                .chain_update(secret)
                .chain_update(resource.as_bytes())
                .chain_update([0u8])
                .chain_update(account.as_bytes())
                .finalize();
            let expected = i64::from_be_bytes(whole[..8].try_into().unwrap());
            assert_eq!(keys.key(resource, account), expected);
        }
    }
}
