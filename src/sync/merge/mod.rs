//! Applying a staged listing: a few set-based statements per kind of object, inside the caller's
//! transaction. Unchanged rows are never written, so a sync that finds no change writes nothing.
//! `$1` is always the integration id, `$2` the run id.

use tokio_postgres::Transaction;
use uuid::Uuid;

use super::stats::{ChangeCounts, RunStats};

/// Every merge statement joins whole sets, often against rows this same transaction just wrote
/// and that have no statistics yet: the planner then guesses a handful of rows and picks nested
/// loops that go quadratic (hours for an initial sync of a million memberships). Hash and merge
/// joins are right for every statement here, and they get the memory to stay off disk.
const PLANNER_SETTINGS: &str = "SET LOCAL enable_nestloop = off; SET LOCAL work_mem = '64MB'";

/// Makes the planner see the staged row counts (autovacuum never analyses temporary tables).
const ANALYZE: &str = "ANALYZE stage_accounts, stage_attributes, stage_resources, stage_access, \
                       stage_problems";

/// Resources: restore re-appearing ones, insert new ones, update changed ones, soft delete the
/// ones not listed (unless they were listed but unreadable). Restores and deletes are audited.
const RESTORE_RESOURCES: &str = "
    WITH restored AS (
        UPDATE resources r SET deleted_at = NULL, updated_at = now()
        FROM stage_resources s
        WHERE r.integration_id = $1 AND r.external_id = s.external_id AND r.deleted_at IS NOT NULL
        RETURNING r.id, r.name, r.external_id
    ), audited AS (
        INSERT INTO audit_events (id, actor_name, actor_role, action, integration_id, resource_id, details)
        SELECT uuid_generate_v7(), 'system', 'system', 'resource.restore', $1, id,
               json_build_object('run_id', $2::uuid, 'name', name, 'external_id', external_id)
        FROM restored
    )
    SELECT count(*) FROM restored";

