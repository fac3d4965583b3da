//! `--curve`: the scale curve (issue 16, item 5). For each factor (0.1, 1 and 10 unless told
//! otherwise) of the synthetic directory's sizes, an initial sync and a no-change re-sync on a
//! fresh database; time should grow linearly with the size, memory stay flat.
//!
//! Peak RSS (`VmHWM`) is a high-water mark of the whole process: measured in one process, the
//! 10× run would hide what the smaller ones needed, and the order of the runs would decide the
//! figures. So each size runs in a child process: this executable again, with that size's
//! flags, `--curve --json`, and [`POINT_ENV`] set, which makes it measure one point in-process
//! ([`run_point`]) and print its figures for the parent ([`crate::curve_report`] prints them).

use std::process::Stdio;

use anyhow::Context;
use serde_json::Value;

use crate::Landed;
use crate::curve_report::{CurvePoint, print_curve_json, print_curve_table};
use crate::database::BenchDatabase;
use crate::measure::proc_status_mb;
use crate::metric::{metric, print_metrics_json, seconds};
use crate::synthetic::Sizes;
use crate::{Bench, RunResult};

/// Set (to anything) in the child processes: measure one point, print it as JSON lines.
pub const POINT_ENV: &str = "OBLIQUE_BENCH_CURVE_POINT";

/// The factors `--curve` runs when given none.
pub const DEFAULT_FACTORS: &str = "0.1,1,10";

/// The factors of one curve, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct Factors(pub Vec<f64>);

