//! Accounts and the Oblique users they link to. Every account links to a user: by email when it
//! has one, else by username; a user is made when none matches. Users are made before the
//! accounts are inserted, so that each new account row is written once, already linked.

use tokio_postgres::Transaction;
use uuid::Uuid;

use super::counts;
use crate::sync::stats::ChangeCounts;

const RESTORE: &str = "
    UPDATE accounts a SET deleted_at = NULL, updated_at = now()
    FROM stage_accounts s
    WHERE a.integration_id = $1 AND a.external_id = s.external_id AND a.deleted_at IS NOT NULL";

/// Serialises user creation across runs, so that two integrations syncing the same new person
/// at once make one user.
const LOCK_USERS: &str = "SELECT pg_advisory_xact_lock(7286517001)";

/// A user for each email (lower-cased) of a new account that no user has yet.
const CREATE_USERS_BY_EMAIL: &str = "
    INSERT INTO users (id, email, username, display_name)
    SELECT DISTINCT ON (lower(s.email)) s.user_id, lower(s.email), s.username, s.display_name
    FROM stage_accounts s
    WHERE s.email IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM accounts a
                      WHERE a.integration_id = $1 AND a.external_id = s.external_id)
    ORDER BY lower(s.email), s.external_id
    ON CONFLICT (email) DO NOTHING";

/// A user for each username of a new account without email that no user has yet.
const CREATE_USERS_BY_USERNAME: &str = "
    INSERT INTO users (id, username, display_name)
    SELECT DISTINCT ON (s.username) s.user_id, s.username, s.display_name
    FROM stage_accounts s
    WHERE s.email IS NULL
      AND NOT EXISTS (SELECT 1 FROM accounts a
                      WHERE a.integration_id = $1 AND a.external_id = s.external_id)
      AND NOT EXISTS (SELECT 1 FROM users u WHERE u.username = s.username)
    ORDER BY s.username, s.external_id";

/// New accounts are inserted linked; changed ones are updated (their user stays). Identical
/// rows are left out before the upsert, which would otherwise lock (and so write) them.
const UPSERT: &str = "
    WITH upserted AS (
        INSERT INTO accounts (id, integration_id, user_id, external_id, username, email, display_name)
        SELECT s.id, $1,
               CASE WHEN s.email IS NOT NULL
                    THEN (SELECT u.id FROM users u WHERE u.email = lower(s.email))
                    ELSE (SELECT u.id FROM users u WHERE u.username = s.username
                          ORDER BY u.id LIMIT 1)
               END,
               s.external_id, s.username, s.email, s.display_name
        -- Identical rows are left out first (no sort of the whole listing when little
        -- changed), then an account listed twice is upserted once.
        FROM (SELECT DISTINCT ON (external_id) * FROM stage_accounts s
              WHERE NOT EXISTS (
                  SELECT 1 FROM accounts a
                  WHERE a.integration_id = $1 AND a.external_id = s.external_id
                    AND (a.username, a.email, a.display_name)
                        IS NOT DISTINCT FROM (s.username, s.email, s.display_name))
              ORDER BY external_id) s
        ON CONFLICT (integration_id, external_id) DO UPDATE
            SET username = excluded.username, email = excluded.email,
                display_name = excluded.display_name, updated_at = now()
            WHERE (accounts.username, accounts.email, accounts.display_name)
                IS DISTINCT FROM (excluded.username, excluded.email, excluded.display_name)
        RETURNING (xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted";

const SOFT_DELETE: &str = "
    UPDATE accounts a SET deleted_at = now(), updated_at = now()
    WHERE a.integration_id = $1 AND a.deleted_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM stage_accounts s WHERE s.external_id = a.external_id)
      AND NOT EXISTS (SELECT 1 FROM stage_problems p
                      WHERE p.kind = 'account' AND p.external_id = a.external_id)";

/// Merges the staged accounts; `listed` is how many distinct ones were staged.
pub async fn merge(
    tx: &Transaction<'_>,
    integration_id: Uuid,
    listed: i64,
) -> Result<ChangeCounts, tokio_postgres::Error> {
    let id = &integration_id;
    let restored = tx.execute(RESTORE, &[id]).await? as i64;
    tx.execute(LOCK_USERS, &[]).await?;
    tx.execute(CREATE_USERS_BY_EMAIL, &[id]).await?;
    tx.execute(CREATE_USERS_BY_USERNAME, &[id]).await?;
    let upserted = tx.query_one(UPSERT, &[id]).await?;
    let deleted = tx.execute(SOFT_DELETE, &[id]).await? as i64;
    Ok(counts(
        listed,
        upserted.get(0),
        upserted.get::<_, i64>(1) + restored,
        deleted,
    ))
}
