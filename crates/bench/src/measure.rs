//! What a run cost besides time: rows written to the synced tables (PostgreSQL's cumulative
//! statistics), WAL generated, and this process's memory.

use std::time::{Duration, Instant};

use tokio_postgres::Client;

/// The tables that hold synced data.
pub const SYNCED_TABLES: [&str; 5] = [
    "accounts",
    "account_attributes",
    "resources",
    "pulled_access",
    "users",
];

/// Rows inserted, updated and deleted in one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Writes {
    pub inserted: i64,
    pub updated: i64,
    pub deleted: i64,
}

impl Writes {
    pub fn total(&self) -> i64 {
        self.inserted + self.updated + self.deleted
    }
}

/// Per synced table, in [`SYNCED_TABLES`] order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableWrites(pub [Writes; 5]);

impl TableWrites {
    pub fn total(&self) -> i64 {
        self.0.iter().map(Writes::total).sum()
    }

    pub fn since(&self, before: &TableWrites) -> TableWrites {
        let mut delta = TableWrites::default();
        for (i, (now, then)) in self.0.iter().zip(&before.0).enumerate() {
            delta.0[i] = Writes {
                inserted: now.inserted - then.inserted,
                updated: now.updated - then.updated,
                deleted: now.deleted - then.deleted,
            };
        }
        delta
    }

    /// `accounts +0 ~1000 -0, …` for the tables that saw writes.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = SYNCED_TABLES
            .iter()
            .zip(&self.0)
            .filter(|(_, w)| w.total() > 0)
            .map(|(table, w)| format!("{table} +{} ~{} -{}", w.inserted, w.updated, w.deleted))
            .collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }
}

async fn read_writes(client: &Client) -> Result<TableWrites, tokio_postgres::Error> {
    client
        .execute("SELECT pg_stat_clear_snapshot()", &[])
        .await?;
    let rows = client
        .query(
            "SELECT relname::text, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables
             WHERE relid = ANY(ARRAY['accounts', 'account_attributes', 'resources',
                                     'pulled_access', 'users']::regclass[])",
            &[],
        )
        .await?;
    let mut writes = TableWrites::default();
    for row in rows {
        let name: String = row.get(0);
        if let Some(i) = SYNCED_TABLES.iter().position(|t| *t == name) {
            writes.0[i] = Writes {
                inserted: row.get(1),
                updated: row.get(2),
                deleted: row.get(3),
            };
        }
    }
    Ok(writes)
}

/// The synced tables' write counters once every run's backend has reported. A backend flushes
/// its counters when it exits (the run's staging connection closes at the end of the run), else
/// at most about a second after a transaction: wait for the staging backends to be gone, then
/// until the counters hold still (bounded).
pub async fn settled_writes(client: &Client) -> Result<TableWrites, tokio_postgres::Error> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let staging: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND application_name = 'oblique-sync'",
                &[],
            )
            .await?
            .get(0);
        if staging == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut last = read_writes(client).await?;
    let mut still = 0;
    while still < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = read_writes(client).await?;
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
    Ok(last)
}

/// The server's current WAL position, in bytes.
pub async fn wal_lsn(client: &Client) -> Result<i64, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

/// A field of /proc/self/status in MB (`VmHWM`: peak resident set; `VmRSS`: current).
pub fn proc_status_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// This process's CPU time so far (user + system, all threads), from `/proc/self/stat`: what
/// the service itself spent, apart from the servers it waited on (PostgreSQL, slapd run in
/// processes of their own) and from the time other programs on a loaded machine took.
pub fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5), the 12th and 13th after the name, in
    // clock ticks of 1/100 s (USER_HZ on Linux).
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}
