//! `sync_run_changes`: the whole difference a dry run found, one row per change in list order
//! (`seq`). The engine streams a dry run's difference into it with binary COPY in the
//! transaction that ends the run (see `engine::dry_run`); ListSyncRunChanges reads it back a
//! page at a time.

use bytes::BytesMut;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures::SinkExt;
use tokio::io::{AsyncRead, AsyncReadExt};
use uuid::Uuid;

use super::schema::sync_run_changes;
use crate::model::RunChangeKind;

/// The table's columns in the order a COPY of it carries them; whoever writes the rows writes
/// these, with these types (binary COPY checks nothing): uuid, bigint, text, uuid, text, text,
/// uuid, text, text, text, boolean.
pub const COPY_COLUMNS: &str = "run_id, seq, kind, resource_id, resource_external_id, \
                                resource_name, account_id, account_external_id, \
                                account_username, account_display_name, inherited";

/// Bytes read from the spooled difference per message to the server.
const CHUNK: usize = 256 * 1024;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sync_run_changes, check_for_backend(diesel::pg::Pg))]
pub struct RunChangeRow {
    pub run_id: Uuid,
    pub seq: i64,
    pub kind: RunChangeKind,
    /// `None` for an object the dry run would have created (it has no id yet).
    pub resource_id: Option<Uuid>,
    pub resource_external_id: Option<String>,
    pub resource_name: Option<String>,
    pub account_id: Option<Uuid>,
    pub account_external_id: Option<String>,
    pub account_username: Option<String>,
    pub account_display_name: Option<String>,
    pub inherited: bool,
}

/// Up to `limit` of the run's changes in list order, after the change `after` (the primary key
/// `(run_id, seq)` serves both the filter and the order).
pub async fn list_page(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<RunChangeRow>> {
    let mut query = sync_run_changes::table
        .filter(sync_run_changes::run_id.eq(run_id))
        .select(RunChangeRow::as_select())
        .order(sync_run_changes::seq.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(sync_run_changes::seq.gt(after));
    }
    query.load(conn).await
}

/// Stores the rows of a binary COPY stream of [`COPY_COLUMNS`] (header to trailer, as `COPY …
/// TO STDOUT (FORMAT binary)` wrote them) read from `rows`, inside the caller's transaction on
/// the engine's tokio-postgres connection; answers how many. Memory stays at one chunk
/// whatever the size.
pub async fn copy_in(
    tx: &tokio_postgres::Transaction<'_>,
    mut rows: impl AsyncRead + Unpin,
) -> anyhow::Result<u64> {
    let sink = tx
        .copy_in::<_, bytes::Bytes>(&format!(
            "COPY sync_run_changes ({COPY_COLUMNS}) FROM STDIN (FORMAT binary)"
        ))
        .await?;
    futures::pin_mut!(sink);
    let mut buf = BytesMut::with_capacity(CHUNK);
    loop {
        buf.reserve(CHUNK);
        if rows.read_buf(&mut buf).await? == 0 {
            break;
        }
        if buf.len() >= CHUNK {
            sink.send(buf.split().freeze()).await?;
        }
    }
    if !buf.is_empty() {
        sink.send(buf.split().freeze()).await?;
    }
    Ok(sink.finish().await?)
}
