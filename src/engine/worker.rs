//! The workers: each slot claims queued runs one at a time and executes them under supervision.
//! A run that panics ends FAILED with the panic's message, its lease keeper dies with it, and
//! the slot goes on with the next run; a panic anywhere else in the slot restarts the slot.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::stopped::Stopped;
use super::{Engine, lease, run_metrics, runner};
use crate::db::models::SyncRunRow;
use crate::db::runs::{self, Ending, Finish};
use crate::model::run_stats::RunStats;

/// Panic messages longer than this are cut in the run's error (the log has them whole).
const PANIC_MESSAGE_MAX: usize = 500;

/// Runs worker `slot` until `shutdown`, starting it again whenever it panics.
pub(super) async fn supervise(engine: Arc<Engine>, slot: usize, shutdown: CancellationToken) {
    loop {
        let task = tokio::spawn(worker(engine.clone(), slot, shutdown.clone()));
        match task.await {
            Ok(()) => return,
            Err(error) if error.is_panic() => {
                let panic = panic_message(error.into_panic());
                tracing::error!(slot, %panic, "a sync worker panicked; starting it again");
                // Not at once: a slot that panics on every claim must not spin.
                tokio::select! {
                    () = tokio::time::sleep(engine.config.poll) => {}
                    () = shutdown.cancelled() => return,
                }
            }
            Err(_) => return,
        }
    }
}

async fn worker(engine: Arc<Engine>, slot: usize, shutdown: CancellationToken) {
    let name = format!("{}/{slot}", engine.instance);
    while !shutdown.is_cancelled() {
        let claimed = async {
            let mut conn = engine.pool.get().await?;
            anyhow::Ok(runs::claim(&mut conn, &name, engine.config.lease).await?)
        }
        .await;
        match claimed {
            Ok(Some(run)) => {
                // Everything the run logs, down to the connectors, carries these.
                let span = tracing::info_span!("run", run_id = %run.id, integration_id = %run.integration_id);
                execute(&engine, &name, run, &shutdown)
                    .instrument(span)
                    .await
            }
            Ok(None) => {
                tokio::select! {
                    () = engine.hub.run_queued() => {}
                    () = tokio::time::sleep(engine.config.poll) => {}
                    () = shutdown.cancelled() => {}
                }
            }
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), worker = %name, "claiming a sync run failed");
                tokio::select! {
                    () = tokio::time::sleep(engine.config.poll) => {}
                    () = shutdown.cancelled() => {}
                }
            }
        }
    }
}

/// Aborts the task when dropped: a lease keeper ends with its run however the run ends
/// (returned, panicked, or dropped at shutdown).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How a claimed run came back to its worker.
enum Outcome {
    Ended(Result<RunStats, Stopped>),
    /// The process is shutting down: the run goes back to the queue.
    ShutDown,
}

async fn execute(
    engine: &Arc<Engine>,
    worker: &str,
    run: SyncRunRow,
    shutdown: &CancellationToken,
) {
    tracing::info!(run_id = %run.id, integration_id = %run.integration_id, trigger = %run.trigger, dry_run = run.dry_run, "sync run started");
    let started = std::time::Instant::now();
    let stop = CancellationToken::new();
    let keeper = AbortOnDrop(tokio::spawn(
        lease::keep_lease(engine.clone(), worker.to_string(), run.id, stop.clone())
            .in_current_span(),
    ));
    // The run's own resources (connections, staging) are dropped as the panic unwinds; nothing
    // it shared with the rest of the process is left half-changed, so unwind safety holds.
    let supervised = AssertUnwindSafe(runner::pull(engine, worker, &run, &stop)).catch_unwind();
    // Dropped at the deadline like at shutdown: the merge's transaction rolls back with its
    // connection, so nothing of a run cut short is applied.
    let bounded = tokio::time::timeout(engine.config.run_timeout, supervised);
    let outcome = tokio::select! {
        ended = bounded => Outcome::Ended(match ended {
            Ok(Ok(ended)) => ended,
            Ok(Err(panic)) => {
                let panic = panic_message(panic);
                tracing::error!(run_id = %run.id, %panic, "sync run panicked");
                Err(Stopped::Failed(format!("the sync worker panicked: {}", cut(&panic))))
            }
            Err(_) => Err(Stopped::Failed(format!(
                "the run exceeded its deadline of {}",
                duration_text(engine.config.run_timeout)
            ))),
        }),
        () = shutdown.cancelled() => Outcome::ShutDown,
    };
    drop(keeper);
    if let Outcome::Ended(ended) = &outcome {
        run_metrics::count_run(engine, &run, ended, started.elapsed()).await;
    }
    record(engine, worker, &run, outcome, shutdown).await;
}

