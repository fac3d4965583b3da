//! A list of keys: the first seals, every one opens.
//!
//! As text (the key file, `OBLIQUE_SECRET_KEY`): keys separated by newlines, commas or spaces,
//! each 64 hex digits or base64 of 32 bytes; `#` starts a comment line. A file of one key, as
//! earlier versions wrote it, is a ring of one.

use anyhow::{Context, bail};
use uuid::Uuid;

use super::sealed::{self, Credentials, OpenError};
use super::{KeyId, SecretKey};

#[derive(Clone)]
pub struct Keyring {
    /// Never empty; the first key is the primary one. No two share an id.
    keys: Vec<SecretKey>,
}

impl Keyring {
    pub fn new(primary: SecretKey) -> Self {
        Keyring {
            keys: vec![primary],
        }
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut keys = Vec::new();
        for (index, word) in text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .flat_map(|line| line.split(|c: char| c == ',' || c.is_whitespace()))
            .filter(|word| !word.is_empty())
            .enumerate()
        {
            keys.push(SecretKey::parse(word).with_context(|| format!("key {}", index + 1))?);
        }
        let Some(primary) = keys.first().cloned() else {
            bail!("no key in it");
        };
        let mut ring = Keyring::new(primary);
        keys.into_iter().skip(1).for_each(|key| ring.add(key));
        Ok(ring)
    }

    /// The ring with `key` in front; the other keys follow, `key` once.
    pub fn with_primary(&self, key: SecretKey) -> Self {
        let mut ring = Keyring::new(key);
        self.keys.iter().cloned().for_each(|key| ring.add(key));
        ring
    }

    /// Adds `key` at the end unless the ring holds it already.
    fn add(&mut self, key: SecretKey) {
        if self.get(key.id()).is_none() {
            self.keys.push(key);
        }
    }

    pub fn primary(&self) -> &SecretKey {
        &self.keys[0]
    }

    pub fn get(&self, id: KeyId) -> Option<&SecretKey> {
        self.keys.iter().find(|key| key.id() == id)
    }

    pub fn ids(&self) -> Vec<KeyId> {
        self.keys.iter().map(SecretKey::id).collect()
    }

    /// The ids as one line for messages, primary first.
    pub fn describe(&self) -> String {
        self.ids()
            .iter()
            .map(KeyId::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn seal(&self, owner: Uuid, credentials: &Credentials) -> anyhow::Result<Vec<u8>> {
        sealed::seal(self.primary(), owner, credentials)
    }

    pub fn open(&self, owner: Uuid, sealed: &[u8]) -> Result<Credentials, OpenError> {
        sealed::open(self.keys.iter(), owner, sealed)
    }

    /// The key file's text: a comment saying what it is, then one key per line, primary first.
    pub fn to_file_text(&self) -> String {
        let mut text = String::from(
            "# Oblique credentials keys: the first line seals, every line opens.\n\
             # Written by `oblique keys rotate`; every replica sharing a database needs them.\n",
        );
        for key in &self.keys {
            text.push_str(&key.to_hex());
            text.push('\n');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_one_key_or_several_in_order_without_duplicates() {
        let (a, b) = (SecretKey::generate(), SecretKey::generate());
        let one = Keyring::parse(&format!("{}\n", a.to_hex())).unwrap();
        assert_eq!(one.ids(), vec![a.id()]);
        let listed = Keyring::parse(&format!("{},{} {}", b.to_hex(), a.to_hex(), b.to_hex()));
        assert_eq!(listed.unwrap().ids(), vec![b.id(), a.id()]);
        assert!(Keyring::parse("# nothing\n\n").is_err());
        assert!(Keyring::parse("not-a-key").is_err());
    }

    #[test]
    fn file_text_reads_back_as_the_same_ring() {
        let (old, new) = (SecretKey::generate(), SecretKey::generate());
        let ring = Keyring::new(old.clone()).with_primary(new.clone());
        assert_eq!(ring.ids(), vec![new.id(), old.id()]);
        let again = Keyring::parse(&ring.to_file_text()).unwrap();
        assert_eq!(again.ids(), ring.ids());
        assert_eq!(ring.with_primary(new.clone()).ids(), ring.ids());
    }

    #[test]
    fn seals_with_the_primary_and_opens_with_any() {
        let (old, new) = (SecretKey::generate(), SecretKey::generate());
        let owner = Uuid::now_v7();
        let creds: Credentials = [("password".to_string(), "x".to_string())]
            .into_iter()
            .collect();
        let before = Keyring::new(old.clone()).seal(owner, &creds).unwrap();
        let ring = Keyring::new(old).with_primary(new.clone());
        let after = ring.seal(owner, &creds).unwrap();
        assert_eq!(sealed::key_id_of(&after), Some(new.id()));
        assert_eq!(ring.open(owner, &before).unwrap(), creds);
        assert_eq!(ring.open(owner, &after).unwrap(), creds);
    }
}