const UPSERT_RESOURCES: &str = "
    WITH upserted AS (
        INSERT INTO resources (id, integration_id, external_id, resource_type, name, description)
        SELECT uuid_generate_v7(), $1, s.external_id, s.resource_type, s.name, s.description
        FROM (SELECT DISTINCT ON (external_id) * FROM stage_resources ORDER BY external_id) s
        -- Identical rows are left out before the upsert, which would otherwise lock them.
        WHERE NOT EXISTS (
            SELECT 1 FROM resources r
            WHERE r.integration_id = $1 AND r.external_id = s.external_id
              AND (r.resource_type, r.name, r.description)
                  IS NOT DISTINCT FROM (s.resource_type, s.name, s.description))
        ON CONFLICT (integration_id, external_id) DO UPDATE
            SET resource_type = excluded.resource_type, name = excluded.name,
                description = excluded.description, updated_at = now()
            WHERE (resources.resource_type, resources.name, resources.description)
                IS DISTINCT FROM (excluded.resource_type, excluded.name, excluded.description)
        RETURNING (xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted";

const DELETE_RESOURCES: &str = "
    WITH gone AS (
        UPDATE resources r SET deleted_at = now(), updated_at = now()
        WHERE r.integration_id = $1 AND r.deleted_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM stage_resources s WHERE s.external_id = r.external_id)
          -- Made by Oblique (for a team) after this run listed the remote: not missing, new.
          AND r.created_at < (SELECT started_at FROM sync_runs WHERE id = $2)
          AND NOT EXISTS (SELECT 1 FROM stage_problems p
                          WHERE p.kind = 'resource' AND p.external_id = r.external_id)
        RETURNING r.id, r.name, r.external_id
    ), audited AS (
        INSERT INTO audit_events (id, actor_name, actor_role, action, integration_id, resource_id, details)
        SELECT uuid_generate_v7(), 'system', 'system', 'resource.soft_delete', $1, id,
               json_build_object('run_id', $2::uuid, 'name', name, 'external_id', external_id)
        FROM gone
    )
    SELECT count(*) FROM gone";

const RESTORE_ACCOUNTS: &str = "
    UPDATE accounts a SET deleted_at = NULL, updated_at = now()
    FROM stage_accounts s
    WHERE a.integration_id = $1 AND a.external_id = s.external_id AND a.deleted_at IS NOT NULL";

const UPSERT_ACCOUNTS: &str = "
    WITH upserted AS (
        INSERT INTO accounts (id, integration_id, external_id, username, email, display_name)
        SELECT uuid_generate_v7(), $1, s.external_id, s.username, s.email, s.display_name
        FROM (SELECT DISTINCT ON (external_id) * FROM stage_accounts ORDER BY external_id) s
        WHERE NOT EXISTS (
            SELECT 1 FROM accounts a
            WHERE a.integration_id = $1 AND a.external_id = s.external_id
              AND (a.username, a.email, a.display_name)
                  IS NOT DISTINCT FROM (s.username, s.email, s.display_name))
        ON CONFLICT (integration_id, external_id) DO UPDATE
            SET username = excluded.username, email = excluded.email,
                display_name = excluded.display_name, updated_at = now()
            WHERE (accounts.username, accounts.email, accounts.display_name)
                IS DISTINCT FROM (excluded.username, excluded.email, excluded.display_name)
        RETURNING (xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted";

const DELETE_ACCOUNTS: &str = "
    UPDATE accounts a SET deleted_at = now(), updated_at = now()
    WHERE a.integration_id = $1 AND a.deleted_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM stage_accounts s WHERE s.external_id = a.external_id)
      AND NOT EXISTS (SELECT 1 FROM stage_problems p
                      WHERE p.kind = 'account' AND p.external_id = a.external_id)";

/// Attributes of listed accounts: new and changed values are written, attributes the remote no
/// longer has are removed. Attributes of accounts not listed this time stay as they were.
const UPSERT_ATTRIBUTES: &str = "
    WITH upserted AS (
        INSERT INTO account_attributes (account_id, name, attribute_values)
        SELECT a.id, s.name, s.attribute_values
        FROM (SELECT DISTINCT ON (external_id, name) * FROM stage_attributes
              ORDER BY external_id, name) s
        JOIN accounts a ON a.integration_id = $1 AND a.external_id = s.external_id
        WHERE NOT EXISTS (
            SELECT 1 FROM account_attributes aa
            WHERE aa.account_id = a.id AND aa.name = s.name
              AND aa.attribute_values = s.attribute_values)
        ON CONFLICT (account_id, name) DO UPDATE
            SET attribute_values = excluded.attribute_values
            WHERE account_attributes.attribute_values IS DISTINCT FROM excluded.attribute_values
        RETURNING (xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted";

const DELETE_ATTRIBUTES: &str = "
    DELETE FROM account_attributes aa
    USING accounts a, stage_accounts s
    WHERE aa.account_id = a.id AND a.integration_id = $1 AND a.external_id = s.external_id
      AND NOT EXISTS (SELECT 1 FROM stage_attributes sa
                      WHERE sa.external_id = s.external_id AND sa.name = aa.name)";

const COUNT_STAGED_ATTRIBUTES: &str =
    "SELECT count(*) FROM (SELECT DISTINCT external_id, name FROM stage_attributes) s";

/// Access: staged pairs resolved to live resources and accounts of this integration. Pairs
/// naming objects outside the synced ones are left out (and reported as a warning).
const RESOLVE_ACCESS: &str = "
    CREATE TEMP TABLE resolved_access ON COMMIT DROP AS
    SELECT DISTINCT r.id AS resource_id, a.id AS account_id
    FROM stage_access sa
    JOIN resources r ON r.integration_id = $1 AND r.external_id = sa.resource_external_id
                    AND r.deleted_at IS NULL
    JOIN accounts a ON a.integration_id = $1 AND a.external_id = sa.account_external_id
                   AND a.deleted_at IS NULL";

const COUNT_UNRESOLVED_ACCESS: &str = "
    SELECT (SELECT count(*) FROM (SELECT DISTINCT * FROM stage_access) s)
         - (SELECT count(*) FROM resolved_access)";

const INSERT_ACCESS: &str = "
    INSERT INTO pulled_access (integration_id, resource_id, account_id)
    SELECT $1, ra.resource_id, ra.account_id FROM resolved_access ra
    WHERE NOT EXISTS (SELECT 1 FROM pulled_access p
                      WHERE p.resource_id = ra.resource_id AND p.account_id = ra.account_id
                        AND p.removed_at IS NULL)";

/// Closes the open access rows no longer listed; the closed rows are the history.
const CLOSE_ACCESS: &str = "
    UPDATE pulled_access p SET removed_at = now()
    WHERE p.integration_id = $1 AND p.removed_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM resolved_access ra
                      WHERE ra.resource_id = p.resource_id AND ra.account_id = p.account_id)";

const COUNT_RESOLVED_ACCESS: &str = "SELECT count(*) FROM resolved_access";

/// Every account links to an Oblique user: by email when it has one, else by username, making
/// the user when none matches. Serialised across runs so two integrations syncing the same new
/// person at once make one user.
const LINK_USERS: &[&str] = &[
    "SELECT pg_advisory_xact_lock(7286517001)",
    "UPDATE accounts a SET user_id = u.id FROM users u
     WHERE a.integration_id = $1 AND a.user_id IS NULL AND a.email IS NOT NULL
       AND u.email = lower(a.email)",
    "INSERT INTO users (id, email, username, display_name)
     SELECT DISTINCT ON (lower(a.email)) uuid_generate_v7(), lower(a.email), a.username, a.display_name
     FROM accounts a
     WHERE a.integration_id = $1 AND a.user_id IS NULL AND a.email IS NOT NULL
     ORDER BY lower(a.email), a.id
     ON CONFLICT (email) DO NOTHING",
    "UPDATE accounts a SET user_id = u.id FROM users u
     WHERE a.integration_id = $1 AND a.user_id IS NULL AND a.email IS NOT NULL
       AND u.email = lower(a.email)",
    "UPDATE accounts a
     SET user_id = (SELECT u.id FROM users u WHERE u.username = a.username ORDER BY u.id LIMIT 1)
     WHERE a.integration_id = $1 AND a.user_id IS NULL AND a.email IS NULL
       AND EXISTS (SELECT 1 FROM users u WHERE u.username = a.username)",
    "INSERT INTO users (id, username, display_name)
     SELECT DISTINCT ON (a.username) uuid_generate_v7(), a.username, a.display_name
     FROM accounts a
     WHERE a.integration_id = $1 AND a.user_id IS NULL AND a.email IS NULL
     ORDER BY a.username, a.id",
    "UPDATE accounts a
     SET user_id = (SELECT u.id FROM users u WHERE u.username = a.username ORDER BY u.id LIMIT 1)
     WHERE a.integration_id = $1 AND a.user_id IS NULL AND a.email IS NULL",
];

/// Problems seen this run are recorded (counted when they persist); problems not seen again are
/// cleared.
const RECORD_PROBLEMS: &str = "
    INSERT INTO sync_errors (integration_id, object, message)
    SELECT DISTINCT ON (object) $1, object, message FROM stage_problems ORDER BY object
    ON CONFLICT (integration_id, object) DO UPDATE
        SET message = excluded.message, last_seen = now(), count = sync_errors.count + 1";

const CLEAR_PROBLEMS: &str = "
    DELETE FROM sync_errors e
    WHERE e.integration_id = $1
      AND NOT EXISTS (SELECT 1 FROM stage_problems p WHERE p.object = e.object)";

const COUNT_PROBLEMS: &str = "SELECT count(DISTINCT object) FROM stage_problems";

const COUNT_LIVE: &str = "
    SELECT (SELECT count(*) FROM accounts WHERE integration_id = $1 AND deleted_at IS NULL),
           (SELECT count(*) FROM resources WHERE integration_id = $1 AND deleted_at IS NULL)";

const COUNT_STAGED: &str = "
    SELECT (SELECT count(DISTINCT external_id) FROM stage_accounts),
           (SELECT count(DISTINCT external_id) FROM stage_resources)";

/// What the merge found, before the caller decides to commit.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    pub stats: RunStats,
    /// Live objects before the merge, for the mass-deletion guard.
    pub live_accounts_before: i64,
    pub live_resources_before: i64,
    /// Access pairs naming accounts or resources outside the synced ones.
    pub unresolved_access: i64,
}

/// Applies the staged listing inside `tx`; the caller commits or rolls back.
pub async fn apply(
    tx: &Transaction<'_>,
    integration_id: Uuid,
    run_id: Uuid,
) -> Result<Merged, tokio_postgres::Error> {
    let id = &integration_id;
    let both: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&integration_id, &run_id];
    tx.batch_execute(PLANNER_SETTINGS).await?;
    tx.batch_execute(ANALYZE).await?;
    let live = tx.query_one(COUNT_LIVE, &[id]).await?;
    let staged = tx.query_one(COUNT_STAGED, &[]).await?;
    let mut merged = Merged {
        live_accounts_before: live.get(0),
        live_resources_before: live.get(1),
        ..Default::default()
    };

    let restored: i64 = tx.query_one(RESTORE_RESOURCES, &both).await?.get(0);
    let upserted = tx.query_one(UPSERT_RESOURCES, &[id]).await?;
    let deleted: i64 = tx.query_one(DELETE_RESOURCES, &both).await?.get(0);
    merged.stats.resources = counts(
        staged.get(1),
        upserted.get(0),
        upserted.get::<_, i64>(1) + restored,
        deleted,
    );

    let restored = tx.execute(RESTORE_ACCOUNTS, &[id]).await? as i64;
    let upserted = tx.query_one(UPSERT_ACCOUNTS, &[id]).await?;
    let deleted = tx.execute(DELETE_ACCOUNTS, &[id]).await? as i64;
    merged.stats.accounts = counts(
        staged.get(0),
        upserted.get(0),
        upserted.get::<_, i64>(1) + restored,
        deleted,
    );

    let staged_attributes: i64 = tx.query_one(COUNT_STAGED_ATTRIBUTES, &[]).await?.get(0);
    let upserted = tx.query_one(UPSERT_ATTRIBUTES, &[id]).await?;
    let removed = tx.execute(DELETE_ATTRIBUTES, &[id]).await? as i64;
    merged.stats.attributes = counts(staged_attributes, upserted.get(0), upserted.get(1), removed);

    for statement in LINK_USERS {
        if statement.contains("$1") {
            tx.execute(*statement, &[id]).await?;
        } else {
            tx.execute(*statement, &[]).await?;
        }
    }

    tx.execute(RESOLVE_ACCESS, &[id]).await?;
    merged.unresolved_access = tx.query_one(COUNT_UNRESOLVED_ACCESS, &[]).await?.get(0);
    let resolved: i64 = tx.query_one(COUNT_RESOLVED_ACCESS, &[]).await?.get(0);
    let added = tx.execute(INSERT_ACCESS, &[id]).await? as i64;
    let closed = tx.execute(CLOSE_ACCESS, &[id]).await? as i64;
    merged.stats.access = counts(resolved, added, 0, closed);

    tx.execute(RECORD_PROBLEMS, &[id]).await?;
    tx.execute(CLEAR_PROBLEMS, &[id]).await?;
    merged.stats.errors = tx.query_one(COUNT_PROBLEMS, &[]).await?.get(0);
    Ok(merged)
}

/// Listed objects that were neither created nor updated are unchanged.
fn counts(listed: i64, created: i64, updated: i64, deleted: i64) -> ChangeCounts {
    ChangeCounts {
        created,
        updated,
        deleted,
        unchanged: (listed - created - updated).max(0),
    }
}

/// The first changes of a merge, for a dry run's report: rows this transaction created,
/// restored or soft deleted carry its start time (`now()`).
pub async fn preview(
    tx: &Transaction<'_>,
    integration_id: Uuid,
    limit: i64,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let rows = tx
        .query(
            "(SELECT 'account ' || CASE WHEN deleted_at = now() THEN 'deleted'
                     WHEN created_at = now() THEN 'created' ELSE 'updated' END || ': ' || username
              FROM accounts WHERE integration_id = $1
                AND (created_at = now() OR updated_at = now()) LIMIT $2)
             UNION ALL
             (SELECT 'resource ' || CASE WHEN deleted_at = now() THEN 'deleted'
                     WHEN created_at = now() THEN 'created' ELSE 'updated' END || ': ' || name
              FROM resources WHERE integration_id = $1
                AND (created_at = now() OR updated_at = now()) LIMIT $2)",
            &[&integration_id, &limit],
        )
        .await?;
    Ok(rows.into_iter().map(|row| row.get(0)).collect())
}
