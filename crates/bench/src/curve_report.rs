//! What `--curve` prints: one row per size (a table), or its figures as JSON lines named
//! `curve_x{factor}_{figure}` (`curve_x0.1_initial_s`, `curve_x10_peak_rss_mb`). Like the other
//! reports' names, these are an interface README documents.

use crate::metric::{Metric, metric, print_metrics_json};
use crate::synthetic::Sizes;

/// One size of the curve, measured in its own process.
#[derive(Debug, Clone, PartialEq)]
pub struct CurvePoint {
    pub factor: f64,
    pub sizes: Sizes,
    pub initial_s: f64,
    pub noop_s: f64,
    /// The process's peak RSS after the initial sync, and after both syncs.
    pub initial_peak_rss_mb: f64,
    pub peak_rss_mb: f64,
}

impl CurvePoint {
    /// Seconds per million access pairs: flat along the curve when time grows linearly.
    fn per_million_access(&self, s: f64) -> f64 {
        let millions = self.sizes.access as f64 / 1e6;
        (s / millions * 1000.0).round() / 1000.0
    }

    fn metrics(&self) -> Vec<Metric> {
        let name = |figure: &str| format!("curve_x{}_{figure}", self.factor);
        vec![
            metric(name("accounts"), self.sizes.accounts, "count"),
            metric(name("access"), self.sizes.access, "count"),
            metric(name("initial_s"), self.initial_s, "s"),
            metric(name("noop_s"), self.noop_s, "s"),
            metric(name("initial_peak_rss_mb"), self.initial_peak_rss_mb, "MB"),
            metric(name("peak_rss_mb"), self.peak_rss_mb, "MB"),
            metric(
                name("initial_s_per_m_access"),
                self.per_million_access(self.initial_s),
                "s",
            ),
            metric(
                name("noop_s_per_m_access"),
                self.per_million_access(self.noop_s),
                "s",
            ),
        ]
    }
}

/// Every point's figures, one JSON object a line.
pub fn print_curve_json(points: &[CurvePoint]) {
    print_metrics_json(points.iter().flat_map(CurvePoint::metrics).collect());
}

/// One row per point, under a heading that names the base (1×) sizes.
pub fn print_curve_table(base: Sizes, points: &[CurvePoint]) {
    println!(
        "oblique-bench --curve: initial and no-change sync, each size in its own process on a \
         fresh database; 1x = {} accounts x {} attributes, {} resources, {} access pairs; \
         s/M: seconds per million access pairs",
        base.accounts, base.attributes_per_account, base.resources, base.access
    );
    println!(
        "{:>6} {:>9} {:>10} {:>9} {:>11} {:>7} {:>16} {:>11} {:>13}",
        "factor",
        "accounts",
        "access",
        "initial s",
        "no-change s",
        "peak MB",
        "after initial MB",
        "initial s/M",
        "no-change s/M"
    );
    for p in points {
        println!(
            "{:>6} {:>9} {:>10} {:>9.3} {:>11.3} {:>7.1} {:>16.1} {:>11.3} {:>13.3}",
            format!("{}x", p.factor),
            p.sizes.accounts,
            p.sizes.access,
            p.initial_s,
            p.noop_s,
            p.peak_rss_mb,
            p.initial_peak_rss_mb,
            p.per_million_access(p.initial_s),
            p.per_million_access(p.noop_s),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_figure_after_its_factor() {
        let point = CurvePoint {
            factor: 0.1,
            sizes: Sizes {
                accounts: 10_000,
                attributes_per_account: 5,
                resources: 1_000,
                access: 100_000,
            },
            initial_s: 2.0,
            noop_s: 0.5,
            initial_peak_rss_mb: 20.0,
            peak_rss_mb: 21.0,
        };
        let metrics = point.metrics();
        let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names[2], "curve_x0.1_initial_s");
        assert_eq!(names[5], "curve_x0.1_peak_rss_mb");
        // 2 s for 0.1 million pairs.
        assert_eq!(metrics[6].value, serde_json::json!(20.0));
        let ten = CurvePoint {
            factor: 10.0,
            ..point
        };
        assert_eq!(ten.metrics()[5].name, "curve_x10_peak_rss_mb");
    }
}
