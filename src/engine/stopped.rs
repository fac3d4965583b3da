//! How a run stops short of success, as every phase reports it to the runner.

use crate::connectors::ConnectorError;

/// Why a run stopped before succeeding.
#[derive(Debug)]
pub enum Stopped {
    /// Someone cancelled it (or deleted its integration, or its lease passed to another worker):
    /// whoever did so has already recorded the outcome.
    Cancelled,
    /// The run failed; the message is safe to show callers.
    Failed(String),
    /// The remote system could not be reached: the run fails with this message, and the pushes
    /// waiting for that system count a failed attempt (the runner records them).
    Unreachable(String),
}

impl From<ConnectorError> for Stopped {
    fn from(error: ConnectorError) -> Self {
        match error {
            ConnectorError::Unreachable(reason) => Stopped::Unreachable(reason),
            ConnectorError::InvalidSetup { .. } | ConnectorError::Remote(_) => {
                Stopped::Failed(error.to_string())
            }
        }
    }
}

/// Database trouble while syncing: the details go to the log, callers see a fixed text.
pub(super) fn internal(error: impl std::fmt::Display) -> Stopped {
    tracing::error!(%error, "sync run failed");
    Stopped::Failed("internal error while syncing (details in the service log)".into())
}
