//! oblique-bench: the sync engine's pull against a synthetic directory (initial sync, a re-sync
//! that finds no change, a re-sync with 1% of objects changed) and the physical baseline (a raw
//! binary COPY of the same rows into tables shaped like the synced ones). A benchmark program,
//! never a timed test: it reports figures next to their targets and fails on none of them.
//!
//! `--ldap`, `--scim` and `--mysql` benchmark a real connector's initial sync instead, against
//! a throwaway server of its type seeded with the same directory (see `connector_mode`).
//! `--rpc` measures unary calls against pgbench instead (see `rpc`); `--watchers N` the sync
//! with N streaming subscribers against the same sync with none (see `watchers`). `--curve`
//! runs the synthetic initial and no-change syncs at several sizes instead (see `curve`).
//!
//! This file only parses the flags and runs a mode round after round; the work is in the
//! crate's library (`oblique_bench`), the printed metrics in `oblique_bench::report`.

use clap::Parser;
use oblique_bench::connector_mode::{Prepared, prepare, run_round};
use oblique_bench::curve::{Curve, DEFAULT_FACTORS, Factors, parse_factors};
use oblique_bench::database::BenchDatabase;
use oblique_bench::directory_sizes::{
    DEFAULT_GROUPS, DEFAULT_MEMBERSHIPS, DEFAULT_USERS, DirectorySizes,
};
use oblique_bench::mode_report::ModeReport;
use oblique_bench::report::{median_metrics, print_metrics_json, print_metrics_table};
use oblique_bench::rpc::RpcLoad;
use oblique_bench::synthetic::Sizes;
use oblique_bench::watchers::WatchersLoad;

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
    #[arg(long, group = "connector")]
    ldap: bool,
    /// Benchmark the `scim` connector instead: its initial sync against a throwaway
    /// scim2-server, next to a paged GET loop over /Users and /Groups and a raw COPY of the
    /// landed rows.
    #[arg(long, group = "connector")]
    scim: bool,
    /// Benchmark the `mysql` connector instead: its initial sync against a throwaway MariaDB
    /// (users, roles, role grants), next to plain SELECTs of its privilege tables and a raw
    /// COPY of the landed rows.
    #[arg(long, group = "connector")]
    mysql: bool,
    /// Benchmark unary calls instead: GetIntegration from --callers concurrent callers (each
    /// its own HTTP/2 connection) for --seconds against the server in this process, then
    /// pgbench running the same indexed SELECT with as many clients for as long.
    #[arg(long, group = "connector")]
    rpc: bool,
    /// With --rpc: concurrent callers (and pgbench clients).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=256))]
    callers: u16,
    /// With --rpc: how long each side runs.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=600))]
    seconds: u64,
    /// Benchmark streaming fan-out instead: the initial sync (sizes from --accounts etc.) with
    /// no subscriber, then with N WatchSyncRun streams on its run and min(100, N)
    /// SubscribeSyncEvents streams, through the server in this process.
    #[arg(long, value_name = "N", group = "connector", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    watchers: Option<u64>,
    /// With --ldap, --scim or --mysql: users in the directory.
    #[arg(long, alias = "ldap-users", default_value_t = DEFAULT_USERS)]
    users: u64,
    /// With --ldap, --scim or --mysql: groups (roles for --mysql).
    #[arg(long, alias = "ldap-groups", default_value_t = DEFAULT_GROUPS)]
    groups: u64,
    /// With --ldap, --scim or --mysql: memberships (role grants), spread evenly over the groups.
    #[arg(long, alias = "ldap-memberships", default_value_t = DEFAULT_MEMBERSHIPS)]
    memberships: u64,
    /// With --ldap, --scim or --mysql: multiplies --users, --groups and --memberships
    /// (e.g. 0.01 for a quick try).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Rounds, each on a fresh database (the connector modes' server is seeded once and serves
    /// every round); with more than one, each metric's median is reported too (with --json,
    /// only the medians).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    repeat: u32,
    /// The scale curve instead: at each factor (default 0.1,1,10; `--curve 0.1,0.5` for
    /// others) of --accounts, --resources and --access, one initial sync and one no-change re-sync on a fresh database,
    /// each size in its own child process so that its peak RSS is its own; a table of times,
    /// peak RSS and seconds per million access pairs. With --json the metrics are
    /// `curve_x{factor}_{accounts, access, initial_s, noop_s, initial_peak_rss_mb, peak_rss_mb,
    /// initial_s_per_m_access, noop_s_per_m_access}`, e.g. `curve_x0.1_initial_s`.
    #[arg(long, value_name = "FACTORS", num_args = 0..=1, default_missing_value = DEFAULT_FACTORS,
          value_parser = parse_factors, conflicts_with_all = ["connector", "repeat", "keep"])]
    curve: Option<Factors>,
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

