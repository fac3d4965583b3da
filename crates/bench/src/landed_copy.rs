//! The write side of the connector modes' floor (`--ldap`, `--scim`, `--mysql`): a raw binary
//! COPY of exactly the rows the sync landed. Comparing the sync with COPYing its own output
//! (rather than freshly generated rows) keeps the row shapes and sizes identical on both sides.
//!
//! The rows (accounts, account_attributes, resources, pulled_access) are read out with
//! `COPY (SELECT …) TO STDOUT (FORMAT binary)` beforehand, untimed, into temporary files (held
//! in memory they would be the process's peak RSS, which is the sync's figure); only COPYing
//! them from there (the page cache) into `LIKE … INCLUDING ALL` tables (keys, indexes and
//! defaults; no foreign keys), in 64 KiB messages, in one committed transaction is timed.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures::{SinkExt, TryStreamExt, pin_mut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_postgres::Client;
use uuid::Uuid;

use crate::settle;

/// Bytes per COPY message.
const CHUNK_BYTES: usize = 64 * 1024;

/// A temporary file of one table's landed rows (binary COPY format), removed when dropped.
struct RowsFile(std::path::PathBuf);

impl RowsFile {
    fn new(table: &str) -> Self {
        let name = format!(
            "oblique-bench-{}-{table}.copy",
            uuid::Uuid::new_v4().simple()
        );
        RowsFile(std::env::temp_dir().join(name))
    }
}

impl Drop for RowsFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

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
    let mut files = Vec::new();
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
        pin_mut!(stream);
        let file = RowsFile::new(table);
        let mut out = tokio::io::BufWriter::new(tokio::fs::File::create(&file.0).await?);
        while let Some(chunk) = stream.try_next().await? {
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
        files.push(file);
    }
    settle(client).await?;

    let mut result = LandedCopy::default();
    let started = Instant::now();
    let tx = client.transaction().await?;
    for ((table, copy_table, _), file) in sources.iter().zip(&files) {
        let step = Instant::now();
        let sink = tx
            .copy_in(&format!("COPY {copy_table} FROM STDIN (FORMAT binary)"))
            .await?;
        pin_mut!(sink);
        let mut rows_file = tokio::fs::File::open(&file.0).await?;
        loop {
            let mut chunk = BytesMut::with_capacity(CHUNK_BYTES);
            if rows_file.read_buf(&mut chunk).await? == 0 {
                break;
            }
            sink.send(chunk.freeze()).await?;
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
