//! What `oblique-bench --ldap` prints: the LDAP run's figures as [`Metric`]s (names prefixed
//! `ldap_`, plus `ldapsearch_s` and `peak_rss_mb`), as a table or as JSON lines. Built from the
//! shared pieces in [`crate::report`], so both modes print alike.

use super::{LdapReport, PAGE_SIZE, SEARCH_FILTER, SUFFIX};
use crate::measure::proc_status_mb;
use crate::report::{
    Metric, as_generated, describe_copy_steps, describe_stats, metric, print_metrics_json,
    print_metrics_table, ratio, seconds,
};

impl LdapReport {
    /// The figures, against the floor of reading the entries (`ldapsearch`) plus writing the
    /// rows (the COPY baseline). `peak_rss_mb` is read when called: after the whole run.
    pub fn metrics(&self) -> Vec<Metric> {
        let s = &self.sizes;
        let floor = self.ldapsearch + self.copy.total;
        let vs = ratio(self.sync.elapsed, floor);
        vec![
            metric("ldap_users", s.users, "count"),
            metric("ldap_groups", s.groups, "count"),
            metric("ldap_memberships", s.memberships, "count"),
            metric("ldap_slapadd_s", seconds(self.slapadd), "s"),
            metric("ldap_initial_sync_s", seconds(self.sync.elapsed), "s"),
            metric(
                "ldap_initial_rows_written",
                self.sync.writes.total(),
                "rows",
            ),
            metric(
                "ldap_initial_rows_changed",
                self.sync.stats.changed(),
                "rows",
            ),
            metric("ldap_landed_accounts", self.landed.accounts, "rows"),
            metric("ldap_landed_attributes", self.landed.attributes, "rows"),
            metric("ldap_landed_resources", self.landed.resources, "rows"),
            metric("ldap_landed_access", self.landed.access, "rows"),
            metric("ldap_landed_users", self.landed.users, "rows"),
            metric("ldapsearch_s", seconds(self.ldapsearch), "s"),
            metric("ldap_copy_baseline_s", seconds(self.copy.total), "s"),
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

    pub fn print_json(&self) {
        print_metrics_json(self.metrics());
    }

    pub fn print_table(&self) {
        let s = &self.sizes;
        println!(
            "oblique-bench --ldap: {} users, {} groups, {} memberships",
            s.users, s.groups, s.memberships
        );
        print_metrics_table(self.metrics());
        println!();
        println!("ldap initial stats: {}", describe_stats(&self.sync.stats));
        println!("ldap initial rows written: {}", self.sync.writes.describe());
        println!(
            "landed by the ldap sync: {:?}{}",
            self.landed,
            as_generated(&self.landed, &self.expected())
        );
        println!(
            "ldapsearch: -x -E pr={PAGE_SIZE}/noprompt -b {SUFFIX} '{SEARCH_FILTER}', output to \
             /dev/null, after an untimed warm-up dump",
        );
        println!(
            "copy baseline (the landed rows, read out beforehand with COPY (SELECT …) TO STDOUT, \
             binary-COPYed into LIKE … INCLUDING ALL tables, one transaction): {}",
            describe_copy_steps(&self.copy.per_table)
        );
    }
}
