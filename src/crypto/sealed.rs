//! The stored form of sealed credentials.
//!
//! Current format: `VERSION (1 byte) | key id (8) | nonce (12) | AES-256-GCM ciphertext + tag`.
//! The integration's id and the header are authenticated data: a ciphertext copied onto another
//! integration's row, or given another key id, does not open.
//!
//! Legacy format (before key ids): `nonce (12) | ciphertext + tag`, with the integration's id as
//! authenticated data. It still opens, with whichever key of the ring fits; rotation rewrites it.
//! A legacy ciphertext starts with a random byte, so one in 256 looks like a current header:
//! opening falls back to the legacy reading whenever the current one fails.

use std::collections::BTreeMap;

use aes_gcm::{
    Aes256Gcm, Nonce,
    aead::{Aead, AeadCore, OsRng, Payload},
};
use secrecy::ExposeSecret;
use secrecy::zeroize::Zeroizing;
use uuid::Uuid;

use super::{KeyId, SecretKey};
pub use crate::credentials::Credentials;

pub const VERSION: u8 = 1;
const ID_LEN: usize = 8;
const HEADER_LEN: usize = 1 + ID_LEN;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Why a ciphertext did not open. Never says anything about the plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// Too short to be any ciphertext of ours.
    Truncated,
    /// It names a key the ring does not hold (and is no legacy ciphertext the ring opens).
    UnknownKey(KeyId),
    /// No key of the ring opens it.
    Undecryptable,
}

/// The key id a current-format ciphertext names; `None` for a legacy one (or garbage). A legacy
/// ciphertext that happens to start with the version byte answers an id too: callers use this
/// to count and select, and only opening tells for sure.
pub fn key_id_of(sealed: &[u8]) -> Option<KeyId> {
    if sealed.len() < HEADER_LEN + NONCE_LEN + TAG_LEN || sealed[0] != VERSION {
        return None;
    }
    let mut id = [0u8; ID_LEN];
    id.copy_from_slice(&sealed[1..HEADER_LEN]);
    Some(KeyId(id))
}

/// The first bytes of every ciphertext `key` seals: for finding rows not yet sealed with it.
pub fn header_of(key: KeyId) -> Vec<u8> {
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.push(VERSION);
    header.extend_from_slice(&key.0);
    header
}

pub fn seal(key: &SecretKey, owner: Uuid, credentials: &Credentials) -> anyhow::Result<Vec<u8>> {
    let plaintext = plaintext_of(credentials)?;
    let header = header_of(key.id());
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let ciphertext = key
        .cipher()
        .encrypt(
            &nonce,
            Payload {
                msg: &plaintext,
                aad: &authenticated_data(&header, owner),
            },
        )
        .map_err(|_| anyhow::anyhow!("encrypting credentials failed"))?;
    let mut sealed = header;
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&ciphertext);
    Ok(sealed)
}

/// Opens `sealed` with the key it names among `keys`, or, for a legacy ciphertext, with the
/// first of `keys` that fits.
pub fn open<'a>(
    keys: impl IntoIterator<Item = &'a SecretKey> + Clone,
    owner: Uuid,
    sealed: &[u8],
) -> Result<Credentials, OpenError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(OpenError::Truncated);
    }
    let mut failure = OpenError::Undecryptable;
    if let Some(id) = key_id_of(sealed) {
        match keys.clone().into_iter().find(|key| key.id() == id) {
            Some(key) => {
                let (header, rest) = sealed.split_at(HEADER_LEN);
                if let Some(credentials) = decrypt(key, rest, &authenticated_data(header, owner)) {
                    return Ok(credentials);
                }
            }
            None => failure = OpenError::UnknownKey(id),
        }
    }
    keys.into_iter()
        .find_map(|key| decrypt(key, sealed, owner.as_bytes()))
        .ok_or(failure)
}

/// Seals like the format before key ids; only for proving that such ciphertexts still open.
#[doc(hidden)]
pub fn seal_legacy(
    key: &SecretKey,
    owner: Uuid,
    credentials: &Credentials,
) -> anyhow::Result<Vec<u8>> {
    let plaintext = plaintext_of(credentials)?;
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let ciphertext = key
        .cipher()
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

/// The credentials as the JSON object that gets sealed, in a buffer wiped when dropped. It is
/// allocated once, large enough for the worst case of JSON escaping, so that growing it never
/// leaves an unwiped copy behind.
fn plaintext_of(credentials: &Credentials) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let exposed: BTreeMap<&str, &str> = credentials
        .iter()
        .map(|(name, value)| (name, value.expose_secret()))
        .collect();
    let mut plaintext = Zeroizing::new(Vec::with_capacity(worst_case_json_len(&exposed)));
    serde_json::to_writer(&mut *plaintext, &exposed)?;
    Ok(plaintext)
}

