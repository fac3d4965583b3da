//! A figure `oblique-bench` reports ([`Metric`]: name, value, unit, target), how a list of them
//! prints (a table or JSON lines), and the medians of repeated rounds: what every mode's report
//! is made of.

use std::time::Duration;

use serde_json::{Value, json};

/// One reported figure.
pub struct Metric {
    /// Owned: the connector modes make theirs from their prefix (`ldap_`, `scim_`, `mysql_`).
    pub name: String,
    pub value: Value,
    pub unit: &'static str,
    /// The target, and whether the figure meets it.
    pub target: Option<(String, bool)>,
}

/// A metric without a target.
pub fn metric(name: impl Into<String>, value: impl Into<Value>, unit: &'static str) -> Metric {
    Metric {
        name: name.into(),
        value: value.into(),
        unit,
        target: None,
    }
}

/// Seconds, to the millisecond.
pub fn seconds(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// `a / b`, to three decimals.
pub fn ratio(a: Duration, b: Duration) -> f64 {
    (a.as_secs_f64() / b.as_secs_f64().max(1e-9) * 1000.0).round() / 1000.0
}

/// One JSON object per line: `{"metric": …, "value": …, "unit": …}`.
pub fn print_metrics_json(metrics: Vec<Metric>) {
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

/// A table with a header line; the target column says whether each target was met.
pub fn print_metrics_table(metrics: Vec<Metric>) {
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

/// Each metric's median over repeated rounds (the same metrics in the same order each round):
/// large writes on a shared machine vary by a third from run to run, a median of several does
/// not. A metric's target verdict is that of the round the median comes from; a metric that is
/// not a number is taken from the first round.
pub fn median_metrics(rounds: Vec<Vec<Metric>>) -> Vec<Metric> {
    let mut rounds: Vec<_> = rounds.into_iter().map(Vec::into_iter).collect();
    let Some((first, rest)) = rounds.split_first_mut() else {
        return Vec::new();
    };
    let mut medians = Vec::new();
    for metric in first.by_ref() {
        let mut same: Vec<Metric> = rest.iter_mut().filter_map(Iterator::next).collect();
        same.push(metric);
        if same.iter().all(|m| m.value.is_number()) {
            same.sort_by(|a, b| {
                let (a, b) = (a.value.as_f64(), b.value.as_f64());
                a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal)
            });
            medians.push(same.swap_remove((same.len() - 1) / 2));
        } else {
            medians.push(same.pop().expect("the first round's metric"));
        }
    }
    medians
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(initial: f64, ratio: f64) -> Vec<Metric> {
        vec![
            metric("initial_sync_s", initial, "s"),
            Metric {
                target: Some(("<= 1.5".into(), ratio <= 1.5)),
                ..metric("initial_vs_copy_ratio", ratio, "x")
            },
        ]
    }

    #[test]
    fn medians_take_the_middle_round_with_its_verdict() {
        let medians = median_metrics(vec![round(40.0, 2.0), round(30.0, 1.4), round(35.0, 1.6)]);
        assert_eq!(medians[0].value, json!(35.0));
        assert_eq!(medians[1].value, json!(1.6));
        assert_eq!(medians[1].target, Some(("<= 1.5".into(), false)));
        let one = median_metrics(vec![round(30.0, 1.4)]);
        assert_eq!(one[1].target, Some(("<= 1.5".into(), true)));
    }
}
