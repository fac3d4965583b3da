//! A dry run's ending: its whole difference, read out of the merge transaction before that rolls
//! back, kept with the run (`sync_run_changes`, listed by ListSyncRunChanges).
//!
//! The difference may be as large as a first sync (a million memberships), so it never sits in
//! memory: it streams (binary COPY) into an anonymous temporary file while the merge
//! transaction is open, and from there, once that rolled back, into `sync_run_changes` in the
//! transaction that ends the run as succeeded. A run cancelled, failed or stopped anywhere in
//! between keeps no list at all; a succeeded one has all of it. The file is unlinked from the
//! start, so it vanishes with its handle, even if the process dies.

use futures::TryStreamExt;
use tokio::io::{AsyncSeekExt, AsyncWriteExt, BufWriter};
use tokio_postgres::Transaction;

use super::merge;
use super::run_handle::RunHandle;
use super::stage::Staging;
use super::stopped::{Stopped, internal};
use crate::db::run_changes;
use crate::db::run_events::{EventDraft, EventKind, emit_in};
use crate::db::runs::in_merge::finish_in;
use crate::db::runs::{Ending, Finish};
use crate::model::run_stats::RunStats;

/// The difference, spooled to disk while the merge transaction is still open.
pub struct Spooled {
    file: tokio::fs::File,
    bytes: u64,
    took: std::time::Duration,
}

/// Streams the difference the merge made in `tx` to a temporary file.
pub async fn spool(
    tx: &Transaction<'_>,
    integration_id: uuid::Uuid,
    run_id: uuid::Uuid,
    access_compared: bool,
) -> anyhow::Result<Spooled> {
    let started = std::time::Instant::now();
    let file = tokio::task::spawn_blocking(tempfile::tempfile).await??;
    let mut out = BufWriter::new(tokio::fs::File::from_std(file));
    let sql = merge::difference_copy_sql(integration_id, run_id, access_compared);
    let stream = tx.copy_out(&sql).await?;
    futures::pin_mut!(stream);
    while let Some(chunk) = stream.try_next().await? {
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    let mut file = out.into_inner();
    let bytes = file.stream_position().await?;
    file.rewind().await?;
    Ok(Spooled {
        file,
        bytes,
        took: started.elapsed(),
    })
}

/// Ends the dry run as succeeded with `stats` and `summary` (its FINISHED message), after its
/// `warnings`, storing the spooled difference with it, all in one transaction on the staging
/// connection (the merge's has rolled back). `Err(Cancelled)` when the run was no longer ours:
/// then nothing of it is stored.
pub async fn finish(
    handle: &RunHandle<'_>,
    staging: &mut Staging,
    stats: RunStats,
    summary: String,
    warnings: Vec<EventDraft>,
    spooled: Spooled,
) -> Result<RunStats, Stopped> {
    // A run stopped meanwhile has already been ended by whoever stopped it.
    handle.check_not_stopped()?;
    let run_id = handle.run.id;
    let started = std::time::Instant::now();
    let tx = staging.client().transaction().await.map_err(internal)?;
    let listed = run_changes::copy_in(&tx, spooled.file)
        .await
        .map_err(internal)?;
    for warning in warnings {
        emit_in(&tx, run_id, warning).await.map_err(internal)?;
    }
    emit_in(&tx, run_id, where_to_see(run_id, listed))
        .await
        .map_err(internal)?;
    let succeeded = Finish {
        run_id,
        holder: Some(handle.worker),
        ending: Ending::Succeeded { stats, summary },
        ended_by: None,
    };
    if !finish_in(&tx, &succeeded).await.map_err(internal)? {
        // Cancelled while storing: the rollback leaves no list.
        tx.rollback().await.map_err(internal)?;
        return Err(Stopped::Cancelled);
    }
    tx.commit().await.map_err(internal)?;
    // What the list cost a large dry run: its time inside the merge transaction, and after.
    tracing::info!(
        %run_id,
        changes = listed,
        spooled_bytes = spooled.bytes,
        spool_ms = spooled.took.as_millis() as u64,
        store_ms = started.elapsed().as_millis() as u64,
        "dry run changes recorded"
    );
    Ok(stats)
}

/// The one event that says how many changes there are and where to see them (the list used to
/// be sampled into events; now it is all in ListSyncRunChanges).
fn where_to_see(run_id: uuid::Uuid, listed: u64) -> EventDraft {
    let changes = if listed == 1 { "change" } else { "changes" };
    EventDraft::new(EventKind::Warning).message(format!(
        "dry run: {listed} {changes} listed; see ListSyncRunChanges with run_id {run_id} \
         (oblique runs changes {run_id})"
    ))
}
