//! The write side of the connector modes' floor (`--ldap`, `--scim`, `--mysql`): a raw binary
//! COPY of exactly the rows the sync landed. Comparing the sync with COPYing its own output
//! (rather than freshly generated rows) keeps the row shapes and sizes identical on both sides.
//!
//! The rows (accounts, account_attributes, resources, pulled_access) are read out with
//! `COPY (SELECT …) TO STDOUT (FORMAT binary)` beforehand, untimed; only COPYing them into
//! `LIKE … INCLUDING ALL` tables (keys, indexes and defaults; no foreign keys) in one committed
//! transaction is timed.

use std::time::{Duration, Instant};

use futures::{SinkExt, TryStreamExt, pin_mut};
use tokio_postgres::Client;
use uuid::Uuid;

use crate::settle;

/// The COPY baseline: per table, rows and time; the total from the first COPY to the commit.
#[derive(Debug, Clone, Default)]
pub struct LandedCopy {
    pub total: Duration,
    pub per_table: Vec<(&'static str, u64, Duration)>,
}

/// Reads the landed rows out (untimed), creates `LIKE … INCLUDING ALL` tables, then times the
/// binary COPY of those rows into them, in one committed transaction.
pub async fn copy_baseline(
    client: &mut Client,
    integration_id: Uuid,
) -> anyhow::Result<LandedCopy> {
    let id = integration_id;
    let sources: [(&'static str, &str, String); 4] = [
        (
            "accounts",
            "bench_landed_accounts",
            format!("SELECT * FROM accounts WHERE integration_id = '{id}'"),
        ),
        (
            "account_attributes",
            "bench_landed_account_attributes",
            format!(
                "SELECT aa.* FROM account_attributes aa JOIN accounts a ON a.id = aa.account_id \
                 WHERE a.integration_id = '{id}'"
            ),
        ),
        (
            "resources",
            "bench_landed_resources",
            format!("SELECT * FROM resources WHERE integration_id = '{id}'"),
        ),
        (
            "pulled_access",
            "bench_landed_pulled_access",
            format!("SELECT * FROM pulled_access WHERE integration_id = '{id}'"),
        ),
    ];
    let mut data = Vec::new();
    for (table, copy_table, select) in &sources {
        client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS {copy_table};
                 CREATE TABLE {copy_table} (LIKE {table} INCLUDING ALL)"
            ))
            .await?;
        let stream = client
            .copy_out(&format!("COPY ({select}) TO STDOUT (FORMAT binary)"))
            .await?;
        let chunks: Vec<_> = stream.try_collect().await?;
        data.push(chunks);
    }
    settle(client).await?;

    let mut result = LandedCopy::default();
    let started = Instant::now();
    let tx = client.transaction().await?;
    for ((table, copy_table, _), chunks) in sources.iter().zip(data) {
        let step = Instant::now();
        let sink = tx
            .copy_in(&format!("COPY {copy_table} FROM STDIN (FORMAT binary)"))
            .await?;
        pin_mut!(sink);
        for chunk in chunks {
            sink.send(chunk).await?;
        }
        let rows = sink.finish().await?;
        result.per_table.push((*table, rows, step.elapsed()));
    }
    let step = Instant::now();
    tx.commit().await?;
    result.per_table.push(("(commit)", 0, step.elapsed()));
    result.total = started.elapsed();
    Ok(result)
}
