//! Where a sync's time went, read from its own events: how long each listing phase took (from
//! its `phase_started` to its `phase_finished`); the rest of the sync's time is the merge (and
//! the few statements that set the run up). The merge's own events cannot time it: they are
//! written in its transaction, whose `now()` is the time it began.

use std::time::Duration;

use tokio_postgres::Client;
use uuid::Uuid;

/// Each listing phase's time, then the rest.
#[derive(Debug, Clone, Default)]
pub struct PhaseTimes {
    pub accounts: Duration,
    pub resources: Duration,
    pub access: Duration,
    /// The sync's time outside the listings.
    pub merge: Duration,
}

/// Seconds between each listing phase's first and last event.
const PHASES: &str = "
    SELECT phase,
           extract(epoch FROM max(at) FILTER (WHERE kind = 'phase_finished')
                            - min(at) FILTER (WHERE kind = 'phase_started'))::float8
    FROM sync_events WHERE run_id = $1 AND phase IN ('accounts', 'resources', 'access')
    GROUP BY phase";

impl PhaseTimes {
    /// The phases of `run_id`, a sync that took `elapsed`.
    pub async fn of_run(
        client: &Client,
        run_id: Uuid,
        elapsed: Duration,
    ) -> anyhow::Result<PhaseTimes> {
        let mut times = PhaseTimes::default();
        for row in client.query(PHASES, &[&run_id]).await? {
            let seconds: Option<f64> = row.get(1);
            let time = Duration::from_secs_f64(seconds.unwrap_or_default().max(0.0));
            match row.get::<_, &str>(0) {
                "accounts" => times.accounts = time,
                "resources" => times.resources = time,
                _ => times.access = time,
            }
        }
        times.merge = elapsed.saturating_sub(times.listing());
        Ok(times)
    }

    /// The three listings together.
    pub fn listing(&self) -> Duration {
        self.accounts + self.resources + self.access
    }

    /// `accounts 0.41 s, resources 0.02 s, access 0.47 s, merge 1.26 s`.
    pub fn describe(&self) -> String {
        format!(
            "listing accounts {:.2} s, resources {:.2} s, access {:.2} s; merge {:.2} s",
            self.accounts.as_secs_f64(),
            self.resources.as_secs_f64(),
            self.access.as_secs_f64(),
            self.merge.as_secs_f64()
        )
    }
}
