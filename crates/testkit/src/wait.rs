//! Waiting for what the service does by itself: runs that end, state that eventually holds.
//! Tests poll rather than sleep, and fail after [`PATIENCE`] rather than hang.

use std::time::Duration;

use oblique::pb;

use crate::grpc::Clients;

/// How long a test waits for something the engine does before it fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

/// The run as it is now.
pub async fn get_run(clients: &Clients, run_id: &str) -> Result<pb::SyncRun, tonic::Status> {
    let request = pb::GetSyncRunRequest { id: run_id.into() };
    Ok(clients
        .sync
        .clone()
        .get_sync_run(request)
        .await?
        .into_inner())
}

/// The run once it reached a final state (polls; fails after [`PATIENCE`]).
pub async fn wait_for_run(clients: &Clients, run_id: &str) -> pb::SyncRun {
    use pb::SyncRunState::{Cancelled, Failed, Succeeded};
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let run = get_run(clients, run_id).await.expect("GetSyncRun");
        if matches!(run.state(), Succeeded | Failed | Cancelled) {
            return run;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "run {run_id} never finished: {run:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Polls `check` until it answers `Some`, failing after [`PATIENCE`] with `what`.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}
