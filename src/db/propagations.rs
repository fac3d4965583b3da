//! Queries on `propagations`: per (push-mode resource, user), what pushing the decision to the
//! remote system last did.

use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// Marks the user's membership of the resource as waiting to be pushed (after a grant, a
/// revocation, a team change …); the next run of the resource's integration pushes it.
pub async fn mark_pending(
    conn: &mut AsyncPgConnection,
    resource_id: Uuid,
    user_id: Uuid,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO propagations (resource_id, user_id, integration_id)
         SELECT id, $2, integration_id FROM resources WHERE id = $1
         ON CONFLICT (resource_id, user_id) DO UPDATE
             SET status = 'pending', error = NULL, attempts = 0, next_attempt_at = now(),
                 updated_at = now()",
    )
    .bind::<SqlUuid, _>(resource_id)
    .bind::<SqlUuid, _>(user_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets what pushing to a resource was doing (it went back to pull mode, or was removed):
/// nothing is pushed to it any more, retries included.
pub async fn forget_resource(
    conn: &mut AsyncPgConnection,
    resource_id: Uuid,
) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM propagations WHERE resource_id = $1")
        .bind::<SqlUuid, _>(resource_id)
        .execute(conn)
        .await
}

/// Same, for every resource of a removed integration.
pub async fn forget_integration(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM propagations WHERE integration_id = $1")
        .bind::<SqlUuid, _>(integration_id)
        .execute(conn)
        .await
}
