//! A serving process follows the database's key check: after `oblique keys rotate` it seals
//! with the new key (and re-reads its key file to get it), and says loudly when it lacks it.

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use tokio_util::sync::CancellationToken;

use crate::crypto::{KeyId, Keys};
use crate::db::{Pool, credentials_key};

/// How often a serving process reads the database's key check. Until then a rotated key is
/// still learnt whenever a ciphertext names it; this only moves sealing over to it.
pub const FOLLOW_INTERVAL: Duration = Duration::from_secs(5);

/// Makes `keys` follow the database's key; answers the key it lacks, if it lacks it.
pub async fn follow_database_key(
    conn: &mut AsyncPgConnection,
    keys: &Keys,
) -> anyhow::Result<Option<KeyId>> {
    let Some(stored) = credentials_key::find(conn).await? else {
        return Ok(None);
    };
    let id = KeyId::parse(&stored.key_id)
        .ok_or_else(|| anyhow::anyhow!("the database's key id {:?} is malformed", stored.key_id))?;
    Ok((!keys.follow(id)).then_some(id))
}

/// Follows the database's key every [`FOLLOW_INTERVAL`] until `shutdown`.
pub async fn follow_until_shutdown(pool: Pool, keys: Keys, shutdown: CancellationToken) {
    let mut reported: Option<KeyId> = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(FOLLOW_INTERVAL) => {}
        }
        let missing = match pool.get().await {
            Ok(mut conn) => follow_database_key(&mut conn, &keys).await,
            Err(error) => Err(error.into()),
        };
        match missing {
            Ok(Some(id)) if reported != Some(id) => {
                tracing::error!(
                    database_key = %id,
                    keys = keys.ring().describe(),
                    source = %keys.source(),
                    "the credentials were rotated to a key this process does not have: it \
                     cannot open them; give it the new key (key file, or OBLIQUE_SECRET_KEY as \
                     NEW,OLD) and restart it"
                );
                reported = Some(id);
            }
            Ok(Some(_)) => {}
            Ok(None) => reported = None,
            Err(error) => {
                tracing::debug!(error = format!("{error:#}"), "reading the key check failed");
            }
        }
    }
}
