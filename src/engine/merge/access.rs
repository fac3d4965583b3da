//! Access: the staged pairs compared with the open access rows. Each resource's listed pairs and
//! its open rows are first folded to a count and the XOR of their pair keys (see
//! [`crate::engine::access_key`]); only resources whose folds differ are compared pair by pair, in
//! one pass that resolves their staged pairs to live resources and accounts and keeps only the
//! differences. New pairs open a row, pairs no longer listed close theirs (closed rows are the
//! history). Pairs naming objects outside the synced ones are left out and counted, for a warning.
//! Pairs that name their account by a member name are resolved first (see [`member_names`]).
//!
//! Whether a pair is inherited (held through a member group only) is part of what is compared:
//! the folds carry the count and XOR of the inherited pairs' keys too, and a pair whose
//! inheritance changed has its open row updated in place (counted as updated).
//!
//! The folds can only be compared because open rows name live resources and accounts: a resource
//! soft deleted by this merge is compared pair by pair (its pairs no longer resolve), and so is
//! every resource with an open row of an account soft deleted by this merge.

use tokio_postgres::Transaction;
use uuid::Uuid;

use super::{counts, member_names};
use crate::model::run_stats::ChangeCounts;

/// The open rows of each resource, folded.
const FOLD_OPEN: &str = "
    CREATE TEMP TABLE access_open ON COMMIT DROP AS
    SELECT resource_id, count(*) AS pairs, bit_xor(pair_key) AS folded,
           count(*) FILTER (WHERE inherited) AS inherited_pairs,
           coalesce(bit_xor(pair_key) FILTER (WHERE inherited), 0) AS inherited_folded
    FROM pulled_access WHERE integration_id = $1 AND removed_at IS NULL
    GROUP BY resource_id";

/// The resources to compare pair by pair: by external id (their staged pairs) and by id (their
/// open rows, if any). `deleted_at = now()` is \"soft deleted in this transaction\".
const FIND_CHANGED: &str = "
    CREATE TEMP TABLE access_changed ON COMMIT DROP AS
    SELECT coalesce(o.external_id, l.resource_external_id) AS external_id, o.resource_id
    FROM (SELECT r.external_id, r.deleted_at, ao.*
          FROM access_open ao JOIN resources r ON r.id = ao.resource_id) o
    FULL JOIN (SELECT resource_external_id, count(*) AS pairs, bit_xor(pair_key) AS folded,
                      count(*) FILTER (WHERE inherited) AS inherited_pairs,
                      coalesce(bit_xor(pair_key) FILTER (WHERE inherited), 0) AS inherited_folded
               FROM stage_access GROUP BY resource_external_id) l
      ON l.resource_external_id = o.external_id
    WHERE o.resource_id IS NULL OR l.resource_external_id IS NULL OR o.deleted_at IS NOT NULL
       OR (o.pairs, o.folded, o.inherited_pairs, o.inherited_folded)
          <> (l.pairs, l.folded, l.inherited_pairs, l.inherited_folded)
    UNION
    SELECT r.external_id, r.id FROM resources r
    WHERE r.id IN (SELECT p.resource_id FROM pulled_access p
                   WHERE p.removed_at IS NULL
                     AND p.account_id = ANY (ARRAY(SELECT a.id FROM accounts a
                                                   WHERE a.integration_id = $1
                                                     AND a.deleted_at = now())))";

const COUNT_OPEN_AND_CHANGED: &str = "
    SELECT (SELECT coalesce(sum(pairs), 0)::bigint FROM access_open),
           (SELECT count(*) FROM access_changed)";

const ANALYZE_CHANGED: &str = "ANALYZE access_changed";

