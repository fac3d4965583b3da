//! `oblique sync --watch` with stdout not a terminal (one plain line per event, exit 0 on
//! success), `runs list`, and a cancelled run: `runs cancel`, then `runs watch` exits 3.

use crate::harness::remote::RemoteRoles;
use crate::harness::wait_for_run;
use crate::serve_binary::text;

use super::{Served, row};

#[tokio::test]
async fn sync_watch_prints_one_line_per_event_and_exits_0_when_the_run_succeeds() {
    let served = Served::start().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql("CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_bob LOGIN; CREATE ROLE {p}_readers NOLOGIN; GRANT {p}_readers TO {p}_alice")
        .await;
    let (created, _) = served.create_integration("watched", &roles).await;
    let first = wait_for_run(&served.admin, &created.last_sync_run.unwrap().id).await;

    let output = served.run(&["sync", "watched", "--watch"]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    // Each event a line of its own, with its time first; no progress bar's control characters.
    assert!(
        !stdout.contains('\r') && !stdout.contains('\u{1b}'),
        "{stdout:?}"
    );
    let events: Vec<&str> = lines
        .iter()
        .take_while(|line| !line.starts_with("Run "))
        .map(|line| line.split_once("  ").expect("time, then the event").1)
        .collect();
    assert!(
        events.iter().any(|e| e.starts_with("state running")),
        "{stdout}"
    );
    // The previous run listed two accounts, one resource and one membership: what to expect.
    for wanted in [
        "accounts started (~2 expected)",
        "accounts finished: 2 listed, 0 unreadable",
        "resources started (~1 expected)",
        "access started (~1 expected)",
    ] {
        // A rate may follow, when the phase took long enough to have one.
        assert!(
            events.iter().any(|event| event.starts_with(wanted)),
            "no {wanted:?} in:\n{stdout}"
        );
    }
    assert!(
        events
            .last()
            .is_some_and(|last| last.starts_with("finished succeeded")),
        "{stdout}"
    );
    let summary = lines
        .iter()
        .find(|line| line.starts_with("Run "))
        .expect("a summary");
    assert!(summary.ends_with(" succeeded."), "{stdout}");
    assert!(
        stdout.contains("accounts: 0 created, 0 updated, 0 deleted, 2 unchanged"),
        "{stdout}"
    );

    // The same as JSON: one event per line.
    let json = served.run(&[
        "sync",
        "watched",
        "--dry-run",
        "--watch",
        "--output",
        "json",
    ]);
    assert!(json.status.success(), "{json:?}");
    let kinds: Vec<String> = text(&json.stdout)
        .lines()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            event["kind"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("SYNC_EVENT_KIND_FINISHED")
    );

    let table = served.ok(&["runs", "list", "watched"]);
    // Newest first: the dry run, the manual run, the first one.
    let ids: Vec<&str> = table
        .lines()
        .skip(1)
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "{table}");
    assert_eq!(ids[2], first.id);
    assert_eq!(
        row(&table, ids[0])[2..5],
        ["manual", "succeeded", "yes"],
        "{table}"
    );
    assert_eq!(
        row(&table, &first.id)[2..5],
        ["created", "succeeded", "no"],
        "{table}"
    );
    let limited = served.json(&["runs", "list", "--limit", "1"]);
    assert_eq!(limited["runs"].as_array().unwrap().len(), 1, "{limited}");
}

#[tokio::test]
async fn a_cancelled_run_is_watched_to_its_end_with_exit_status_3() {
    // No workers: the first sync stays queued until cancelled.
    let served = Served::start_with(&[("OBLIQUE_SYNC_WORKERS", "0")]).await;
    let roles = RemoteRoles::new().await;
    let (created, _) = served.create_integration("idle", &roles).await;
    let run_id = created.last_sync_run.unwrap().id;
    let queued = served.ok(&["runs", "list"]);
    assert_eq!(row(&queued, &run_id)[3], "queued", "{queued}");

    let cancelled = served.json(&["runs", "cancel", &run_id]);
    assert_eq!(
        cancelled["state"], "SYNC_RUN_STATE_CANCELLED",
        "{cancelled}"
    );

    let watched = served.run(&["runs", "watch", &run_id]);
    assert_eq!(watched.status.code(), Some(3), "{watched:?}");
    let stdout = text(&watched.stdout);
    assert!(
        stdout.contains(&format!("Run {run_id} cancelled.")),
        "{stdout}"
    );
}
