//! Credentials keys: the start-up check against the database's key, old ciphertexts, and
//! `oblique keys rotate` while replicas serve.

mod binary;
mod rotation;
mod startup;

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use oblique::credentials::Credentials;
use oblique::crypto::key_file::write_key_file;
use oblique::crypto::{KeySource, Keyring, SecretKey};
use oblique::db::schema::integrations;
use secrecy::ExposeSecret;
use uuid::Uuid;

/// What a test compares: the credentials' values, read out of their secrets.
fn exposed(credentials: &Credentials) -> BTreeMap<String, String> {
    credentials
        .iter()
        .map(|(name, value)| (name.to_string(), value.expose_secret().to_string()))
        .collect()
}

/// A key file holding `ring`, in a directory of its own (kept while the value lives).
struct KeyFile {
    dir: tempfile::TempDir,
}

impl KeyFile {
    fn with(ring: &Keyring) -> KeyFile {
        let file = KeyFile::missing();
        write_key_file(&file.path(), ring).expect("writing key file");
        file
    }

    /// Where a key file would be; none is there.
    fn missing() -> KeyFile {
        KeyFile {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("secret-key")
    }

    fn source(&self) -> KeySource {
        KeySource::File(self.path())
    }

    /// The key lines of the file (what must never appear anywhere else).
    fn key_lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.path())
            .expect("reading key file")
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .map(str::to_string)
            .collect()
    }
}

fn ring_of(key: &SecretKey) -> Keyring {
    Keyring::new(key.clone())
}

async fn connect(url: &str) -> AsyncPgConnection {
    AsyncPgConnection::establish(url).await.expect("connect")
}

async fn sealed_of(conn: &mut AsyncPgConnection, id: Uuid) -> Vec<u8> {
    integrations::table
        .find(id)
        .select(integrations::credentials_ciphertext)
        .first::<Option<Vec<u8>>>(conn)
        .await
        .expect("integration row")
        .expect("sealed credentials")
}
