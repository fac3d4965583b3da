//! oblique-bench: the sync engine's pull against a synthetic directory (initial sync, a re-sync
//! that finds no change, a re-sync with 1% of objects changed) and the physical baseline (a raw
//! binary COPY of the same rows into tables shaped like the synced ones). A benchmark program,
//! never a timed test: it reports figures next to their targets and fails on none of them.

use std::time::Duration;

use clap::Parser;
use oblique::bench::database::BenchDatabase;
use oblique::bench::ldap::{LdapReport, LdapSizes};
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
    /// Benchmark the `ldap` connector instead: its initial sync against a throwaway slapd,
    /// next to a paged ldapsearch of the same entries and a raw COPY of the landed rows.
    #[arg(long)]
    ldap: bool,
    /// With --ldap: inetOrgPerson users in the directory.
    #[arg(long, default_value_t = 20_000)]
    ldap_users: u64,
    /// With --ldap: groupOfNames groups in the directory.
    #[arg(long, default_value_t = 2_000)]
    ldap_groups: u64,
    /// With --ldap: group memberships, spread evenly over the groups.
    #[arg(long, default_value_t = 100_000)]
    ldap_memberships: u64,
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
        print_metrics_json(self.metrics());
    }

    fn print_table(&self) {
        let s = &self.sizes;
        println!(
            "oblique-bench: {} accounts x {} attributes, {} resources, {} access pairs",
            s.accounts, s.attributes_per_account, s.resources, s.access
        );
        print_metrics_table(self.metrics());
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

fn print_metrics_json(metrics: Vec<Metric>) {
    for m in metrics {
        // In the documented key order (serde_json's map would sort the keys).
        println!(
            "{{\"metric\": {}, \"value\": {}, \"unit\": {}}}",
            json!(m.name),
            m.value,
            json!(m.unit)
        );
    }
}

fn print_metrics_table(metrics: Vec<Metric>) {
    println!("{:<34} {:>12} {:<6} target", "metric", "value", "unit");
    for m in metrics {
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
}

fn ldap_metrics(r: &LdapReport) -> Vec<Metric> {
    let s = &r.sizes;
    let floor = r.ldapsearch + r.copy.total;
    let vs = ratio(r.sync.elapsed, floor);
    vec![
        metric("ldap_users", s.users, "count"),
        metric("ldap_groups", s.groups, "count"),
        metric("ldap_memberships", s.memberships, "count"),
        metric("ldap_slapadd_s", seconds(r.slapadd), "s"),
        metric("ldap_initial_sync_s", seconds(r.sync.elapsed), "s"),
        metric("ldap_initial_rows_written", r.sync.writes.total(), "rows"),
        metric("ldap_initial_rows_changed", r.sync.stats.changed(), "rows"),
        metric("ldap_landed_accounts", r.landed.accounts, "rows"),
        metric("ldap_landed_attributes", r.landed.attributes, "rows"),
        metric("ldap_landed_resources", r.landed.resources, "rows"),
        metric("ldap_landed_access", r.landed.access, "rows"),
        metric("ldap_landed_users", r.landed.users, "rows"),
        metric("ldapsearch_s", seconds(r.ldapsearch), "s"),
        metric("ldap_copy_baseline_s", seconds(r.copy.total), "s"),
        metric("ldap_baseline_s", seconds(floor), "s"),
        Metric {
            target: Some(("<= 1.5".into(), vs <= 1.5)),
            ..metric("ldap_vs_baseline_ratio", vs, "x")
        },
        metric(
            "peak_rss_mb",
            (proc_status_mb("VmHWM").unwrap_or_default() * 10.0).round() / 10.0,
            "MB",
        ),
    ]
}

fn print_ldap_table(r: &LdapReport) {
    let s = &r.sizes;
    println!(
        "oblique-bench --ldap: {} users, {} groups, {} memberships",
        s.users, s.groups, s.memberships
    );
    print_metrics_table(ldap_metrics(r));
    println!();
    let st = &r.sync.stats;
    let c = |c: &oblique::sync::stats::ChangeCounts| {
        format!(
            "+{} ~{} -{} ={}",
            c.created, c.updated, c.deleted, c.unchanged
        )
    };
    println!(
        "ldap initial stats: accounts {}, attributes {}, resources {}, access {}, errors {}",
        c(&st.accounts),
        c(&st.attributes),
        c(&st.resources),
        c(&st.access),
        st.errors
    );
    println!("ldap initial rows written: {}", r.sync.writes.describe());
    println!(
        "landed by the ldap sync: {:?}{}",
        r.landed,
        if r.landed == r.expected() {
            " (as generated)"
        } else {
            " (DIFFERS from the generated directory)"
        }
    );
    println!(
        "ldapsearch: -x -E pr={}/noprompt -b {} '{}', output to /dev/null, after an untimed \
         warm-up dump",
        oblique::bench::ldap::PAGE_SIZE,
        oblique::bench::ldap::SUFFIX,
        oblique::bench::ldap::SEARCH_FILTER
    );
    let parts: Vec<String> = r
        .copy
        .per_table
        .iter()
        .map(|(table, rows, d)| format!("{table} {rows} rows {:.3} s", d.as_secs_f64()))
        .collect();
    println!(
        "copy baseline (the landed rows, read out beforehand with COPY (SELECT …) TO STDOUT, \
         binary-COPYed into LIKE … INCLUDING ALL tables, one transaction): {}",
        parts.join(", ")
    );
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
    if args.ldap {
        LdapSizes {
            users: args.ldap_users,
            groups: args.ldap_groups,
            memberships: args.ldap_memberships,
        }
        .check()?;
    } else {
        sizes.check()?;
    }
    let db = BenchDatabase::open(
        args.database_url.as_deref(),
        args.session_options.as_deref(),
    )
    .await?;
    if args.ldap {
        let ldap_sizes = LdapSizes {
            users: args.ldap_users,
            groups: args.ldap_groups,
            memberships: args.ldap_memberships,
        };
        let outcome = tokio::select! {
            outcome = oblique::bench::ldap::run(&db.url, ldap_sizes) => outcome,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
        };
        if let Ok(report) = &outcome {
            if args.json {
                print_metrics_json(ldap_metrics(report));
            } else {
                print_ldap_table(report);
            }
            if args.keep {
                eprintln!("oblique-bench: keeping {} until Ctrl-C", db.url);
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        db.close().await?;
        return outcome.map(drop);
    }
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