/// `--curve`'s value: positive factors separated by commas (`0.1,1,10`).
pub fn parse_factors(text: &str) -> Result<Factors, String> {
    let factors = text
        .split(',')
        .map(|f| match f.trim().parse::<f64>() {
            Ok(f) if f.is_finite() && f > 0.0 => Ok(f),
            _ => Err(format!("{f:?} is not a positive factor")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Factors(factors))
}

/// What a curve is run with: the base sizes (factor 1) and where the databases go.
pub struct Curve<'a> {
    pub sizes: Sizes,
    pub factors: Factors,
    pub database_url: Option<&'a str>,
    pub session_options: Option<&'a str>,
    pub json: bool,
}

impl Curve<'_> {
    /// In the parent: every point in its own child process, then the table (or JSON lines).
    /// In a child ([`POINT_ENV`] set): the one point its flags give.
    pub async fn run(&self) -> anyhow::Result<()> {
        if std::env::var_os(POINT_ENV).is_some() {
            return run_point(self.sizes, self.database_url, self.session_options).await;
        }
        let sized: Vec<(f64, Sizes)> = self
            .factors
            .0
            .iter()
            .map(|&f| scaled(self.sizes, f).map(|sizes| (f, sizes)))
            .collect::<anyhow::Result<_>>()?;
        let mut points = Vec::new();
        let mut failure = None;
        for (factor, sizes) in sized {
            eprintln!(
                "oblique-bench: curve {factor}x: {} accounts, {} resources, {} access pairs",
                sizes.accounts, sizes.resources, sizes.access
            );
            match self.run_child(factor, sizes).await {
                Ok(point) => points.push(point),
                Err(error) => {
                    failure = Some(error.context(format!("the curve's {factor}x point")));
                    break;
                }
            }
        }
        // What was measured is printed even when a later (larger) point failed.
        if self.json {
            print_curve_json(&points);
        } else {
            print_curve_table(self.sizes, &points);
        }
        failure.map_or(Ok(()), Err)
    }

    /// Runs this executable for one point and reads its JSON lines.
    async fn run_child(&self, factor: f64, sizes: Sizes) -> anyhow::Result<CurvePoint> {
        let exe = std::env::current_exe().context("finding this executable")?;
        let mut command = tokio::process::Command::new(exe);
        command
            .args(["--curve", "--json"])
            .args(["--accounts", &sizes.accounts.to_string()])
            .args([
                "--attributes-per-account",
                &sizes.attributes_per_account.to_string(),
            ])
            .args(["--resources", &sizes.resources.to_string()])
            .args(["--access", &sizes.access.to_string()])
            .env(POINT_ENV, "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // Through the environment, not the command line, where any user could read a password.
        match self.database_url {
            Some(url) => command.env("DATABASE_URL", url),
            None => command.env_remove("DATABASE_URL"),
        };
        if let Some(options) = self.session_options {
            command.arg(format!("--session-options={options}"));
        }
        // spawn, not output(): output() would capture stderr too, and hide the child's progress.
        let child = command.spawn().context("running a curve point")?;
        let output = child.wait_with_output().await?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        anyhow::ensure!(
            output.status.success(),
            "the child process failed ({}); its output:\n{stdout}",
            output.status
        );
        parse_point(&stdout, factor, sizes)
    }
}

/// `sizes` times `factor` (attributes per account stay: they are the shape, not the size).
fn scaled(sizes: Sizes, factor: f64) -> anyhow::Result<Sizes> {
    let times = |n: u64| ((n as f64 * factor).round() as u64).max(1);
    let sizes = Sizes {
        accounts: times(sizes.accounts),
        resources: times(sizes.resources),
        access: times(sizes.access),
        ..sizes
    };
    sizes
        .check()
        .with_context(|| format!("--curve at {factor}x"))?;
    Ok(sizes)
}

/// Names of the figures a child prints, read back by [`parse_point`].
const INITIAL_S: &str = "initial_sync_s";
const NOOP_S: &str = "noop_resync_s";
const INITIAL_PEAK: &str = "initial_peak_rss_mb";
const PEAK: &str = "peak_rss_mb";

/// In a child: an initial sync and a no-change re-sync of `sizes` on a fresh database, and the
/// process's peak RSS after each.
async fn run_point(
    sizes: Sizes,
    database_url: Option<&str>,
    session_options: Option<&str>,
) -> anyhow::Result<()> {
    let db = BenchDatabase::open(database_url, session_options).await?;
    let outcome = tokio::select! {
        outcome = initial_and_noop(&db.url, sizes) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    db.close().await?;
    let (initial, initial_peak, noop, peak) = outcome?;
    let mb = |v: f64| (v * 10.0).round() / 10.0;
    print_metrics_json(vec![
        metric(INITIAL_S, seconds(initial.elapsed), "s"),
        metric(NOOP_S, seconds(noop.elapsed), "s"),
        metric(INITIAL_PEAK, mb(initial_peak), "MB"),
        metric(PEAK, mb(peak), "MB"),
    ]);
    Ok(())
}

/// The two timed syncs, each followed by the peak RSS so far. A point whose initial sync did
/// not land every row, or whose re-sync wrote any, measured something else: it fails.
async fn initial_and_noop(
    url: &str,
    sizes: Sizes,
) -> anyhow::Result<(RunResult, f64, RunResult, f64)> {
    let peak = || proc_status_mb("VmHWM").unwrap_or_default();
    let bench = Bench::setup(url, sizes).await?;
    eprintln!("oblique-bench: initial sync");
    let initial = bench.sync(0).await?;
    let initial_peak = peak();
    let landed = bench.landed().await?;
    anyhow::ensure!(
        landed == Landed::expected(&sizes),
        "the initial sync landed {landed:?}, not every generated row"
    );
    eprintln!("oblique-bench: no-change re-sync");
    let noop = bench.sync(0).await?;
    anyhow::ensure!(
        noop.writes.total() == 0,
        "the no-change re-sync wrote rows: {}",
        noop.writes.describe()
    );
    Ok((initial, initial_peak, noop, peak()))
}

/// A child's JSON lines as the point of `factor` (at `sizes`).
fn parse_point(stdout: &str, factor: f64, sizes: Sizes) -> anyhow::Result<CurvePoint> {
    let mut figures = std::collections::HashMap::new();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let object: Value = serde_json::from_str(line).with_context(|| format!("{line:?}"))?;
        if let (Some(name), Some(value)) = (object["metric"].as_str(), object["value"].as_f64()) {
            figures.insert(name.to_string(), value);
        }
    }
    let figure = |name: &str| {
        figures
            .get(name)
            .copied()
            .with_context(|| format!("the child printed no {name}"))
    };
    Ok(CurvePoint {
        factor,
        sizes,
        initial_s: figure(INITIAL_S)?,
        noop_s: figure(NOOP_S)?,
        initial_peak_rss_mb: figure(INITIAL_PEAK)?,
        peak_rss_mb: figure(PEAK)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Sizes = Sizes {
        accounts: 100_000,
        attributes_per_account: 5,
        resources: 10_000,
        access: 1_000_000,
    };

    #[test]
    fn factors_parse_and_refuse_nonsense() {
        assert_eq!(
            parse_factors(DEFAULT_FACTORS),
            Ok(Factors(vec![0.1, 1.0, 10.0]))
        );
        for bad in ["", "0", "-1", "1,x", "inf"] {
            assert!(parse_factors(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scales_everything_but_the_attributes_per_account() {
        let tenth = scaled(BASE, 0.1).unwrap();
        assert_eq!(
            (tenth.accounts, tenth.resources, tenth.access),
            (10_000, 1_000, 100_000)
        );
        assert_eq!(tenth.attributes_per_account, 5);
        // Too few accounts for the members per resource at that size: refused before any run.
        let tiny = Sizes {
            accounts: 300,
            resources: 30,
            access: 3000,
            ..BASE
        };
        assert!(scaled(tiny, 0.1).is_err());
    }

    #[test]
    fn reads_a_childs_figures() {
        let point = parse_point(
            "{\"metric\": \"initial_sync_s\", \"value\": 1.5, \"unit\": \"s\"}\n\
             {\"metric\": \"noop_resync_s\", \"value\": 0.25, \"unit\": \"s\"}\n\
             {\"metric\": \"initial_peak_rss_mb\", \"value\": 30.1, \"unit\": \"MB\"}\n\
             {\"metric\": \"peak_rss_mb\", \"value\": 31, \"unit\": \"MB\"}\n",
            10.0,
            BASE,
        )
        .unwrap();
        assert_eq!(
            (point.initial_s, point.noop_s, point.peak_rss_mb),
            (1.5, 0.25, 31.0)
        );
        let partial = "{\"metric\": \"initial_sync_s\", \"value\": 1}";
        assert!(parse_point(partial, 1.0, BASE).is_err());
    }
}
