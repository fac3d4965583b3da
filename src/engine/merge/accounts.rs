//! Accounts, and the Oblique users they link to (see [`super::links`]). The users new accounts
//! link to are made before the accounts are inserted, so that each new account row is written
//! once, already linked; links that need a second look are re-decided after the upsert.

use tokio_postgres::Transaction;
use uuid::Uuid;

use super::counts;
use super::links::{self, LinkReport};
use crate::model::LinkUsersBy;
use crate::model::run_stats::ChangeCounts;

const RESTORE: &str = "
    UPDATE accounts a SET deleted_at = NULL, updated_at = now()
    FROM stage_accounts s
    WHERE a.integration_id = $1 AND a.external_id = s.external_id AND a.deleted_at IS NOT NULL";

/// New accounts are inserted linked when nothing contradicts their key; changed ones are updated
/// (their link is the recheck's business). Identical rows are left out before the upsert, which
/// would otherwise lock (and so write) them. On a first sync (`first_sync`: the integration has
/// no account, and only its own run writes them) every account is new: a plain insert, which
/// costs the server about a third less than one that checks each row for a conflict first.
fn upsert(policy: LinkUsersBy, first_sync: bool) -> String {
    let key = links::key_sql(policy, "s");
    let matching = links::matching_user_sql(policy, "s");
    let linkable = links::linkable_sql(policy, "s");
    let (unchanged, on_conflict) = if first_sync {
        ("", "")
    } else {
        (UNCHANGED, ON_CONFLICT)
    };
    format!(
        "WITH upserted AS (
            INSERT INTO accounts (id, integration_id, user_id, link_key, external_id, username,
                                  email, display_name)
            SELECT l.id, $1, l.user_id, CASE WHEN l.user_id IS NOT NULL THEN l.key END,
                   l.external_id, l.username, l.email, l.display_name
            FROM (
                SELECT s.*, {key} AS key,
                       CASE WHEN {linkable} THEN {matching} END AS user_id
                -- Identical rows are left out first (no sort of the whole listing when little
                -- changed), then an account listed twice is upserted once.
                FROM (SELECT DISTINCT ON (external_id) id, external_id, username, email,
                             display_name
                      FROM stage_accounts s {unchanged}
                      ORDER BY external_id) s
                -- Computed once a row: pulled up into the insert, the two uses of user_id
                -- each ran the look-ups.
                OFFSET 0
            ) l
            {on_conflict}
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
        FROM upserted"
    )
}

const UNCHANGED: &str = "
    WHERE NOT EXISTS (
        SELECT 1 FROM accounts a
        WHERE a.integration_id = $1 AND a.external_id = s.external_id
          AND (a.username, a.email, a.display_name)
              IS NOT DISTINCT FROM (s.username, s.email, s.display_name))";

const ON_CONFLICT: &str = "
    ON CONFLICT (integration_id, external_id) DO UPDATE
        SET username = excluded.username, email = excluded.email,
            display_name = excluded.display_name, updated_at = now()
        WHERE (accounts.username, accounts.email, accounts.display_name)
            IS DISTINCT FROM (excluded.username, excluded.email, excluded.display_name)";

const SOFT_DELETE: &str = "
    UPDATE accounts a SET deleted_at = now(), updated_at = now()
    WHERE a.integration_id = $1 AND a.deleted_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM stage_accounts s WHERE s.external_id = a.external_id)
      AND NOT EXISTS (SELECT 1 FROM stage_problems p
                      WHERE p.kind = 'account' AND p.external_id = a.external_id)";

/// Merges the staged accounts; `listed` is how many distinct ones were staged. `first_sync`:
/// the integration has no account yet (checked in this transaction).
pub async fn merge(
    tx: &Transaction<'_>,
    integration_id: Uuid,
    policy: LinkUsersBy,
    listed: i64,
    first_sync: bool,
) -> Result<(ChangeCounts, LinkReport), tokio_postgres::Error> {
    let id = &integration_id;
    let restored = tx.execute(RESTORE, &[id]).await? as i64;
    links::prepare(tx, integration_id, policy).await?;
    let upserted = tx.query_one(&upsert(policy, first_sync), &[id]).await?;
    let deleted = tx.execute(SOFT_DELETE, &[id]).await? as i64;
    let held = links::recheck_all(tx, integration_id, policy).await?;
    let counts = counts(
        listed,
        upserted.get(0),
        upserted.get::<_, i64>(1) + restored,
        deleted,
    );
    Ok((counts, held))
}
