//! Figures read for the metrics scrape: how the run queue and the pushes stand right now.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Double};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// How the queue of runs stands.
#[derive(QueryableByName, Debug, Clone, Copy, PartialEq)]
pub struct Queue {
    /// Runs queued, waiting for a worker.
    #[diesel(sql_type = BigInt)]
    pub depth: i64,
    /// Seconds the oldest of them has waited; 0 when none waits.
    #[diesel(sql_type = Double)]
    pub oldest_seconds: f64,
}

pub async fn queue(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Queue> {
    diesel::sql_query(
        "SELECT count(*) AS depth,
                COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_seconds
         FROM sync_runs WHERE state = 'queued'",
    )
    .get_result(conn)
    .await
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Live push-mode resources whose last push failed (retried with backoff, removals for ever).
pub async fn resources_in_error(conn: &mut AsyncPgConnection) -> diesel::QueryResult<i64> {
    let counted: Count = diesel::sql_query(
        "SELECT count(*) AS count FROM resources
         WHERE propagation_status = 'error' AND deleted_at IS NULL",
    )
    .get_result(conn)
    .await?;
    Ok(counted.count)
}
