//! Encryption of integration credentials at rest (AES-256-GCM).
//!
//! The key comes from `OBLIQUE_SECRET_KEY` (64 hex digits or 32 bytes of base64) or from a key
//! file made in the data directory on first start. Every replica sharing a database must use the
//! same key.

use std::{collections::BTreeMap, fs, io::Write, os::unix::fs::OpenOptionsExt, path::Path};

use aes_gcm::{
    Aes256Gcm, Key, Nonce,
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
};
use anyhow::{Context, bail};
use base64::{Engine, engine::general_purpose::STANDARD};
use uuid::Uuid;

const NONCE_LEN: usize = 12;

/// The key that seals credentials. Its bytes never leave this type (no Debug, no Display).
#[derive(Clone)]
pub struct SecretKey(Key<Aes256Gcm>);

impl SecretKey {
    /// Parses `OBLIQUE_SECRET_KEY`: 64 hex digits or standard base64 of 32 bytes.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        let bytes = hex::decode(text)
            .ok()
            .or_else(|| STANDARD.decode(text).ok())
            .context("OBLIQUE_SECRET_KEY must be 32 bytes as 64 hex digits or base64")?;
        if bytes.len() != 32 {
            bail!("OBLIQUE_SECRET_KEY must be 32 bytes, got {}", bytes.len());
        }
        Ok(SecretKey(*Key::<Aes256Gcm>::from_slice(&bytes)))
    }

    pub fn generate() -> Self {
        SecretKey(Aes256Gcm::generate_key(OsRng))
    }

    /// Reads the key file, or creates it (mode 0600) when it does not exist yet.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).with_context(|| format!("reading {}", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .with_context(|| format!("creating {}", path.display()))?;
                writeln!(file, "{}", hex::encode(key.0))?;
                tracing::info!(path = %path.display(), "created a new credentials key");
                Ok(key)
            }
            Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Seals `credentials` for the integration `owner`; the id is authenticated data, so a
    /// ciphertext copied onto another integration's row does not decrypt.
    pub fn seal(
        &self,
        owner: Uuid,
        credentials: &BTreeMap<String, String>,
    ) -> anyhow::Result<Vec<u8>> {
        let plaintext = serde_json::to_vec(credentials)?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = Aes256Gcm::new(&self.0)
            .encrypt(
                &nonce,
                Payload {
                    msg: &plaintext,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("encrypting credentials failed"))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    pub fn open(&self, owner: Uuid, sealed: &[u8]) -> anyhow::Result<BTreeMap<String, String>> {
        if sealed.len() < NONCE_LEN {
            bail!("stored credentials are truncated");
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let plaintext = Aes256Gcm::new(&self.0)
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| {
                anyhow::anyhow!(
                    "cannot decrypt stored credentials: wrong OBLIQUE_SECRET_KEY or key file?"
                )
            })?;
        Ok(serde_json::from_slice(&plaintext)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> BTreeMap<String, String> {
        BTreeMap::from([("password".to_string(), "hunter2".to_string())])
    }

    #[test]
    fn seals_and_opens() {
        let key = SecretKey::generate();
        let owner = Uuid::now_v7();
        let sealed = key.seal(owner, &creds()).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("hunter2"));
        assert_eq!(key.open(owner, &sealed).unwrap(), creds());
    }

    #[test]
    fn refuses_another_owner_or_key() {
        let key = SecretKey::generate();
        let sealed = key.seal(Uuid::now_v7(), &creds()).unwrap();
        assert!(key.open(Uuid::now_v7(), &sealed).is_err());
        assert!(SecretKey::generate().open(Uuid::now_v7(), &sealed).is_err());
    }

    #[test]
    fn key_file_is_created_once_with_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret-key");
        let first = SecretKey::load_or_create(&path).unwrap();
        let second = SecretKey::load_or_create(&path).unwrap();
        let owner = Uuid::now_v7();
        let sealed = first.seal(owner, &creds()).unwrap();
        assert_eq!(second.open(owner, &sealed).unwrap(), creds());
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn parses_hex_and_base64_keys() {
        assert!(SecretKey::parse(&"ab".repeat(32)).is_ok());
        assert!(SecretKey::parse(&STANDARD.encode([7u8; 32])).is_ok());
        assert!(SecretKey::parse("short").is_err());
    }
}
