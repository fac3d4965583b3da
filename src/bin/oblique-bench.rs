//! oblique-bench: the sync engine's pull against a synthetic directory (initial sync, a re-sync
//! that finds no change, a re-sync with 1% of objects changed) and the physical baseline (a raw
//! binary COPY of the same rows into tables shaped like the synced ones). A benchmark program,
//! never a timed test: it reports figures next to their targets and fails on none of them.

use std::time::Duration;

use clap::Parser;
use oblique::bench::database::BenchDatabase;
use oblique::bench::measure::proc_status_mb;
use oblique::bench::synthetic::Sizes;
use oblique::bench::{Bench, Landed, RunResult};
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(
    name = "oblique-bench",
    about = "Benchmarks the sync engine's pull against a raw COPY of the same rows",
    long_about = "Benchmarks the sync engine's pull (initial sync, no-change re-sync, 1%-changed \
                  re-sync) over a synthetic directory served through the Connector trait, and a \
                  raw binary COPY of the same rows into tables shaped like the synced ones. Uses \
                  DATABASE_URL (a fresh database is created on its server and dropped at the \
                  end), else a throwaway PostgreSQL cluster in a temporary directory."
)]
struct Args {
    /// Accounts in the directory.
    #[arg(long, default_value_t = 100_000)]
    accounts: u64,
    /// Attributes of each account (one or two values each).
    #[arg(long, default_value_t = 5)]
    attributes_per_account: u64,
    /// Resources (groups) in the directory.
    #[arg(long, default_value_t = 10_000)]
    resources: u64,
    /// Access pairs (account member of resource), spread evenly.
    #[arg(long, default_value_t = 1_000_000)]
    access: u64,
    /// One JSON object per line on stdout: {"metric": …, "value": …, "unit": …}.
    #[arg(long)]
    json: bool,
    /// After the runs, keep the database (and throwaway server) until Ctrl-C, for psql.
    #[arg(long)]
    keep: bool,
    /// Server settings for every connection to the benchmark's database, the engine's included
    /// (libpq `options`), e.g. "-c enable_nestloop=off" to try a planner setting.
    #[arg(long, value_name = "OPTIONS", allow_hyphen_values = true)]
    session_options: Option<String>,
    /// Server to benchmark on; without it a throwaway cluster is started.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

struct Metric {
    name: &'static str,
    value: Value,
    unit: &'static str,
    /// The target, and whether the figure meets it.
    target: Option<(String, bool)>,
}

fn metric(name: &'static str, value: impl Into<Value>, unit: &'static str) -> Metric {
    Metric {
        name,
        value: value.into(),
        unit,
        target: None,
    }
}

fn seconds(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

fn ratio(a: Duration, b: Duration) -> f64 {
    (a.as_secs_f64() / b.as_secs_f64().max(1e-9) * 1000.0).round() / 1000.0
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

struct Report {
    sizes: Sizes,
    initial: RunResult,
    noop: RunResult,
    incremental: RunResult,
    copy: oblique::bench::baseline::CopyBaseline,
    landed: Landed,
    peak_rss_mb: f64,
}

impl Report {
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
        let noop_ratio = ratio(self.noop.elapsed, self.initial.elapsed);
        let (written, changed) = (
            self.incremental.writes.total(),
            self.incremental.stats.changed(),
        );
        m.extend([
            metric("copy_baseline_s", seconds(self.copy.total), "s"),
            metric("copy_users_s", seconds(self.copy.users), "s"),
            metric(
                "copy_baseline_with_fks_s",
                seconds(self.copy.with_foreign_keys),
                "s",
            ),
            Metric {
                target: Some(("<= 1.5".into(), copy_ratio <= 1.5)),
                ..metric("initial_vs_copy_ratio", copy_ratio, "x")
            },
            metric(
                "initial_vs_copy_with_users_ratio",
                ratio(self.initial.elapsed, self.copy.total + self.copy.users),
                "x",
            ),
            metric(
                "initial_vs_copy_with_fks_ratio",
                ratio(self.initial.elapsed, self.copy.with_foreign_keys),
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
            m.target = match m.name {
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

    fn print_json(&self) {
        for m in self.metrics() {
            // In the documented key order (serde_json's map would sort the keys).
            println!(
                "{{\"metric\": {}, \"value\": {}, \"unit\": {}}}",
                json!(m.name),
                m.value,
                json!(m.unit)
            );
        }
    }

    fn print_table(&self) {
        let s = &self.sizes;
        println!(
            "oblique-bench: {} accounts x {} attributes, {} resources, {} access pairs",
            s.accounts, s.attributes_per_account, s.resources, s.access
        );
        println!("{:<34} {:>12} {:<6} target", "metric", "value", "unit");
        for m in self.metrics() {
            let target = match &m.target {
                Some((target, true)) => format!("{target}  met"),
                Some((target, false)) => format!("{target}  MISSED"),
                None => String::new(),
            };
            println!(
                "{:<34} {:>12} {:<6} {target}",
                m.name,
                m.value.to_string(),
                m.unit
            );
        }
        println!();
        for (label, run) in [
            ("initial", &self.initial),
            ("no-change", &self.noop),
            ("1% changed", &self.incremental),
        ] {
            let st = &run.stats;
            let c = |c: &oblique::sync::stats::ChangeCounts| {
                format!(
                    "+{} ~{} -{} ={}",
                    c.created, c.updated, c.deleted, c.unchanged
                )
            };
            println!(
                "{label:<11} stats: accounts {}, attributes {}, resources {}, access {}, errors {}",
                c(&st.accounts),
                c(&st.attributes),
                c(&st.resources),
                c(&st.access),
                st.errors
            );
            println!("{:<11} rows written: {}", "", run.writes.describe());
            let extra = run.writes.total() - run.stats.changed();
            if extra != 0 {
                // Rows written that RunStats does not count as changes.
                let [accounts, _, _, _, users] = run.writes.0;
                println!(
                    "{:<11} written - changed = {extra}: accounts ~{} (updates: the merge links \
                     accounts to users after inserting them) and users +{} (not in RunStats)",
                    "",
                    accounts.updated - run.stats.accounts.updated,
                    users.inserted
                );
            }
        }
        println!(
            "landed by the initial sync: {:?}{}",
            self.landed,
            if self.landed == Landed::expected(s) {
                " (as generated)"
            } else {
                " (DIFFERS from the generated directory)"
            }
        );
        for (label, steps) in [
            ("copy baseline", &self.copy.per_table),
            (
                "copy with foreign keys",
                &self.copy.per_table_with_foreign_keys,
            ),
        ] {
            let parts: Vec<String> = steps
                .iter()
                .map(|(table, rows, d)| format!("{table} {rows} rows {:.3} s", d.as_secs_f64()))
                .collect();
            println!("{label}: {}", parts.join(", "));
        }
    }
}

async fn bench(sizes: Sizes, db: &BenchDatabase) -> anyhow::Result<Report> {
    let mut bench = Bench::setup(&db.url, sizes).await?;
    let step = |what: &str| eprintln!("oblique-bench: {what}");
    step("initial sync");
    let initial = bench.sync(0).await?;
    let landed = bench.landed().await?;
    if landed != Landed::expected(&sizes) {
        eprintln!(
            "oblique-bench: WARNING: the initial sync landed {landed:?}, not every generated row"
        );
    }
    step("no-change re-sync");
    let noop = bench.sync(0).await?;
    step("1%-changed re-sync");
    let incremental = bench.sync(1).await?;
    step("COPY baseline");
    let copy = bench.copy_baseline().await?;
    Ok(Report {
        sizes,
        initial,
        noop,
        incremental,
        copy,
        landed,
        peak_rss_mb: proc_status_mb("VmHWM").unwrap_or_default(),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    oblique::logging::init(oblique::logging::LogFormat::Text);
    let args = Args::parse();
    let sizes = Sizes {
        accounts: args.accounts,
        attributes_per_account: args.attributes_per_account,
        resources: args.resources,
        access: args.access,
    };
    sizes.check()?;
    let db = BenchDatabase::open(
        args.database_url.as_deref(),
        args.session_options.as_deref(),
    )
    .await?;
    let outcome = tokio::select! {
        outcome = bench(sizes, &db) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    if let Ok(report) = &outcome {
        if args.json {
            report.print_json();
        } else {
            report.print_table();
        }
        if args.keep {
            eprintln!("oblique-bench: keeping {} until Ctrl-C", db.url);
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    db.close().await?;
    outcome.map(drop)
}