/// The longest JSON `exposed` can serialize to: each byte escapes to at most 6 (`\u001f`), each
/// entry adds two pairs of quotes, a colon and a comma, the object its braces.
fn worst_case_json_len(exposed: &BTreeMap<&str, &str>) -> usize {
    2 + exposed
        .iter()
        .map(|(name, value)| 6 * (name.len() + value.len()) + 6)
        .sum::<usize>()
}

fn authenticated_data(header: &[u8], owner: Uuid) -> Vec<u8> {
    [header, owner.as_bytes()].concat()
}

/// `nonce | ciphertext` opened under `aad`; `None` when the key or the data do not fit.
fn decrypt(key: &SecretKey, nonce_and_ciphertext: &[u8], aad: &[u8]) -> Option<Credentials> {
    if nonce_and_ciphertext.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, ciphertext) = nonce_and_ciphertext.split_at(NONCE_LEN);
    let plaintext = Zeroizing::new(
        key.cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .ok()?,
    );
    // Each value moves into its secret as parsed, without another copy.
    let opened: BTreeMap<String, String> = serde_json::from_slice(&plaintext).ok()?;
    Some(opened.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        [("password".to_string(), "hunter2".to_string())]
            .into_iter()
            .collect()
    }

    #[test]
    fn seals_with_the_key_id_in_front_and_opens() {
        let key = SecretKey::generate();
        let owner = Uuid::now_v7();
        let sealed = seal(&key, owner, &creds()).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("hunter2"));
        assert_eq!(key_id_of(&sealed), Some(key.id()));
        assert_eq!(&sealed[..HEADER_LEN], header_of(key.id()).as_slice());
        assert_eq!(open([&key], owner, &sealed), Ok(creds()));
    }

    #[test]
    fn opens_across_key_ids_with_the_key_each_names() {
        let (old, new) = (SecretKey::generate(), SecretKey::generate());
        let owner = Uuid::now_v7();
        let under_old = seal(&old, owner, &creds()).unwrap();
        let under_new = seal(&new, owner, &creds()).unwrap();
        let ring = [&new, &old];
        assert_eq!(open(ring, owner, &under_old), Ok(creds()));
        assert_eq!(open(ring, owner, &under_new), Ok(creds()));
        assert_eq!(
            open([&new], owner, &under_old),
            Err(OpenError::UnknownKey(old.id()))
        );
    }

    #[test]
    fn refuses_another_owner_key_or_header() {
        let key = SecretKey::generate();
        let owner = Uuid::now_v7();
        let sealed = seal(&key, owner, &creds()).unwrap();
        assert_eq!(
            open([&key], Uuid::now_v7(), &sealed),
            Err(OpenError::Undecryptable)
        );
        // Claiming another key id breaks the authenticated header.
        let other = SecretKey::generate();
        let mut relabelled = sealed.clone();
        relabelled[1..HEADER_LEN].copy_from_slice(&other.id().0);
        assert_eq!(
            open([&key, &other], owner, &relabelled),
            Err(OpenError::Undecryptable)
        );
        assert_eq!(
            open([&key], owner, &sealed[..20]),
            Err(OpenError::Truncated)
        );
    }

    #[test]
    fn the_sealed_plaintext_is_the_json_of_before_written_without_regrowing() {
        let nasty = "\u{1}\"\\ pässwörd 🔑\n\u{7f}".repeat(40);
        let credentials: Credentials = [
            ("password".to_string(), nasty.clone()),
            ("token".to_string(), "t".to_string()),
        ]
        .into_iter()
        .collect();
        let plaintext = plaintext_of(&credentials).unwrap();
        // Ciphertexts sealed when credentials were plain strings hold this same JSON.
        let plain = BTreeMap::from([("password", nasty.as_str()), ("token", "t")]);
        assert_eq!(*plaintext, serde_json::to_vec(&plain).unwrap());
        // Still the buffer first allocated: no reallocation left an unwiped copy behind.
        assert_eq!(plaintext.capacity(), worst_case_json_len(&plain));

        let key = SecretKey::generate();
        let owner = Uuid::now_v7();
        let sealed = seal(&key, owner, &credentials).unwrap();
        assert_eq!(open([&key], owner, &sealed), Ok(credentials));
    }

    #[test]
    fn legacy_ciphertexts_still_open_with_any_key_of_the_ring() {
        let (old, new) = (SecretKey::generate(), SecretKey::generate());
        let owner = Uuid::now_v7();
        // Enough samples that some start with the version byte, like 1 in 256 real ones.
        for _ in 0..600 {
            let legacy = seal_legacy(&old, owner, &creds()).unwrap();
            assert_eq!(open([&new, &old], owner, &legacy), Ok(creds()));
            assert!(open([&new], owner, &legacy).is_err());
        }
    }
}
