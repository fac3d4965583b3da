//! Where a sync run is in its life: queued → running → succeeded | failed | cancelled (and
//! running → queued again when its worker shuts down).

text_enum! {
    pub enum RunState as "run state" {
        /// Waiting for a worker on any replica.
        Queued = "queued",
        /// Claimed by a worker that holds its lease.
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

impl RunState {
    /// The states that hold the integration's single active slot (the partial unique index
    /// `sync_runs_one_active` names the same two).
    pub const ACTIVE: [RunState; 2] = [RunState::Queued, RunState::Running];

    /// Whether the run has ended; an ended run never changes again.
    pub fn is_finished(self) -> bool {
        match self {
            RunState::Queued | RunState::Running => false,
            RunState::Succeeded | RunState::Failed | RunState::Cancelled => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_from_its_name_and_nothing_else_does() {
        for &state in RunState::ALL {
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
        for &state in RunState::ALL {
            assert_eq!(RunState::ACTIVE.contains(&state), !state.is_finished());
        }
    }
}
