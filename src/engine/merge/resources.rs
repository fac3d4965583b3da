//! Resources: restore re-appearing ones, insert new ones, update changed ones, soft delete the
//! ones not listed (unless they were listed but unreadable). Restores and soft deletes are
//! audited one by one.

use tokio_postgres::Transaction;
use uuid::Uuid;

use super::counts;
use crate::model::principal::SYSTEM_NAME;
use crate::model::run_stats::ChangeCounts;
use crate::model::{AuditAction, Role};

const RESTORE: &str = "
    WITH restored AS (
        UPDATE resources r SET deleted_at = NULL, updated_at = now()
        FROM stage_resources s
        WHERE r.integration_id = $1 AND r.external_id = s.external_id AND r.deleted_at IS NOT NULL
        RETURNING r.id, r.name, r.external_id
    ), audited AS (
        INSERT INTO audit_events (id, actor_name, actor_role, action, integration_id, resource_id, details)
        SELECT uuid_generate_v7(), $3, $4, $5, $1, id,
               json_build_object('run_id', $2::uuid, 'name', name, 'external_id', external_id)
        FROM restored
    )
    SELECT count(*) FROM restored";

const UPSERT: &str = "
    WITH upserted AS (
        INSERT INTO resources (id, integration_id, external_id, resource_type, name, description)
        SELECT s.id, $1, s.external_id, s.resource_type, s.name, s.description
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

const SOFT_DELETE: &str = "
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
        SELECT uuid_generate_v7(), $3, $4, $5, $1, id,
               json_build_object('run_id', $2::uuid, 'name', name, 'external_id', external_id)
        FROM gone
    )
    SELECT count(*) FROM gone";

/// Merges the staged resources; `listed` is how many distinct ones were staged.
pub async fn merge(
    tx: &Transaction<'_>,
    integration_id: Uuid,
    run_id: Uuid,
    listed: i64,
) -> Result<ChangeCounts, tokio_postgres::Error> {
    // The audited actor is the service itself, and the words are the model's.
    let system = Role::System.as_str();
    let restore = AuditAction::ResourceRestore.as_str();
    let soft_delete = AuditAction::ResourceSoftDelete.as_str();
    let restored: i64 = tx
        .query_one(
            RESTORE,
            &[&integration_id, &run_id, &SYSTEM_NAME, &system, &restore],
        )
        .await?
        .get(0);
    let upserted = tx.query_one(UPSERT, &[&integration_id]).await?;
    let deleted: i64 = tx
        .query_one(
            SOFT_DELETE,
            &[
                &integration_id,
                &run_id,
                &SYSTEM_NAME,
                &system,
                &soft_delete,
            ],
        )
        .await?
        .get(0);
    Ok(counts(
        listed,
        upserted.get(0),
        upserted.get::<_, i64>(1) + restored,
        deleted,
    ))
}
