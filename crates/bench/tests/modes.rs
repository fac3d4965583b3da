//! Smoke tests of each `oblique-bench` mode at a tiny size: the real binary, its real servers
//! (a throwaway PostgreSQL, slapd, scim2-server, mariadbd), `--json`. They check the report's
//! shape (one `{"metric", "value", "unit"}` object a line, the names README documents) and that
//! the sync landed every seeded row (the `*_landed_*` figures are counted in Oblique's
//! database). No duration is asserted: the figures are the benchmark's business.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

/// Runs the benchmark with `args` and `--json`; the metrics by name, each checked for shape.
fn run_json(args: &[&str]) -> BTreeMap<String, Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_oblique-bench"))
        .args(args)
        .arg("--json")
        .env_remove("DATABASE_URL")
        .output()
        .expect("running oblique-bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "oblique-bench {args:?} failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let mut metrics = BTreeMap::new();
    for line in stdout.lines() {
        let object: Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}"));
        let object = object.as_object().expect("a JSON object a line");
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 3, "{line}");
        for key in ["metric", "value", "unit"] {
            assert!(object.contains_key(key), "no {key} in {line}");
        }
        assert!(object["unit"].is_string(), "{line}");
        let name = object["metric"]
            .as_str()
            .expect("a metric name")
            .to_string();
        let value = object["value"].clone();
        assert!(value.is_number(), "{line}: not a number");
        assert!(metrics.insert(name, value).is_none(), "twice: {line}");
    }
    metrics
}

fn number(metrics: &BTreeMap<String, Value>, name: &str) -> f64 {
    metrics
        .get(name)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no metric {name} in {metrics:?}"))
}

/// A connector mode: every seeded user, group and membership landed, with its attributes.
fn check_connector_mode(
    flag: &str,
    prefix: &str,
    (groups, memberships): (&str, &str),
    attributes_per_user: f64,
) {
    let metrics = run_json(&[
        flag,
        "--users",
        "40",
        "--groups",
        "4",
        "--memberships",
        "100",
    ]);
    let m = |name: &str| number(&metrics, &format!("{prefix}_{name}"));
    assert_eq!((m("users"), m(groups), m(memberships)), (40.0, 4.0, 100.0));
    assert_eq!(m("landed_accounts"), 40.0, "{metrics:?}");
    assert_eq!(m("landed_users"), 40.0, "{metrics:?}");
    assert_eq!(
        m("landed_attributes"),
        40.0 * attributes_per_user,
        "{metrics:?}"
    );
    assert_eq!(m("landed_resources"), 4.0, "{metrics:?}");
    assert_eq!(m("landed_access"), 100.0, "{metrics:?}");
    for name in [
        "initial_sync_s",
        "copy_baseline_s",
        "baseline_s",
        "vs_baseline_ratio",
    ] {
        assert!(m(name) > 0.0, "{prefix}_{name} in {metrics:?}");
    }
    assert!(number(&metrics, "peak_rss_mb") > 0.0);
    // The same directory synced again writes nothing (LDAP: its members matched in staging
    // fold like the stored rows).
    assert_eq!(m("noop_rows_written"), 0.0, "{metrics:?}");
    assert!(m("noop_sync_s") > 0.0, "{metrics:?}");
}

#[test]
fn ldap_mode_lands_every_seeded_row() {
    check_connector_mode("--ldap", "ldap", ("groups", "memberships"), 8.0);
}

#[test]
fn scim_mode_lands_every_seeded_row() {
    check_connector_mode("--scim", "scim", ("groups", "memberships"), 8.0);
}

#[test]
fn mysql_mode_lands_every_seeded_row() {
    check_connector_mode("--mysql", "mysql", ("roles", "grants"), 4.0);
}

#[test]
fn synthetic_mode_reports_the_documented_metrics() {
    let metrics = run_json(&["--accounts", "200", "--resources", "10", "--access", "500"]);
    for name in [
        "initial_sync_s",
        "copy_baseline_s",
        "initial_vs_copy_without_fks_ratio",
        "noop_vs_initial_ratio",
        "noop_rows_written",
        "incremental_rows_written",
        "incremental_rows_changed",
        "peak_rss_mb",
    ] {
        number(&metrics, name);
    }
}

/// `--curve` at tiny sizes: a row of figures for each of the three sizes, scaled as asked.
#[test]
fn curve_mode_reports_every_size() {
    let metrics = run_json(&[
        "--curve",
        "--accounts",
        "1000",
        "--attributes-per-account",
        "2",
        "--resources",
        "50",
        "--access",
        "2000",
    ]);
    for (factor, accounts, access) in [
        ("0.1", 100.0, 200.0),
        ("1", 1000.0, 2000.0),
        ("10", 10000.0, 20000.0),
    ] {
        let m = |name: &str| number(&metrics, &format!("curve_x{factor}_{name}"));
        assert_eq!((m("accounts"), m("access")), (accounts, access));
        for name in ["initial_s", "noop_s", "initial_peak_rss_mb", "peak_rss_mb"] {
            assert!(m(name) > 0.0, "curve_x{factor}_{name} in {metrics:?}");
        }
        // A high-water mark: the peak after both syncs is at least the one after the first.
        assert!(m("initial_peak_rss_mb") <= m("peak_rss_mb"), "{metrics:?}");
        number(&metrics, &format!("curve_x{factor}_initial_s_per_m_access"));
        number(&metrics, &format!("curve_x{factor}_noop_s_per_m_access"));
    }
    assert_eq!(metrics.len(), 3 * 8, "{metrics:?}");
}

/// `--rpc` at a tiny load: the server answered every call, pgbench ran, and the ratio is there.
#[test]
fn rpc_mode_answers_every_call_and_runs_pgbench() {
    let metrics = run_json(&["--rpc", "--callers", "4", "--seconds", "1"]);
    assert_eq!(number(&metrics, "rpc_failed_calls"), 0.0);
    assert!(number(&metrics, "rpc_calls_per_s") > 0.0, "{metrics:?}");
    assert!(number(&metrics, "pgbench_tps") > 0.0, "{metrics:?}");
    for name in ["rpc_p50_ms", "rpc_p99_ms", "rpc_vs_pgbench_ratio"] {
        number(&metrics, name);
    }
}

/// `--watchers` at a tiny size: every WatchSyncRun and SubscribeSyncEvents subscriber received
/// every event of the run in order, and each event went out as one NOTIFY.
#[test]
fn watchers_mode_delivers_every_event_to_every_subscriber() {
    let metrics = run_json(&[
        "--watchers",
        "20",
        "--accounts",
        "200",
        "--resources",
        "10",
        "--access",
        "500",
    ]);
    assert_eq!(
        number(&metrics, "watchers_subscribers"),
        40.0,
        "{metrics:?}"
    );
    assert!(number(&metrics, "watchers_events") > 2.0, "{metrics:?}");
    assert_eq!(
        number(&metrics, "watchers_events_missing"),
        0.0,
        "{metrics:?}"
    );
    assert_eq!(
        number(&metrics, "watchers_failed_streams"),
        0.0,
        "{metrics:?}"
    );
    assert_eq!(
        number(&metrics, "watchers_notifies_per_event"),
        1.0,
        "{metrics:?}"
    );
    assert_eq!(
        number(&metrics, "watchers_quiet_notifies_per_event"),
        1.0,
        "{metrics:?}"
    );
    for name in [
        "watchers_quiet_sync_s",
        "watchers_sync_s",
        "watchers_slowdown_ratio",
        "watchers_memory_per_subscriber_kb",
    ] {
        number(&metrics, name);
    }
}
