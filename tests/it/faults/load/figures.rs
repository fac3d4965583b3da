//! What the load test counts and prints: the latency of every call by kind, the errors a caller
//! must expect apart from the others, and the grants and revocations that succeeded (for the
//! audit check).

use std::collections::BTreeMap;
use std::time::Duration;

use oblique::pb;
use tonic::{Code, Status};

/// The calls the clients make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Call {
    GetIntegration,
    ListIntegrations,
    ListResources,
    ListAccounts,
    ListAccess,
    GetSyncRun,
    ListSyncRuns,
    ListAuditEvents,
    GrantAccess,
    RevokeAccess,
    TriggerSync,
    UpdateIntegration,
    CreateTeam,
}

impl Call {
    fn writes(self) -> bool {
        matches!(
            self,
            Call::GrantAccess
                | Call::RevokeAccess
                | Call::TriggerSync
                | Call::UpdateIntegration
                | Call::CreateTeam
        )
    }
}

/// Whether `code` is an answer the caller of `call` must be ready for while nothing is wrong.
/// Only ABORTED, and only for writes: the README's contract for a change that "kept conflicting
/// with concurrent ones after a few retries: retry it" (PostgreSQL broke a deadlock or a
/// serialization conflict more often than the service retries). Nothing else is: a duplicate
/// grant or trigger answers the existing grant or run (not ALREADY_EXISTS), every id the clients
/// send exists and stays live (no NOT_FOUND or FAILED_PRECONDITION), 64 callers stay far below
/// the 512 calls in progress (no RESOURCE_EXHAUSTED), and the database and the remote are up
/// all along, so UNAVAILABLE (a pool wait, a lock or statement timeout) or DEADLINE_EXCEEDED
/// would mean the service does not hold this load.
fn expected(call: Call, code: Code) -> bool {
    code == Code::Aborted && call.writes()
}

/// One client's record, merged into the whole run's at the end.
#[derive(Default)]
pub struct Tally {
    latencies: BTreeMap<Call, Vec<Duration>>,
    expected: BTreeMap<Call, usize>,
    pub unexpected: Vec<(Call, Status)>,
    /// Grants that GrantAccess answered, and those RevokeAccess answered (revoked).
    pub granted: Vec<pb::Grant>,
    pub revoked: Vec<pb::Grant>,
}

impl Tally {
    /// Records a call that took `took` and answered `result`; the answer, if it succeeded.
    pub fn record<T>(
        &mut self,
        call: Call,
        took: Duration,
        result: Result<T, Status>,
    ) -> Option<T> {
        self.latencies.entry(call).or_default().push(took);
        match result {
            Ok(value) => Some(value),
            Err(status) if expected(call, status.code()) => {
                *self.expected.entry(call).or_default() += 1;
                None
            }
            Err(status) => {
                self.unexpected.push((call, status));
                None
            }
        }
    }

    pub fn merge(&mut self, other: Tally) {
        for (call, latencies) in other.latencies {
            self.latencies.entry(call).or_default().extend(latencies);
        }
        for (call, count) in other.expected {
            *self.expected.entry(call).or_default() += count;
        }
        self.unexpected.extend(other.unexpected);
        self.granted.extend(other.granted);
        self.revoked.extend(other.revoked);
    }

    /// Calls made, of every kind.
    pub fn calls(&self) -> usize {
        self.latencies.values().map(Vec::len).sum()
    }

    /// A Markdown table (one row per kind and one for all) and a summary line, as RELIABILITY.md
    /// quotes them; `took` is how long the clients ran.
    pub fn report(&mut self, took: Duration, setting: &str) -> String {
        let mut out = format!(
            "{setting}\n\n| call | calls | calls/s | p50 ms | p99 ms | max ms | expected errors |\n\
             |---|---:|---:|---:|---:|---:|---:|\n"
        );
        let mut all = Vec::with_capacity(self.calls());
        for (call, latencies) in &mut self.latencies {
            latencies.sort_unstable();
            all.extend_from_slice(latencies);
            let errors = self.expected.get(call).copied().unwrap_or(0);
            out += &row(&format!("{call:?}"), latencies, took, errors);
        }
        all.sort_unstable();
        let errors = self.expected.values().sum();
        out += &row("all", &all, took, errors);
        out += &format!(
            "\n{} calls in {:.0} s ({:.0}/s): p50 {}, p99 {}, max {} ms; {} unexpected errors",
            all.len(),
            took.as_secs_f64(),
            per_second(all.len(), took),
            millis(percentile(&all, 50.0)),
            millis(percentile(&all, 99.0)),
            millis(percentile(&all, 100.0)),
            self.unexpected.len(),
        );
        out
    }
}

fn row(name: &str, sorted: &[Duration], took: Duration, expected_errors: usize) -> String {
    format!(
        "| {name} | {} | {:.1} | {} | {} | {} | {expected_errors} |\n",
        sorted.len(),
        per_second(sorted.len(), took),
        millis(percentile(sorted, 50.0)),
        millis(percentile(sorted, 99.0)),
        millis(percentile(sorted, 100.0)),
    )
}

fn per_second(count: usize, took: Duration) -> f64 {
    count as f64 / took.as_secs_f64()
}

/// The nearest-rank percentile of sorted latencies: the smallest one that `p` percent of them
/// do not exceed (zero when there are none).
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn millis(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}

#[test]
fn percentiles_are_nearest_rank() {
    let sorted: Vec<Duration> = (1..=200).map(Duration::from_millis).collect();
    assert_eq!(percentile(&sorted, 50.0), Duration::from_millis(100));
    assert_eq!(percentile(&sorted, 99.0), Duration::from_millis(198));
    assert_eq!(percentile(&sorted, 100.0), Duration::from_millis(200));
    assert_eq!(percentile(&sorted[..1], 99.0), Duration::from_millis(1));
    assert_eq!(percentile(&[], 50.0), Duration::ZERO);
}
