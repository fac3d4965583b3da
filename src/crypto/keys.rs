//! The keyring a running process seals and opens with.
//!
//! A key file is re-read when it changes (checked before sealing) and whenever a ciphertext names
//! a key the ring lacks: that is how a running replica learns the key `oblique keys rotate` put
//! in the file, without a restart. `OBLIQUE_SECRET_KEY` is fixed for the life of the process.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use uuid::Uuid;

use super::key_file::FileStamp;
use super::key_source::KeySource;
use super::sealed::{Credentials, OpenError};
use super::{KeyId, Keyring, SecretKey};

/// The process's keyring, shared by every clone. Its keys never appear in Debug or errors.
#[derive(Clone)]
pub struct Keys {
    shared: Arc<Shared>,
}

struct Shared {
    source: KeySource,
    loaded: RwLock<Loaded>,
    /// The key the database records, once followed; with `OBLIQUE_SECRET_KEY` (which cannot
    /// change under a running process) it seals instead of the first key listed.
    followed: RwLock<Option<KeyId>>,
}

struct Loaded {
    ring: Keyring,
    /// The key file as it was when read, to notice a rewrite.
    stamp: Option<FileStamp>,
}

impl Keys {
    pub fn new(source: KeySource, ring: Keyring) -> Keys {
        let stamp = FileStamp::of(&source);
        Keys {
            shared: Arc::new(Shared {
                source,
                loaded: RwLock::new(Loaded { ring, stamp }),
                followed: RwLock::new(None),
            }),
        }
    }

    /// The keys of `source`, or `None` when it has none yet.
    pub fn load(source: KeySource) -> anyhow::Result<Option<Keys>> {
        Ok(source.read()?.map(|ring| Keys::new(source, ring)))
    }

    pub fn source(&self) -> &KeySource {
        &self.shared.source
    }

    /// A copy of the ring as it is now.
    pub fn ring(&self) -> Keyring {
        self.read_loaded().ring.clone()
    }

    pub fn primary_id(&self) -> KeyId {
        self.read_loaded().ring.primary().id()
    }

    /// Seals with the primary key, after picking up a rewritten key file.
    pub fn seal(&self, owner: Uuid, credentials: &Credentials) -> anyhow::Result<Vec<u8>> {
        if self.read_loaded().stamp != FileStamp::of(&self.shared.source) {
            self.reload_logging_failure();
        }
        self.ring().seal(owner, credentials)
    }

    /// Opens with the key the ciphertext names; a key the ring lacks makes it re-read its
    /// source once (a rotation may have added it) before giving up.
    pub fn open(&self, owner: Uuid, sealed: &[u8]) -> anyhow::Result<Credentials> {
        let mut result = self.ring().open(owner, sealed);
        if let Err(OpenError::UnknownKey(_)) = result
            && self.reload_logging_failure()
        {
            result = self.ring().open(owner, sealed);
        }
        result.map_err(|error| self.explain(error))
    }

    /// Re-reads the source; answers whether the ring changed. A source that vanished or broke
    /// leaves the ring as it was: the keys in memory still work.
    pub fn reload(&self) -> anyhow::Result<bool> {
        let source = &self.shared.source;
        let stamp = FileStamp::of(source);
        let Some(ring) = source.read()? else {
            return Ok(false);
        };
        let ring = self.with_followed_first(ring);
        let mut loaded = self
            .shared
            .loaded
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let changed = ring.ids() != loaded.ring.ids();
        if changed {
            tracing::info!(
                keys = ring.describe(),
                source = %source,
                "credentials keys reloaded"
            );
        }
        *loaded = Loaded { ring, stamp };
        Ok(changed)
    }

    /// Seals from now on with the key the database records, `id`, when the ring holds it:
    /// a key file is re-read (its first key is the one `keys rotate` wrote, which it follows);
    /// other sources keep their keys and move `id` first. Answers whether the ring holds `id`;
    /// when it does not, credentials re-sealed with it will not open here.
    pub fn follow(&self, id: KeyId) -> bool {
        if self.primary_id() == id {
            return true;
        }
        if let KeySource::File(_) = self.source() {
            self.reload_logging_failure();
        } else if self.ring().get(id).is_some() {
            *self
                .shared
                .followed
                .write()
                .unwrap_or_else(PoisonError::into_inner) = Some(id);
            let mut loaded = self
                .shared
                .loaded
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            loaded.ring = self.with_followed_first(loaded.ring.clone());
            tracing::info!(key = %id, "now sealing credentials with the database's key");
        }
        self.ring().get(id).is_some()
    }

    /// `ring` with the followed key first, for sources a rotation cannot rewrite.
    fn with_followed_first(&self, ring: Keyring) -> Keyring {
        if let KeySource::File(_) = self.source() {
            return ring;
        }
        let followed = *self
            .shared
            .followed
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        match followed.and_then(|id| ring.get(id).cloned()) {
            Some(key) => ring.with_primary(key),
            None => ring,
        }
    }

