//! The integrations `--rpc` reads: rows written straight into the table (creating them through
//! the API would check each one's credentials against a real server), with the ids `pgbench`
//! picks from.

use uuid::Uuid;

/// Inserts `count` `postgres` integrations and a table `bench_integration_ids (n, id)` numbering
/// them from 1; returns their ids in that order.
pub async fn integrations(url: &str, count: usize) -> anyhow::Result<Vec<Uuid>> {
    let (client, connection) = oblique::db::connect::connect(url).await?;
    let connection = tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "CREATE TABLE bench_integration_ids (n int PRIMARY KEY, id uuid NOT NULL);
             INSERT INTO bench_integration_ids
             SELECT n, uuid_generate_v7() FROM generate_series(1, {count}) n;
             INSERT INTO integrations (id, integration_type, name, config,
                                       create_resources_for_new_teams, sync_interval_seconds,
                                       max_deletion_percent, link_users_by)
             SELECT id, 'postgres', 'bench-' || n,
                    jsonb_build_object('host', 'db' || n || '.example.org', 'port', 5432,
                                       'database', 'app', 'username', 'oblique',
                                       'sslmode', 'verify-full'),
                    false, 3600, 20, 'username'
             FROM bench_integration_ids;
             ANALYZE integrations, bench_integration_ids"
        ))
        .await?;
    let ids = client
        .query("SELECT id FROM bench_integration_ids ORDER BY n", &[])
        .await?
        .into_iter()
        .map(|row| row.get(0))
        .collect();
    drop(client);
    let _ = connection.await;
    Ok(ids)
}