/// What is benchmarked: the synthetic directory, or a connector against its seeded server.
enum Mode {
    Synthetic(Sizes),
    Connector(Prepared),
    Rpc(RpcLoad),
    Watchers(WatchersLoad),
}

impl Mode {
    /// Checks the sizes; for a connector, starts and seeds its server (untimed).
    async fn prepare(args: &Args) -> anyhow::Result<Mode> {
        if args.rpc {
            return Ok(Mode::Rpc(RpcLoad {
                callers: args.callers.into(),
                duration: std::time::Duration::from_secs(args.seconds),
                ..RpcLoad::default()
            }));
        }
        if !(args.ldap || args.scim || args.mysql) {
            let sizes = Sizes {
                accounts: args.accounts,
                attributes_per_account: args.attributes_per_account,
                resources: args.resources,
                access: args.access,
            };
            sizes.check()?;
            if let Some(watchers) = args.watchers {
                let watchers = watchers as usize;
                return Ok(Mode::Watchers(WatchersLoad { sizes, watchers }));
            }
            return Ok(Mode::Synthetic(sizes));
        }
        let sizes = DirectorySizes {
            users: args.users,
            groups: args.groups,
            memberships: args.memberships,
        }
        .scaled(args.scale)?;
        let prepared = if args.ldap {
            prepare(sizes, oblique_bench::ldap::start(sizes)).await?
        } else if args.scim {
            prepare(sizes, oblique_bench::scim::start(sizes)).await?
        } else {
            prepare(sizes, oblique_bench::mysql::start(sizes)).await?
        };
        Ok(Mode::Connector(prepared))
    }

    /// One round against the (fresh) database at `url`.
    async fn round(&self, url: &str) -> anyhow::Result<Box<dyn ModeReport>> {
        Ok(match self {
            Mode::Synthetic(sizes) => Box::new(oblique_bench::run(url, *sizes).await?),
            Mode::Connector(prepared) => Box::new(run_round(url, prepared).await?),
            Mode::Rpc(load) => Box::new(oblique_bench::rpc::run_round(url, *load).await?),
            Mode::Watchers(load) => Box::new(oblique_bench::watchers::run_round(url, *load).await?),
        })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    oblique::logging::init(oblique::logging::LogFormat::Text);
    let args = Args::parse();
    // The connector modes' server is dropped (stopped, its files removed) on every way out.
    let mode = interruptible(Mode::prepare(&args)).await?;
    if let (Some(factors), Mode::Synthetic(sizes)) = (&args.curve, &mode) {
        let curve = Curve {
            sizes: *sizes,
            factors: factors.clone(),
            database_url: args.database_url.as_deref(),
            session_options: args.session_options.as_deref(),
            json: args.json,
        };
        return interruptible(curve.run()).await;
    }
    if args.repeat > 1 {
        return repeated(&args, &mode).await;
    }
    let db = BenchDatabase::open(
        args.database_url.as_deref(),
        args.session_options.as_deref(),
    )
    .await?;
    let outcome = interruptible(mode.round(&db.url)).await.map(|report| {
        if args.json {
            report.print_json()
        } else {
            report.print_table()
        }
    });
    if outcome.is_ok() && args.keep {
        eprintln!("oblique-bench: keeping {} until Ctrl-C", db.url);
        let _ = tokio::signal::ctrl_c().await;
    }
    db.close().await?;
    outcome
}

/// The benchmark's outcome, or an error once Ctrl-C is pressed (the caller still drops the
/// database).
async fn interruptible<T>(run: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::select! {
        outcome = run => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    }
}

/// `--repeat`: round after round, each on a fresh database, then the medians.
async fn repeated(args: &Args, mode: &Mode) -> anyhow::Result<()> {
    let mut rounds = Vec::new();
    for round in 1..=args.repeat {
        eprintln!("oblique-bench: round {round} of {}", args.repeat);
        let db = BenchDatabase::open(
            args.database_url.as_deref(),
            args.session_options.as_deref(),
        )
        .await?;
        let outcome = interruptible(mode.round(&db.url)).await;
        db.close().await?;
        let report = outcome?;
        if !args.json {
            println!("== round {round}");
            report.print_table();
        }
        rounds.push(report.metrics());
    }
    let medians = median_metrics(rounds);
    if args.json {
        print_metrics_json(medians);
    } else {
        println!("== median of {} rounds", args.repeat);
        print_metrics_table(medians);
    }
    Ok(())
}