    fn reload_logging_failure(&self) -> bool {
        self.reload().unwrap_or_else(|error| {
            tracing::warn!(
                error = format!("{error:#}"),
                "cannot re-read the credentials keys"
            );
            false
        })
    }

    fn read_loaded(&self) -> std::sync::RwLockReadGuard<'_, Loaded> {
        self.shared
            .loaded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn explain(&self, error: OpenError) -> anyhow::Error {
        let (source, ids) = (self.source(), self.ring().describe());
        match error {
            OpenError::Truncated => anyhow::anyhow!("stored credentials are truncated"),
            OpenError::UnknownKey(id) => anyhow::anyhow!(
                "cannot decrypt stored credentials: they are sealed with key {id}, which this \
                 process does not have (it has {ids}, from {source}); give it the keys that \
                 `oblique keys rotate` wrote"
            ),
            OpenError::Undecryptable => anyhow::anyhow!(
                "cannot decrypt stored credentials with key(s) {ids} from {source}: wrong \
                 OBLIQUE_SECRET_KEY or key file?"
            ),
        }
    }
}

impl From<SecretKey> for Keys {
    fn from(key: SecretKey) -> Keys {
        Keys::new(KeySource::Memory, Keyring::new(key))
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("source", self.source())
            .field("ids", &self.ring().ids())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::crypto::key_file::write_key_file;
    use crate::crypto::sealed;

    fn creds() -> Credentials {
        [("password".to_string(), "hunter2".to_string())]
            .into_iter()
            .collect()
    }

    #[test]
    fn a_running_process_learns_a_rotated_key_file_without_restarting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret-key");
        let old = SecretKey::generate();
        write_key_file(&path, &Keyring::new(old.clone())).unwrap();
        let keys = Keys::load(KeySource::File(path.clone())).unwrap().unwrap();
        let owner = Uuid::now_v7();

        // Another process rotates: the file now has a new key first.
        let new = SecretKey::generate();
        let rotated = keys.ring().with_primary(new.clone());
        write_key_file(&path, &rotated).unwrap();
        let under_new = rotated.seal(owner, &creds()).unwrap();

        assert_eq!(keys.open(owner, &under_new).unwrap(), creds());
        assert_eq!(keys.primary_id(), new.id());
        let sealed_now = keys.seal(owner, &creds()).unwrap();
        assert_eq!(sealed::key_id_of(&sealed_now), Some(new.id()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn seal_picks_up_a_rewritten_file_before_sealing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret-key");
        write_key_file(&path, &Keyring::new(SecretKey::generate())).unwrap();
        let keys = Keys::load(KeySource::File(path.clone())).unwrap().unwrap();
        let new = SecretKey::generate();
        write_key_file(&path, &keys.ring().with_primary(new.clone())).unwrap();
        let sealed_now = keys.seal(Uuid::now_v7(), &creds()).unwrap();
        assert_eq!(sealed::key_id_of(&sealed_now), Some(new.id()));
    }

    #[test]
    fn an_unknown_key_is_named_by_id_and_never_shown() {
        let (mine, theirs) = (SecretKey::generate(), SecretKey::generate());
        let keys = Keys::from(mine.clone());
        let owner = Uuid::now_v7();
        let sealed = sealed::seal(&theirs, owner, &creds()).unwrap();
        let message = format!("{:#}", keys.open(owner, &sealed).unwrap_err());
        assert!(message.contains(&theirs.id().to_string()), "{message}");
        assert!(message.contains(&mine.id().to_string()), "{message}");
        assert!(!message.contains(&theirs.to_hex()) && !message.contains(&mine.to_hex()));
        assert!(!format!("{keys:?}").contains(&mine.to_hex()));
    }

    #[test]
    fn following_the_database_key_seals_with_it_when_the_ring_holds_it() {
        let (old, new, unknown) = (
            SecretKey::generate(),
            SecretKey::generate(),
            SecretKey::generate(),
        );
        let keys = Keys::new(
            KeySource::Memory,
            Keyring::new(new.clone()).with_primary(old.clone()),
        );
        assert_eq!(keys.primary_id(), old.id());
        assert!(keys.follow(new.id()));
        let sealed_now = keys.seal(Uuid::now_v7(), &creds()).unwrap();
        assert_eq!(sealed::key_id_of(&sealed_now), Some(new.id()));
        assert!(!keys.follow(unknown.id()));
        assert_eq!(keys.primary_id(), new.id());
    }

    #[test]
    fn a_missing_file_has_no_keys_yet() {
        let dir = tempfile::tempdir().unwrap();
        let source = KeySource::File(dir.path().join("secret-key"));
        assert!(Keys::load(source).unwrap().is_none());
    }
}
