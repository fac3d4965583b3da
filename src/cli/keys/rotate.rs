//! `oblique keys rotate`: every integration's credentials re-sealed with a new key, while
//! replicas keep serving and syncing.
//!
//! Order matters for a crash at any point to leave every row readable:
//! 1. the new key is added in front of the ring in the key file (the old keys stay after it), so
//!    the new key is saved before anything is sealed with it, and replicas reading that file
//!    learn it when they meet it (or before their next seal);
//! 2. the database's key check names the new key, so replicas started from now on need it; the
//!    audit event `keys.rotate` (key ids and how many credentials are sealed, never key
//!    material) commits with it;
//! 3. each integration's credentials are opened and re-sealed in a transaction of their own,
//!    the ciphertext carrying the new key's id; rows written meanwhile with an older key are
//!    picked up by repeating the scan until none is left.
//!
//! Running it again rotates again; rows already sealed with the new key are left alone.

use anyhow::{Context, bail};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;
use uuid::Uuid;

use super::startup::{check_row, ensure_ring_holds};
use crate::auth::Principal;
use crate::crypto::key_file::write_key_file;
use crate::crypto::{KeyId, KeySource, Keyring, SecretKey, sealed};
use crate::db::audit::{self, AuditEntry};
use crate::db::credentials_key;
use crate::model::AuditAction;

/// Rows re-sealed per scan; each in its own transaction.
const SCAN_BATCH: i64 = 100;

#[derive(Debug)]
pub struct Rotation {
    /// The key the database recorded before (none on a database without a key check).
    pub previous: Option<KeyId>,
    pub current: KeyId,
    pub reencrypted: usize,
    pub source: KeySource,
}

/// Rotates to `new_key` (a key file source makes one when `None`; `OBLIQUE_SECRET_KEY` cannot
/// be written, so the operator must give it). One rotation at a time per database.
pub async fn rotate(
    conn: &mut AsyncPgConnection,
    source: &KeySource,
    new_key: Option<SecretKey>,
    actor: &Principal,
) -> anyhow::Result<Rotation> {
    if !credentials_key::try_lock_rotation(conn).await? {
        bail!("another `oblique keys rotate` is running on this database; let it finish");
    }
    let result = rotate_locked(conn, source, new_key, actor).await;
    credentials_key::unlock_rotation(conn).await?;
    result
}

async fn rotate_locked(
    conn: &mut AsyncPgConnection,
    source: &KeySource,
    new_key: Option<SecretKey>,
    actor: &Principal,
) -> anyhow::Result<Rotation> {
    let ring = source
        .read()?
        .with_context(|| format!("no credentials key to rotate from: {source} is empty"))?;
    let stored = credentials_key::find(conn).await?;
    if let Some(stored) = &stored {
        ensure_ring_holds(&ring, stored, source)?;
    }
    let new_key = match (new_key, source) {
        (Some(key), _) => key,
        (None, KeySource::File(_)) => SecretKey::generate(),
        (None, _) => bail!(
            "with {source}, give the new key in OBLIQUE_NEW_SECRET_KEY or --new-key-file \
             (e.g. made with `openssl rand -hex 32`)"
        ),
    };
    let ring = ring.with_primary(new_key.clone());
    if let KeySource::File(path) = source {
        write_key_file(path, &ring)?;
    }
    let previous = stored.and_then(|row| KeyId::parse(&row.key_id));
    // The key change and its audit event commit together, so no rotation goes unrecorded,
    // even one that stops part-way.
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        credentials_key::lock_for_change(conn).await?;
        credentials_key::record(conn, &check_row(&new_key)).await?;
        let sealed_credentials = credentials_key::count_sealed(conn).await?;
        audit::record(
            conn,
            AuditEntry {
                actor,
                action: AuditAction::KeysRotate,
                integration_id: None,
                resource_id: None,
                details: json!({
                    "previous_key_id": previous.map(|id| id.to_string()),
                    "key_id": new_key.id().to_string(),
                    "sealed_credentials": sealed_credentials,
                    "key_source": source_kind(source),
                }),
            },
        )
        .await?;
        Ok(())
    })
    .await?;

    let reencrypted = reseal_all(conn, &ring).await?;
    let rotation = Rotation {
        previous,
        current: new_key.id(),
        reencrypted,
        source: source.clone(),
    };
    tracing::info!(key = %rotation.current, reencrypted, "credentials key rotated");
    Ok(rotation)
}

/// Re-seals with the ring's primary key every credential not sealed with it yet; answers how
/// many it rewrote.
async fn reseal_all(conn: &mut AsyncPgConnection, ring: &Keyring) -> anyhow::Result<usize> {
    let header = sealed::header_of(ring.primary().id());
    let mut reencrypted = 0;
    loop {
        let ids = credentials_key::ids_not_sealed_with(conn, &header, SCAN_BATCH).await?;
        if ids.is_empty() {
            return Ok(reencrypted);
        }
        for id in ids {
            if reseal_one(conn, ring, id).await? {
                reencrypted += 1;
            }
        }
    }
}

async fn reseal_one(
    conn: &mut AsyncPgConnection,
    ring: &Keyring,
    id: Uuid,
) -> anyhow::Result<bool> {
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        // Locked: an UpdateIntegration committing meanwhile is either before (and re-sealed
        // here) or after (and sealed with whichever key its process holds, still readable).
        let Some(current) = credentials_key::sealed_for_update(conn, id).await? else {
            return Ok(false);
        };
        if current.starts_with(&sealed::header_of(ring.primary().id()))
            && ring.open(id, &current).is_ok()
        {
            return Ok(false);
        }
        let credentials = ring.open(id, &current).map_err(|error| {
            anyhow::anyhow!(
                "cannot open the credentials of integration {id} ({error:?}) with key(s) {}; \
                 nothing else was left half done: every row opens with the keys in the ring",
                ring.describe()
            )
        })?;
        credentials_key::replace_sealed(conn, id, &ring.seal(id, &credentials)?).await?;
        Ok(true)
    })
    .await
}

fn source_kind(source: &KeySource) -> &'static str {
    match source {
        KeySource::Environment => "environment",
        KeySource::File(_) => "key file",
        KeySource::Memory => "memory",
    }
}
