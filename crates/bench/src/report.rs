//! What `oblique-bench` prints: each figure as a named [`Metric`] with its unit and, where there
//! is one, its target, as a table or as JSON lines. The names, units and targets are an interface
//! (README.md documents them and users compare runs by them): change them only on purpose.
//!
//! [`Report`] is the synthetic benchmark's; the connector modes' is
//! [`crate::connector_report::ConnectorReport`], built from the same pieces. Both print through
//! [`ModeReport`].

use std::time::Duration;

use oblique::model::run_stats::{ChangeCounts, RunStats};

pub use crate::metric::{
    Metric, median_metrics, metric, print_metrics_json, print_metrics_table, ratio, seconds,
};

use super::baseline::CopyBaseline;
use super::mode_report::ModeReport;
use super::synthetic::Sizes;
use super::{Landed, RunResult};

/// `accounts +created ~updated -deleted =unchanged, …` of a run's stats, and its errors.
pub fn describe_stats(st: &RunStats) -> String {
    let c = |c: &ChangeCounts| {
        format!(
            "+{} ~{} -{} ={}",
            c.created, c.updated, c.deleted, c.unchanged
        )
    };
    format!(
        "accounts {}, attributes {}, resources {}, access {}, errors {}",
        c(&st.accounts),
        c(&st.attributes),
        c(&st.resources),
        c(&st.access),
        st.errors
    )
}

/// `table rows rows seconds s, …` of COPY steps.
pub fn describe_copy_steps(steps: &[(&'static str, u64, Duration)]) -> String {
    let parts: Vec<String> = steps
        .iter()
        .map(|(table, rows, d)| format!("{table} {rows} rows {:.3} s", d.as_secs_f64()))
        .collect();
    parts.join(", ")
}

/// `" (as generated)"` or `" (DIFFERS from the generated directory)"`.
pub fn as_generated(landed: &Landed, expected: &Landed) -> &'static str {
    if landed == expected {
        " (as generated)"
    } else {
        " (DIFFERS from the generated directory)"
    }
}

/// Per run: time, listing time, merge time, rows written, rows changed, WAL.
const INITIAL: [&str; 6] = [
    "initial_sync_s",
    "initial_listing_s",
    "initial_merge_s",
    "initial_rows_written",
    "initial_rows_changed",
    "initial_wal_mb",
];
const NOOP: [&str; 6] = [
    "noop_resync_s",
    "noop_listing_s",
    "noop_merge_s",
    "noop_rows_written",
    "noop_rows_changed",
    "noop_wal_mb",
];
const INCREMENTAL: [&str; 6] = [
    "incremental_sync_s",
    "incremental_listing_s",
    "incremental_merge_s",
    "incremental_rows_written",
    "incremental_rows_changed",
    "incremental_wal_mb",
];

/// Everything the synthetic benchmark measured (see [`super::run`]).
pub struct Report {
    pub sizes: Sizes,
    pub initial: RunResult,
    pub noop: RunResult,
    pub incremental: RunResult,
    pub copy: CopyBaseline,
    pub landed: Landed,
    pub peak_rss_mb: f64,
}

impl ModeReport for Report {
    fn metrics(&self) -> Vec<Metric> {
        let s = &self.sizes;
        let mut m = vec![
            metric("accounts", s.accounts, "count"),
            metric("attributes_per_account", s.attributes_per_account, "count"),
            metric("resources", s.resources, "count"),
            metric("access", s.access, "count"),
        ];
        for (names, run) in [
            (INITIAL, &self.initial),
            (NOOP, &self.noop),
            (INCREMENTAL, &self.incremental),
        ] {
            m.push(metric(names[0], seconds(run.elapsed), "s"));
            m.push(metric(names[1], run.listing.map(seconds), "s"));
            m.push(metric(names[2], run.merge().map(seconds), "s"));
            m.push(metric(names[3], run.writes.total(), "rows"));
            m.push(metric(names[4], run.stats.changed(), "rows"));
            let wal_mb = (run.wal_bytes as f64 / 1048576.0 * 10.0).round() / 10.0;
            m.push(metric(names[5], wal_mb, "MB"));
        }
        let copy_ratio = ratio(self.initial.elapsed, self.copy.total);
        let copy_without_fks =
            self.copy.without_foreign_keys + self.copy.users_without_foreign_keys;
        let noop_ratio = ratio(self.noop.elapsed, self.initial.elapsed);
        let (written, changed) = (
            self.incremental.writes.total(),
            self.incremental.stats.changed(),
        );
        m.extend([
            metric("copy_baseline_s", seconds(self.copy.total), "s"),
            Metric {
                target: Some(("<= 1.5".into(), copy_ratio <= 1.5)),
                ..metric("initial_vs_copy_ratio", copy_ratio, "x")
            },
            metric("copy_without_fks_s", seconds(copy_without_fks), "s"),
            metric(
                "initial_vs_copy_without_fks_ratio",
                ratio(self.initial.elapsed, copy_without_fks),
                "x",
            ),
            Metric {
                target: Some(("<= 0.25".into(), noop_ratio <= 0.25)),
                ..metric("noop_vs_initial_ratio", noop_ratio, "x")
            },
            metric(
                "peak_rss_mb",
                (self.peak_rss_mb * 10.0).round() / 10.0,
                "MB",
            ),
        ]);
        for m in &mut m {
            m.target = match m.name.as_str() {
                "noop_rows_written" => Some(("= 0".into(), self.noop.writes.total() == 0)),
                "incremental_rows_written" => {
                    Some((format!("= rows changed ({changed})"), written == changed))
                }
                "peak_rss_mb" => Some(("<= 300".into(), self.peak_rss_mb <= 300.0)),
                _ => m.target.take(),
            };
        }
        m
    }

    fn heading(&self) -> String {
        let s = &self.sizes;
        format!(
            "oblique-bench: {} accounts x {} attributes, {} resources, {} access pairs",
            s.accounts, s.attributes_per_account, s.resources, s.access
        )
    }

    fn print_details(&self) {
        for (label, run) in [
            ("initial", &self.initial),
            ("no-change", &self.noop),
            ("1% changed", &self.incremental),
        ] {
            println!("{label:<11} stats: {}", describe_stats(&run.stats));
            println!("{:<11} rows written: {}", "", run.writes.describe());
            let extra = run.writes.total() - run.stats.changed();
            if extra != 0 {
                // Rows written that RunStats does not count as changes: the users made for new
                // accounts, and account updates beyond the ones counted.
                let [accounts, _, _, _, users] = run.writes.0;
                println!(
                    "{:<11} written - changed = {extra}: users +{} (not in RunStats), \
                     uncounted account updates {}",
                    "",
                    users.inserted,
                    accounts.updated - run.stats.accounts.updated
                );
            }
        }
        println!(
            "landed by the initial sync: {:?}{}",
            self.landed,
            as_generated(&self.landed, &Landed::expected(&self.sizes))
        );
        for (label, steps) in [
            ("copy baseline", &self.copy.per_table),
            (
                "copy without foreign keys",
                &self.copy.per_table_without_foreign_keys,
            ),
        ] {
            println!("{label}: {}", describe_copy_steps(steps));
        }
    }
}
