//! What `--rpc` reports: the calls per second against pgbench's transactions per second (the
//! ratio's target is ≥ 0.5), the calls' latency percentiles and any call that failed.

use super::RpcLoad;
use super::callers::Calls;
use super::pgbench::PgbenchResult;
use crate::metric::{Metric, metric};
use crate::mode_report::ModeReport;

pub struct RpcReport {
    pub load: RpcLoad,
    pub calls: Calls,
    pub pgbench: PgbenchResult,
}

/// P6: at least half of pgbench's rate.
const TARGET_RATIO: f64 = 0.5;

fn milliseconds(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

impl ModeReport for RpcReport {
    fn heading(&self) -> String {
        format!(
            "--rpc: GetIntegration, {} callers for {} s over {} integrations",
            self.load.callers,
            self.load.duration.as_secs(),
            self.load.integrations
        )
    }

    fn metrics(&self) -> Vec<Metric> {
        let rate = self.calls.per_second();
        let floor = self.pgbench.transactions_per_second;
        let ratio = (rate / floor.max(1e-9) * 1000.0).round() / 1000.0;
        vec![
            metric("rpc_calls_per_s", rate.round(), "1/s"),
            metric(
                "rpc_p50_ms",
                milliseconds(self.calls.percentile(0.50)),
                "ms",
            ),
            metric(
                "rpc_p99_ms",
                milliseconds(self.calls.percentile(0.99)),
                "ms",
            ),
            metric("rpc_failed_calls", self.calls.failed, "calls"),
            metric("pgbench_tps", floor.round(), "1/s"),
            metric(
                "pgbench_latency_average_ms",
                self.pgbench.latency_average_ms,
                "ms",
            ),
            Metric {
                target: Some((format!(">= {TARGET_RATIO}"), ratio >= TARGET_RATIO)),
                ..metric("rpc_vs_pgbench_ratio", ratio, "x")
            },
        ]
    }

    fn print_details(&self) {
        println!(
            "{} calls answered, {} failed{}",
            self.calls.ok,
            self.calls.failed,
            match &self.calls.first_error {
                Some(error) => format!(" (first: {error})"),
                None => String::new(),
            }
        );
        println!(
            "pgbench: the same {} clients, SELECT of the integration's row by primary key \
             (prepared), for as long",
            self.load.callers
        );
    }
}
