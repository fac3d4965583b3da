//! Attributes of listed accounts: new and changed values are written, attributes the remote no
//! longer has are removed. Attributes of accounts not listed this time stay as they were.
//!
//! One pass compares the staged attributes with the stored ones and keeps only the differences;
//! the writes then read that (usually tiny) set instead of joining everything again.

use tokio_postgres::Transaction;
use uuid::Uuid;

use super::counts;
use crate::model::run_stats::ChangeCounts;

/// Runs after the accounts' merge: every staged account exists, and the live ones are the
/// listed ones plus those known but unreadable this time.
const DIFF: &str = "
    CREATE TEMP TABLE attribute_changes ON COMMIT DROP AS
    SELECT coalesce(l.account_id, c.account_id) AS account_id,
           coalesce(l.name, c.name) AS name,
           coalesce(l.external_id, c.external_id) AS external_id,
           l.attribute_values, c.account_id IS NOT NULL AS stored
    FROM (SELECT a.id AS account_id, a.external_id, sa.name, sa.attribute_values
          FROM stage_attributes sa
          JOIN accounts a ON a.integration_id = $1 AND a.external_id = sa.external_id) l
    FULL JOIN (SELECT aa.account_id, a.external_id, aa.name, aa.attribute_values
               FROM account_attributes aa
               JOIN accounts a ON a.id = aa.account_id
               WHERE a.integration_id = $1 AND a.deleted_at IS NULL) c
      ON c.account_id = l.account_id AND c.name = l.name
    WHERE l.account_id IS NULL OR c.account_id IS NULL
       OR l.attribute_values <> c.attribute_values";

/// New and changed values. A plain insert, not an upsert (which probes the key twice per row):
/// only this integration's run writes its accounts' attributes. A remote that listed an
/// account twice may have staged a name twice: one value wins.
const INSERT: &str = "
    INSERT INTO account_attributes (account_id, name, attribute_values)
    SELECT DISTINCT ON (account_id, name) account_id, name, attribute_values
    FROM attribute_changes WHERE attribute_values IS NOT NULL AND NOT stored
    ORDER BY account_id, name";

const UPDATE: &str = "
    UPDATE account_attributes aa SET attribute_values = ch.attribute_values
    FROM (SELECT DISTINCT ON (account_id, name) account_id, name, attribute_values
          FROM attribute_changes WHERE attribute_values IS NOT NULL AND stored
          ORDER BY account_id, name) ch
    WHERE aa.account_id = ch.account_id AND aa.name = ch.name";

/// Stored attributes the listing did not have, of accounts it did list.
const REMOVE: &str = "
    DELETE FROM account_attributes aa
    USING attribute_changes ch
    WHERE ch.attribute_values IS NULL AND aa.account_id = ch.account_id AND aa.name = ch.name
      AND EXISTS (SELECT 1 FROM stage_accounts s WHERE s.external_id = ch.external_id)";

/// Staging keeps an account's names unique, so names repeat only when an account was listed
/// twice; then the distinct ones are counted (which costs a pass over all of them).
const COUNT_STAGED: &str = "SELECT count(*) FROM stage_attributes";
const COUNT_STAGED_DISTINCT: &str =
    "SELECT count(*) FROM (SELECT 1 FROM stage_attributes GROUP BY external_id, name) listed";

pub async fn merge(
    tx: &Transaction<'_>,
    integration_id: Uuid,
    accounts_listed_once: bool,
) -> Result<ChangeCounts, tokio_postgres::Error> {
    let count = match accounts_listed_once {
        true => COUNT_STAGED,
        false => COUNT_STAGED_DISTINCT,
    };
    let listed: i64 = tx.query_one(count, &[]).await?.get(0);
    tx.execute(DIFF, &[&integration_id]).await?;
    let created = tx.execute(INSERT, &[]).await? as i64;
    let updated = tx.execute(UPDATE, &[]).await? as i64;
    let removed = tx.execute(REMOVE, &[]).await? as i64;
    Ok(counts(listed, created, updated, removed))
}