/// Stores how the run ended (the runner already stored a success or a cancellation). Oblique's
/// database may be restarting just then (the run may have failed for that very reason): the
/// write is tried again, with backoff, while the run's lease lasts, so that a run ends FAILED
/// once the database is back rather than stay RUNNING until the reaper finds its lease expired.
/// At shutdown it is tried once: the process is on its way out, and the lease covers the rest.
async fn record(
    engine: &Engine,
    worker: &str,
    run: &SyncRunRow,
    outcome: Outcome,
    shutdown: &CancellationToken,
) {
    match &outcome {
        Outcome::Ended(Ok(stats)) => {
            tracing::info!(run_id = %run.id, changed = stats.changed(), errors = stats.errors, "sync run succeeded");
            return;
        }
        Outcome::Ended(Err(Stopped::Cancelled)) => {
            tracing::info!(run_id = %run.id, "sync run cancelled; nothing applied");
            return;
        }
        Outcome::Ended(Err(Stopped::Failed(message) | Stopped::Unreachable(message))) => {
            tracing::warn!(run_id = %run.id, error = %message, "sync run failed; nothing applied");
        }
        Outcome::ShutDown => {}
    }
    let started = tokio::time::Instant::now();
    let mut pause = RECORD_RETRY_FIRST;
    loop {
        let Err(error) = write_outcome(engine, worker, run, &outcome).await else {
            return;
        };
        let out_of_time = started.elapsed() + pause >= engine.config.lease;
        if matches!(outcome, Outcome::ShutDown) || out_of_time || shutdown.is_cancelled() {
            // The lease will expire and the reaper end or requeue the run.
            tracing::error!(error = format!("{error:#}"), run_id = %run.id, "cannot record the run's outcome");
            return;
        }
        tracing::warn!(error = format!("{error:#}"), run_id = %run.id, "recording the run's outcome failed; trying again");
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = shutdown.cancelled() => {}
        }
        pause = (pause * 2).min(RECORD_RETRY_MAX);
    }
}

/// Backoff between attempts to record a run's outcome.
const RECORD_RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(100);
const RECORD_RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(5);

async fn write_outcome(
    engine: &Engine,
    worker: &str,
    run: &SyncRunRow,
    outcome: &Outcome,
) -> anyhow::Result<()> {
    let mut conn = engine.pool.get().await?;
    match outcome {
        Outcome::Ended(Err(Stopped::Failed(message) | Stopped::Unreachable(message))) => {
            let failed = Finish {
                run_id: run.id,
                holder: Some(worker),
                ending: Ending::Failed {
                    error: message.clone(),
                },
                ended_by: None,
            };
            runs::finish(&mut conn, &failed).await?;
        }
        Outcome::ShutDown => runs::requeue(&mut conn, run.id, worker).await?,
        Outcome::Ended(_) => {}
    }
    Ok(())
}

/// The text a panic was raised with.
fn panic_message(panic: Box<dyn Any + Send>) -> String {
    match panic.downcast::<String>() {
        Ok(message) => *message,
        Err(panic) => match panic.downcast::<&'static str>() {
            Ok(message) => (*message).to_string(),
            Err(_) => "a panic without a message".into(),
        },
    }
}

/// `text`, at most [`PANIC_MESSAGE_MAX`] characters of it.
fn cut(text: &str) -> String {
    match text.char_indices().nth(PANIC_MESSAGE_MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// `2h`, `90s`, `1h 30m`: how the deadline reads in a run's error.
fn duration_text(duration: std::time::Duration) -> String {
    let seconds = duration.as_secs();
    if seconds == 0 {
        return format!("{}ms", duration.as_millis());
    }
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let parts = [(hours, "h"), (minutes, "m"), (seconds, "s")];
    let text: Vec<String> = parts
        .iter()
        .filter(|(value, _)| *value > 0)
        .map(|(value, unit)| format!("{value}{unit}"))
        .collect();
    text.join(" ")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{cut, duration_text};

    #[test]
    fn deadlines_read_in_hours_minutes_and_seconds() {
        assert_eq!(duration_text(Duration::from_secs(7200)), "2h");
        assert_eq!(duration_text(Duration::from_secs(5400)), "1h 30m");
        assert_eq!(duration_text(Duration::from_secs(2)), "2s");
        assert_eq!(duration_text(Duration::from_millis(250)), "250ms");
    }

    #[test]
    fn long_panic_messages_are_cut_on_a_character_boundary() {
        let long = "é".repeat(600);
        assert_eq!(cut(&long).chars().count(), 501);
        assert_eq!(cut("short"), "short");
    }
}
