//! Access: the staged pairs resolved to live resources and accounts of this integration, compared
//! with the open access rows in one pass that keeps only the differences. New pairs open a row,
//! pairs no longer listed close theirs (closed rows are the history). Pairs naming objects
//! outside the synced ones are left out and counted, for a warning.

use tokio_postgres::Transaction;
use uuid::Uuid;

use super::counts;
use crate::sync::stats::ChangeCounts;

const DIFF: &str = "
    CREATE TEMP TABLE access_changes ON COMMIT DROP AS
    SELECT l.id AS new_id, l.resource_external_id, l.account_external_id,
           l.resource_id, l.account_id, c.id AS open_id
    -- External ids are kept only where they did not resolve (for the warning): every byte of
    -- the million-row hash table counts.
    FROM (SELECT sa.id, r.id AS resource_id, a.id AS account_id,
                 CASE WHEN r.id IS NULL OR a.id IS NULL THEN sa.resource_external_id END
                     AS resource_external_id,
                 CASE WHEN r.id IS NULL OR a.id IS NULL THEN sa.account_external_id END
                     AS account_external_id
          FROM stage_access sa
          LEFT JOIN resources r ON r.integration_id = $1 AND r.deleted_at IS NULL
                               AND r.external_id = sa.resource_external_id
          LEFT JOIN accounts a ON a.integration_id = $1 AND a.deleted_at IS NULL
                              AND a.external_id = sa.account_external_id) l
    FULL JOIN (SELECT p.id, p.resource_id, p.account_id FROM pulled_access p
               WHERE p.integration_id = $1 AND p.removed_at IS NULL) c
      ON c.resource_id = l.resource_id AND c.account_id = l.account_id
    WHERE l.id IS NULL OR c.id IS NULL";

const COUNT_OPEN: &str =
    "SELECT count(*) FROM pulled_access WHERE integration_id = $1 AND removed_at IS NULL";

const COUNT_UNRESOLVED: &str = "
    SELECT count(*) FROM (
        SELECT DISTINCT resource_external_id, account_external_id FROM access_changes
        WHERE new_id IS NOT NULL AND (resource_id IS NULL OR account_id IS NULL)) unresolved";

/// A pair listed twice opens one row.
const OPEN: &str = "
    INSERT INTO pulled_access (id, integration_id, resource_id, account_id)
    SELECT DISTINCT ON (resource_id, account_id) new_id, $1, resource_id, account_id
    FROM access_changes
    WHERE open_id IS NULL AND resource_id IS NOT NULL AND account_id IS NOT NULL
    ORDER BY resource_id, account_id, new_id";

const CLOSE: &str = "
    UPDATE pulled_access p SET removed_at = now()
    FROM access_changes ch
    WHERE ch.new_id IS NULL AND p.id = ch.open_id";

/// What the access merge did, and how many listed pairs it could not resolve.
pub struct AccessMerged {
    pub counts: ChangeCounts,
    pub unresolved: i64,
}

pub async fn merge(
    tx: &Transaction<'_>,
    integration_id: Uuid,
) -> Result<AccessMerged, tokio_postgres::Error> {
    let id = &integration_id;
    let open_before: i64 = tx.query_one(COUNT_OPEN, &[id]).await?.get(0);
    tx.execute(DIFF, &[id]).await?;
    let unresolved: i64 = tx.query_one(COUNT_UNRESOLVED, &[]).await?.get(0);
    let opened = tx.execute(OPEN, &[id]).await? as i64;
    let closed = tx.execute(CLOSE, &[]).await? as i64;
    // After the merge the open rows are exactly the resolved listed pairs.
    let listed = open_before + opened - closed;
    Ok(AccessMerged {
        counts: counts(listed, opened, 0, closed),
        unresolved,
    })
}