const DIFF: &str = "
    CREATE TEMP TABLE access_changes ON COMMIT DROP AS
    SELECT l.id AS new_id, l.pair_key, l.resource_external_id, l.account_external_id,
           l.resource_id, l.account_id, c.id AS open_id, l.inherited
    -- External ids are kept only where they did not resolve (for the warning): every byte of
    -- the hash tables counts.
    FROM (SELECT sa.id, sa.pair_key, sa.inherited, r.id AS resource_id, a.id AS account_id,
                 CASE WHEN r.id IS NULL OR a.id IS NULL THEN sa.resource_external_id END
                     AS resource_external_id,
                 CASE WHEN r.id IS NULL OR a.id IS NULL THEN sa.account_external_id END
                     AS account_external_id
          FROM stage_access sa
          LEFT JOIN resources r ON r.integration_id = $1 AND r.deleted_at IS NULL
                               AND r.external_id = sa.resource_external_id
          -- A member name left after `member_names::resolve` names no single account.
          LEFT JOIN accounts a ON a.integration_id = $1 AND a.deleted_at IS NULL
                              AND a.external_id = sa.account_external_id
                              AND NOT sa.by_member_name
          WHERE sa.resource_external_id IN (SELECT external_id FROM access_changed)) l
    FULL JOIN (SELECT p.id, p.resource_id, p.account_id, p.inherited FROM pulled_access p
               WHERE p.integration_id = $1 AND p.removed_at IS NULL
                 AND p.resource_id IN (SELECT resource_id FROM access_changed)) c
      ON c.resource_id = l.resource_id AND c.account_id = l.account_id
    WHERE l.id IS NULL OR c.id IS NULL OR l.inherited <> c.inherited";

const COUNT_UNRESOLVED: &str = "
    SELECT count(*) FROM (
        SELECT DISTINCT resource_external_id, account_external_id FROM access_changes
        WHERE new_id IS NOT NULL AND (resource_id IS NULL OR account_id IS NULL)) unresolved";

/// A pair listed twice opens one row; listed as direct and as inherited, a direct one.
const OPEN: &str = "
    INSERT INTO pulled_access (id, integration_id, resource_id, account_id, pair_key, inherited)
    SELECT DISTINCT ON (resource_id, account_id) new_id, $1, resource_id, account_id, pair_key,
           inherited
    FROM access_changes
    WHERE open_id IS NULL AND resource_id IS NOT NULL AND account_id IS NOT NULL
    ORDER BY resource_id, account_id, inherited, new_id";

/// A pair now held directly, or now only through a member group. Listed both ways (which the
/// connectors avoid), the direct listing wins: it matched the open row already when that row is
/// direct, so such a row is not turned inherited.
const REINHERIT: &str = "
    UPDATE pulled_access p SET inherited = ch.inherited
    FROM access_changes ch
    WHERE ch.new_id IS NOT NULL AND ch.open_id IS NOT NULL AND p.id = ch.open_id
      AND NOT (ch.inherited
               AND ch.pair_key IN (SELECT sa.pair_key FROM stage_access sa WHERE NOT sa.inherited))";

const CLOSE: &str = "
    UPDATE pulled_access p SET removed_at = now()
    FROM access_changes ch
    WHERE ch.new_id IS NULL AND p.id = ch.open_id";

/// What the access merge did, and how many listed pairs it could not resolve.
pub struct AccessMerged {
    pub counts: ChangeCounts,
    pub unresolved: i64,
    /// Some resource was compared pair by pair: `access_changes` holds the differences.
    pub compared: bool,
}

pub async fn merge(
    tx: &Transaction<'_>,
    integration_id: Uuid,
) -> Result<AccessMerged, tokio_postgres::Error> {
    let id = &integration_id;
    member_names::resolve(tx, integration_id).await?;
    tx.execute(FOLD_OPEN, &[id]).await?;
    tx.execute(FIND_CHANGED, &[id]).await?;
    let row = tx.query_one(COUNT_OPEN_AND_CHANGED, &[]).await?;
    let (open_before, changed): (i64, i64) = (row.get(0), row.get(1));
    if changed == 0 {
        // Every resource's listed pairs are its open rows.
        return Ok(AccessMerged {
            counts: counts(open_before, 0, 0, 0),
            unresolved: 0,
            compared: false,
        });
    }
    tx.batch_execute(ANALYZE_CHANGED).await?;
    tx.execute(DIFF, &[id]).await?;
    let unresolved: i64 = tx.query_one(COUNT_UNRESOLVED, &[]).await?.get(0);
    let opened = tx.execute(OPEN, &[id]).await? as i64;
    let closed = tx.execute(CLOSE, &[]).await? as i64;
    let updated = tx.execute(REINHERIT, &[]).await? as i64;
    // After the merge the open rows are exactly the resolved listed pairs.
    let listed = open_before + opened - closed;
    Ok(AccessMerged {
        counts: counts(listed, opened, updated, closed),
        unresolved,
        compared: true,
    })
}
