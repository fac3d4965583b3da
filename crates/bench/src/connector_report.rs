//! What a connector mode prints: its round's figures as [`Metric`]s named after the mode
//! (`ldap_…`, `scim_…`, `mysql_…`, plus the plain read's metric and `peak_rss_mb`), against the
//! floor of reading the same data plainly plus COPYing the rows the sync landed.

use crate::Landed;
use crate::connector_sync::ConnectorRun;
use crate::directory_sizes::DirectorySizes;
use crate::landed_copy::LandedCopy;
use crate::measure::proc_status_mb;
use crate::mode_names::ModeNames;
use crate::mode_report::ModeReport;
use crate::report::{
    Metric, as_generated, describe_copy_steps, describe_stats, metric, ratio, seconds,
};

/// Targets of every connector mode (issue 14, section 4).
const RATIO_TARGET: f64 = 1.5;
const RSS_TARGET_MB: f64 = 100.0;

/// Everything one round of a connector mode measured.
#[derive(Debug, Clone)]
pub struct ConnectorReport {
    pub names: &'static ModeNames,
    pub sizes: DirectorySizes,
    pub seeding: std::time::Duration,
    pub read: std::time::Duration,
    pub read_description: String,
    pub sync: ConnectorRun,
    /// The same sync again, nothing changed in between.
    pub resync: ConnectorRun,
    pub copy: LandedCopy,
    pub landed: Landed,
}

impl ConnectorReport {
    /// What a complete sync of the seeded directory lands.
    pub fn expected(&self) -> Landed {
        self.sizes.expected(self.names.attributes_per_user)
    }
}

impl ModeReport for ConnectorReport {
    fn heading(&self) -> String {
        let (n, s) = (self.names, &self.sizes);
        format!(
            "oblique-bench --{}: {} users, {} {}, {} {}",
            n.prefix, s.users, s.groups, n.groups, s.memberships, n.memberships
        )
    }

    /// `peak_rss_mb` is read when called: after the whole run.
    fn metrics(&self) -> Vec<Metric> {
        let (n, s) = (self.names, &self.sizes);
        let p = n.prefix;
        let floor = self.read + self.copy.total;
        let vs = ratio(self.sync.elapsed, floor);
        let rss = (proc_status_mb("VmHWM").unwrap_or_default() * 10.0).round() / 10.0;
        vec![
            metric(format!("{p}_users"), s.users, "count"),
            metric(format!("{p}_{}", n.groups), s.groups, "count"),
            metric(format!("{p}_{}", n.memberships), s.memberships, "count"),
            metric(n.seed_metric, seconds(self.seeding), "s"),
            metric(
                format!("{p}_initial_sync_s"),
                seconds(self.sync.elapsed),
                "s",
            ),
            metric(
                format!("{p}_initial_sync_cpu_s"),
                seconds(self.sync.cpu),
                "s",
            ),
            metric(
                format!("{p}_initial_listing_s"),
                seconds(self.sync.phases.listing()),
                "s",
            ),
            metric(
                format!("{p}_initial_merge_s"),
                seconds(self.sync.phases.merge),
                "s",
            ),
            metric(
                format!("{p}_initial_rows_written"),
                self.sync.writes.total(),
                "rows",
            ),
            metric(
                format!("{p}_initial_rows_changed"),
                self.sync.stats.changed(),
                "rows",
            ),
            metric(
                format!("{p}_noop_sync_s"),
                seconds(self.resync.elapsed),
                "s",
            ),
            metric(
                format!("{p}_noop_rows_written"),
                self.resync.writes.total(),
                "rows",
            ),
            metric(format!("{p}_landed_accounts"), self.landed.accounts, "rows"),
            metric(
                format!("{p}_landed_attributes"),
                self.landed.attributes,
                "rows",
            ),
            metric(
                format!("{p}_landed_resources"),
                self.landed.resources,
                "rows",
            ),
            metric(format!("{p}_landed_access"), self.landed.access, "rows"),
            metric(format!("{p}_landed_users"), self.landed.users, "rows"),
            metric(n.read_metric, seconds(self.read), "s"),
            metric(
                format!("{p}_copy_baseline_s"),
                seconds(self.copy.total),
                "s",
            ),
            metric(format!("{p}_baseline_s"), seconds(floor), "s"),
            Metric {
                target: Some((format!("<= {RATIO_TARGET}"), vs <= RATIO_TARGET)),
                ..metric(format!("{p}_vs_baseline_ratio"), vs, "x")
            },
            Metric {
                target: Some((format!("<= {RSS_TARGET_MB}"), rss <= RSS_TARGET_MB)),
                ..metric("peak_rss_mb", rss, "MB")
            },
        ]
    }

    fn print_details(&self) {
        let p = self.names.prefix;
        println!("{p} initial stats: {}", describe_stats(&self.sync.stats));
        println!("{p} initial rows written: {}", self.sync.writes.describe());
        println!("{p} initial sync: {}", self.sync.phases.describe());
        println!("{p} no-change sync: {}", self.resync.phases.describe());
        println!(
            "{p} no-change stats: {}",
            describe_stats(&self.resync.stats)
        );
        println!(
            "landed by the {p} sync: {:?}{}",
            self.landed,
            as_generated(&self.landed, &self.expected())
        );
        println!("plain read: {}", self.read_description);
        println!(
            "copy baseline (the landed rows, read out beforehand with COPY (SELECT …) TO STDOUT, \
             binary-COPYed into LIKE … INCLUDING ALL tables, one transaction): {}",
            describe_copy_steps(&self.copy.per_table)
        );
    }
}
