//! Counts each ended run for the metrics scrape: `oblique_sync_runs_total{type, trigger,
//! state}`, its duration, and the rows a run that applied its changes wrote.

use std::time::Duration;

use super::Engine;
use super::stopped::Stopped;
use crate::db::integrations;
use crate::db::models::SyncRunRow;
use crate::metrics::{IntegrationType, RowKind, RunEnded};
use crate::model::RunState;
use crate::model::run_stats::RunStats;

/// Counts the run, which ended with `outcome` after `duration`.
pub(super) async fn count_run(
    engine: &Engine,
    run: &SyncRunRow,
    outcome: &Result<RunStats, Stopped>,
    duration: Duration,
) {
    let state = match outcome {
        Ok(_) => RunState::Succeeded,
        Err(Stopped::Cancelled) => RunState::Cancelled,
        Err(Stopped::Failed(_) | Stopped::Unreachable(_)) => RunState::Failed,
    };
    let r#type = integration_type(engine, run).await;
    let metrics = &engine.metrics;
    let ended = RunEnded {
        r#type: r#type.clone(),
        trigger: run.trigger.as_str().to_string(),
        state: state.as_str().to_string(),
    };
    metrics.sync_runs.get_or_create(&ended).inc();
    metrics
        .sync_run_seconds
        .get_or_create(&IntegrationType { r#type })
        .observe(duration.as_secs_f64());
    let Ok(stats) = outcome else { return };
    if run.dry_run {
        return;
    }
    for (kind, counts) in [
        ("accounts", &stats.accounts),
        ("attributes", &stats.attributes),
        ("resources", &stats.resources),
        ("access", &stats.access),
    ] {
        let written = u64::try_from(counts.changed()).unwrap_or_default();
        let kind = RowKind {
            kind: kind.to_string(),
        };
        metrics.rows_written.get_or_create(&kind).inc_by(written);
    }
}

/// The run's integration type; `unknown` when the database cannot say just now (the run may
/// have failed for that very reason), so that the run is counted all the same.
async fn integration_type(engine: &Engine, run: &SyncRunRow) -> String {
    let Ok(mut conn) = engine.pool.get().await else {
        return "unknown".into();
    };
    match integrations::find(&mut conn, run.integration_id).await {
        Ok(Some(integration)) => integration.integration_type,
        _ => "unknown".into(),
    }
}
