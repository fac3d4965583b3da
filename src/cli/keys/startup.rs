//! The start-up check: a process serves only with the key that sealed the database's credentials.
//!
//! Without it, a replica started without the key made a key of its own and then failed every
//! sync with "cannot decrypt". Now the database keeps the key's id and check value (never the
//! key); the first process on an empty database records its key, and any other key is refused
//! before the process serves anything.

use anyhow::bail;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::crypto::key_file::write_key_file;
use crate::crypto::{KeyId, KeySource, Keyring, Keys, SecretKey};
use crate::db::credentials_key::{self, KeyCheckRow};

/// The keys to serve with: those of `source`, checked against (or, on a database that has no
/// key check yet, recorded as) the database's key. A key file is made only when the database has
/// neither a key check nor credentials, so a replica missing its key can no longer invent one.
pub async fn establish(conn: &mut AsyncPgConnection, source: KeySource) -> anyhow::Result<Keys> {
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        credentials_key::lock_for_change(conn).await?;
        let found = Keys::load(source.clone())?;
        match credentials_key::find(conn).await? {
            Some(stored) => match found {
                Some(keys) => {
                    ensure_ring_holds(&keys.ring(), &stored, &source)?;
                    if keys.primary_id().to_string() != stored.key_id {
                        tracing::info!(
                            database_key = stored.key_id,
                            sealing_key = %keys.primary_id(),
                            "this process seals with a newer key than the database records \
                             (a rotation is under way)"
                        );
                    }
                    Ok(keys)
                }
                None => bail!(
                    "refusing to start: the integrations' credentials in this database are \
                     sealed with key {}, and this process has no key ({source} is not set or \
                     does not exist). Give it that key: copy the key file from a replica that \
                     works, or set OBLIQUE_SECRET_KEY to the key, then start again. A new key \
                     would not open them",
                    stored.key_id
                ),
            },
            None => {
                let keys = match found {
                    Some(keys) => keys,
                    None => create_first_keys(conn, &source).await?,
                };
                ensure_opens_what_is_stored(conn, &keys).await?;
                let primary = keys.ring().primary().clone();
                credentials_key::record(conn, &check_row(&primary)).await?;
                tracing::info!(key = %primary.id(), source = %source, "recorded the credentials key in the database");
                Ok(keys)
            }
        }
    })
    .await
}

/// What `establish` would find, without changing anything: the key the process would serve
/// with, or why it would refuse to start.
pub async fn check(conn: &mut AsyncPgConnection, source: KeySource) -> anyhow::Result<String> {
    let found = Keys::load(source.clone())?;
    let stored = credentials_key::find(conn).await?;
    match (found, stored) {
        (Some(keys), Some(stored)) => {
            ensure_ring_holds(&keys.ring(), &stored, &source)?;
            Ok(format!(
                "key {} from {source} opens the database's credentials",
                keys.primary_id()
            ))
        }
        (None, Some(stored)) => bail!(
            "the database's credentials are sealed with key {}, and {source} is not set or \
             does not exist: serve would refuse to start",
            stored.key_id
        ),
        (Some(keys), None) => {
            ensure_opens_what_is_stored(conn, &keys).await?;
            Ok(format!(
                "key {} from {source}; serve records it in the database",
                keys.primary_id()
            ))
        }
        (None, None) => match credentials_key::any_sealed(conn).await? {
            Some((id, _)) => bail!(
                "no credentials key ({source} is not set or does not exist), and the database \
                 holds sealed credentials (integration {id}): serve would refuse to start"
            ),
            None => Ok(format!(
                "no key yet: serve makes one ({source}) on this empty database"
            )),
        },
    }
}

/// The database's record of `key`.
pub fn check_row(key: &SecretKey) -> KeyCheckRow {
    KeyCheckRow {
        key_id: key.id().to_string(),
        check_value: key.check_value(),
    }
}

/// Fails, saying what to do, unless `ring` holds the key the database records.
pub fn ensure_ring_holds(
    ring: &Keyring,
    stored: &KeyCheckRow,
    source: &KeySource,
) -> anyhow::Result<()> {
    let held = KeyId::parse(&stored.key_id).and_then(|id| ring.get(id));
    match held {
        Some(key) if key.check_value() == stored.check_value => Ok(()),
        _ => bail!(
            "refusing to start: the integrations' credentials in this database are sealed with \
             key {}, but this process has key(s) {} from {source}. Every replica sharing a \
             database needs that key: copy the key file from a replica that works (or set \
             OBLIQUE_SECRET_KEY to its key) and start again; with another key every sync would \
             fail with \"cannot decrypt\"",
            stored.key_id,
            ring.describe()
        ),
    }
}

/// A database from before key checks may hold credentials: the key recorded for it must be the
/// one that sealed them.
async fn ensure_opens_what_is_stored(
    conn: &mut AsyncPgConnection,
    keys: &Keys,
) -> anyhow::Result<()> {
    if let Some((id, sealed)) = credentials_key::any_sealed(conn).await?
        && keys.ring().open(id, &sealed).is_err()
    {
        bail!(
            "refusing to start: key(s) {} from {} do not open the credentials of integration \
             {id} in this database. Give this process the key that sealed them (the key file \
             of the replica that created them, or its OBLIQUE_SECRET_KEY)",
            keys.ring().describe(),
            keys.source()
        );
    }
    Ok(())
}

/// A new key file, for the first process on a database without credentials.
async fn create_first_keys(
    conn: &mut AsyncPgConnection,
    source: &KeySource,
) -> anyhow::Result<Keys> {
    let KeySource::File(path) = source else {
        bail!("no credentials key: {source} is empty");
    };
    if let Some((id, _)) = credentials_key::any_sealed(conn).await? {
        bail!(
            "refusing to start: this database holds sealed credentials (integration {id}, and \
             maybe more), and this process has no key ({source} does not exist). Give it the \
             key that sealed them: copy the key file of the replica that created them, or set \
             OBLIQUE_SECRET_KEY"
        );
    }
    let ring = Keyring::new(SecretKey::generate());
    write_key_file(path, &ring)?;
    tracing::info!(path = %path.display(), key = %ring.primary().id(), "created a new credentials key");
    Ok(Keys::new(source.clone(), ring))
}
