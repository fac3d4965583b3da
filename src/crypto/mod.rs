//! Encryption of integration credentials at rest (AES-256-GCM), and the keys that do it.
//!
//! A process holds a keyring ([`Keys`]): the first key seals, every key opens. Each ciphertext
//! names the key that sealed it (see [`sealed`]), so a key can be rotated while replicas run:
//! they open old and new ciphertexts alike, and re-read their key source when they meet a key
//! they do not know. The keys come from `OBLIQUE_SECRET_KEY` or from a key file.

pub mod key_file;
pub mod key_source;
pub mod keyring;
pub mod keys;
pub mod sealed;

use std::fmt;

use aes_gcm::{
    Aes256Gcm, Key,
    aead::{KeyInit, OsRng},
};
use anyhow::{Context, bail};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};

pub use key_source::KeySource;
pub use keyring::Keyring;
pub use keys::Keys;

/// Fixed labels: the id and the check value of a key are hashes of the key under these, so
/// neither says anything usable about the key, and the two never coincide.
const KEY_ID_LABEL: &[u8] = b"oblique/credentials-key/id/v1\0";
const KEY_CHECK_LABEL: &[u8] = b"oblique/credentials-key/check/v1\0";

/// A key's short public name: the first 8 bytes of a hash of the key. It is written into every
/// ciphertext and shown in messages, so operators can tell keys apart without seeing them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 8]);

impl KeyId {
    pub fn parse(text: &str) -> Option<KeyId> {
        let bytes = hex::decode(text).ok()?;
        Some(KeyId(bytes.try_into().ok()?))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// One key that seals credentials. Its bytes never leave this type (no Debug, no Display); only
/// its id and check value do.
#[derive(Clone)]
pub struct SecretKey {
    key: Key<Aes256Gcm>,
    id: KeyId,
}

impl SecretKey {
    fn from_bytes(bytes: &[u8]) -> anyhow::Result<Self> {
        if bytes.len() != 32 {
            bail!("a credentials key must be 32 bytes, got {}", bytes.len());
        }
        let key = *Key::<Aes256Gcm>::from_slice(bytes);
        let digest = Sha256::new()
            .chain_update(KEY_ID_LABEL)
            .chain_update(key)
            .finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        Ok(SecretKey { key, id: KeyId(id) })
    }

    /// Parses one key: 64 hex digits or standard base64 of 32 bytes.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        let bytes = hex::decode(text)
            .ok()
            .or_else(|| STANDARD.decode(text).ok())
            .context("a credentials key must be 32 bytes as 64 hex digits or base64")?;
        Self::from_bytes(&bytes)
    }

    pub fn generate() -> Self {
        let key = Aes256Gcm::generate_key(OsRng);
        Self::from_bytes(&key).expect("a generated key has 32 bytes")
    }

    pub fn id(&self) -> KeyId {
        self.id
    }

    /// What the database stores to recognise this key: a hash under a label of its own, so it
    /// proves a process has the key without revealing it.
    pub fn check_value(&self) -> Vec<u8> {
        Sha256::new()
            .chain_update(KEY_CHECK_LABEL)
            .chain_update(self.key)
            .finalize()
            .to_vec()
    }

    /// The key as the key file holds it. Only for writing that file.
    pub(crate) fn to_hex(&self) -> String {
        hex::encode(self.key)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hex_and_base64_keys_to_the_same_id() {
        let hex_key = SecretKey::parse(&"07".repeat(32)).unwrap();
        let base64_key = SecretKey::parse(&STANDARD.encode([7u8; 32])).unwrap();
        assert_eq!(hex_key.id(), base64_key.id());
        assert!(SecretKey::parse("short").is_err());
        assert!(SecretKey::parse(&"ab".repeat(31)).is_err());
    }

    #[test]
    fn id_and_check_value_differ_per_key_and_never_show_the_key() {
        let (a, b) = (SecretKey::generate(), SecretKey::generate());
        assert_ne!(a.id(), b.id());
        assert_ne!(a.check_value(), b.check_value());
        assert_eq!(a.check_value(), a.clone().check_value());
        assert!(!hex::encode(a.check_value()).contains(&a.to_hex()));
        assert!(!a.to_hex().contains(&a.id().to_string()));
        assert_eq!(KeyId::parse(&a.id().to_string()), Some(a.id()));
    }
}
