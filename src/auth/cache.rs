//! A short memory of successful token look-ups, so that a busy caller does not cost a database
//! round trip per call and a starved pool does not lock out callers it saw a moment ago.
//!
//! Entries are keyed by the SHA-256 of the whole presented token: the token itself is never
//! kept. They live [`TokenCache::TTL`] at most, which bounds how long a revoked token keeps
//! working; the size is bounded too, so callers cannot grow it without limit. Only successes are
//! remembered: a flood of made-up tokens cannot evict the real ones.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::Principal;

/// The SHA-256 of a presented token.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenKey([u8; 32]);

impl TokenKey {
    pub fn of(presented: &SecretString) -> Self {
        TokenKey(Sha256::digest(presented.expose_secret().as_bytes()).into())
    }
}

struct Entry {
    principal: Principal,
    stored_at: Instant,
}

pub struct TokenCache {
    entries: Mutex<HashMap<TokenKey, Entry>>,
    ttl: Duration,
    capacity: usize,
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache::new(TokenCache::TTL, TokenCache::CAPACITY)
    }
}

impl TokenCache {
    /// A revocation takes effect within this (the promise is 5 s; this leaves a margin).
    pub const TTL: Duration = Duration::from_secs(3);
    /// Distinct tokens remembered at once; far more than the tokens an installation has.
    pub const CAPACITY: usize = 10_000;

    pub fn new(ttl: Duration, capacity: usize) -> Self {
        TokenCache {
            entries: Mutex::new(HashMap::new()),
            ttl,
            capacity: capacity.max(1),
        }
    }

    /// The principal of a token authenticated less than the TTL ago.
    pub fn get(&self, key: &TokenKey) -> Option<Principal> {
        self.get_at(key, Instant::now())
    }

    pub fn insert(&self, key: TokenKey, principal: Principal) {
        self.insert_at(key, principal, Instant::now());
    }

    // The clock is a parameter below so that tests can name instants instead of sleeping.

    fn get_at(&self, key: &TokenKey, now: Instant) -> Option<Principal> {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match entries.get(key) {
            Some(entry) if self.is_fresh(entry, now) => Some(entry.principal.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    fn insert_at(&self, key: TokenKey, principal: Principal, now: Instant) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, entry| self.is_fresh(entry, now));
            if entries.len() >= self.capacity
                && let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, entry)| entry.stored_at)
                    .map(|(key, _)| *key)
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(
            key,
            Entry {
                principal,
                stored_at: now,
            },
        );
    }

    fn is_fresh(&self, entry: &Entry, now: Instant) -> bool {
        now.saturating_duration_since(entry.stored_at) < self.ttl
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .lock()
            .map(|entries| entries.len())
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn principal(name: &str) -> Principal {
        Principal {
            name: name.into(),
            role: Role::Viewer,
        }
    }

    fn key(token: &str) -> TokenKey {
        TokenKey::of(&SecretString::from(token.to_string()))
    }

    #[test]
    fn remembers_for_the_ttl_only() {
        let ttl = Duration::from_secs(3);
        let cache = TokenCache::new(ttl, 10);
        let stored = Instant::now();
        cache.insert_at(key("a"), principal("a"), stored);
        assert_eq!(cache.get_at(&key("a"), stored), Some(principal("a")));
        let last_moment = stored + ttl - Duration::from_millis(1);
        assert_eq!(cache.get_at(&key("a"), last_moment), Some(principal("a")));
        assert_eq!(cache.get_at(&key("b"), stored), None);
        assert_eq!(
            cache.get_at(&key("a"), stored + ttl),
            None,
            "an expired entry is gone"
        );
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn never_grows_past_its_capacity() {
        let cache = TokenCache::new(Duration::from_secs(60), 3);
        let start = Instant::now();
        let at = |n: u64| start + Duration::from_millis(n);
        for n in 0..10 {
            cache.insert_at(key(&n.to_string()), principal(&n.to_string()), at(n));
        }
        assert_eq!(cache.len(), 3);
        let kept: Vec<_> = (0..10)
            .filter(|n| cache.get_at(&key(&n.to_string()), at(10)).is_some())
            .collect();
        assert_eq!(kept, [7, 8, 9], "the oldest went first");
    }

    #[test]
    fn keys_are_hashes_not_tokens() {
        let TokenKey(bytes) = key("obl_secret");
        assert!(!bytes.windows(6).any(|w| w == b"secret"));
        assert!(key("a") != key("b"));
    }
}
