//! Where a sync run is in its life: queued → running → succeeded | failed | cancelled (and
//! running → queued again when its worker shuts down).

use diesel::expression::AsExpression;
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};

use super::text_column::text_column;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    AsExpression,
    diesel::deserialize::FromSqlRow,
    Serialize,
    Deserialize,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Waiting for a worker on any replica.
    Queued,
    /// Claimed by a worker that holds its lease.
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl RunState {
    pub const ALL: [RunState; 5] = [
        RunState::Queued,
        RunState::Running,
        RunState::Succeeded,
        RunState::Failed,
        RunState::Cancelled,
    ];

    /// The states that hold the integration's single active slot (the partial unique index
    /// `sync_runs_one_active` names the same two).
    pub const ACTIVE: [RunState; 2] = [RunState::Queued, RunState::Running];

    /// The name in the database, in events and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }

    /// Whether the run has ended; an ended run never changes again.
    pub fn is_finished(self) -> bool {
        match self {
            RunState::Queued | RunState::Running => false,
            RunState::Succeeded | RunState::Failed | RunState::Cancelled => true,
        }
    }
}

text_column!(RunState, "run state");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_from_its_name_and_nothing_else_does() {
        for state in RunState::ALL {
            assert_eq!(RunState::parse(state.as_str()), Some(state));
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
        assert_eq!(RunState::parse("Running"), None);
        assert_eq!(RunState::parse(""), None);
        assert!(serde_json::from_str::<RunState>("\"unspecified\"").is_err());
    }

    #[test]
    fn only_queued_and_running_are_active() {
        for state in RunState::ALL {
            assert_eq!(RunState::ACTIVE.contains(&state), !state.is_finished());
        }
    }
}
