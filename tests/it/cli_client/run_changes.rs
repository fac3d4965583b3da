//! `oblique runs changes RUN` (a table, or JSON) and the end of `oblique sync --dry-run`: where
//! to see the list, or with --watch its first changes.

use crate::harness::remote::RemoteRoles;
use crate::harness::wait_for_run;
use crate::serve_binary::text;

use super::{Served, row};

#[tokio::test]
async fn runs_changes_lists_a_dry_runs_difference_and_sync_dry_run_points_at_it() {
    let served = Served::start().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql("CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_readers NOLOGIN; GRANT {p}_readers TO {p}_alice")
        .await;
    let (created, _) = served.create_integration("planned", &roles).await;
    let first = wait_for_run(&served.admin, &created.last_sync_run.unwrap().id).await;
    roles
        .sql("CREATE ROLE {p}_bob LOGIN; GRANT {p}_readers TO {p}_bob")
        .await;
    let (readers, bob) = (roles.name("readers"), roles.name("bob"));

    // Watched: the run's events, its summary, then its first changes (a PostgreSQL role's
    // display name is its name).
    let watched = served.ok(&["sync", "planned", "--dry-run", "--watch"]);
    let table = watched
        .split_once("\nCHANGE ")
        .map(|(_, table)| format!("CHANGE {table}"))
        .unwrap_or_else(|| panic!("no changes table:\n{watched}"));
    assert_eq!(
        row(&table, "access_added"),
        ["access_added", &readers, &bob, &bob, "new account"],
        "{watched}"
    );
    assert_eq!(
        row(&table, "account_created"),
        ["account_created", "-", &bob, &bob, "-"],
        "{watched}"
    );
    assert!(
        watched.contains("dry run: 2 changes listed; see ListSyncRunChanges"),
        "{watched}"
    );

    let runs = served.json(&["runs", "list", "planned", "--limit", "1"]);
    let dry_run = runs["runs"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(runs["runs"][0]["dry_run"], true, "{runs}");

    let listed = served.ok(&["runs", "changes", &dry_run]);
    assert_eq!(listed.lines().count(), 3, "{listed}");
    assert!(listed.starts_with("CHANGE "), "{listed}");
    let limited = served.ok(&["runs", "changes", &dry_run, "--limit", "1"]);
    assert!(
        limited.contains("(the first 1 changes; --limit 0 lists them all)"),
        "{limited}"
    );

    let json = served.json(&["runs", "changes", &dry_run]);
    let changes = json["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{json}");
    assert_eq!(changes[0]["kind"], "SYNC_RUN_CHANGE_KIND_ACCESS_ADDED");
    assert_eq!(changes[0]["resource_name"], readers.as_str());
    assert!(!changes[0]["resource_id"].as_str().unwrap().is_empty());
    assert_eq!(changes[0]["account_id"], "", "bob is not there yet");
    assert_eq!(changes[1]["kind"], "SYNC_RUN_CHANGE_KIND_ACCOUNT_CREATED");

    // Not watched: where to look once it has succeeded.
    let queued = served.ok(&["sync", "planned", "--dry-run"]);
    assert!(
        queued.contains("`oblique runs changes ") && queued.contains("` lists what it found."),
        "{queued}"
    );

    // A run that is not a dry run has no list.
    let refused = served.run(&["runs", "changes", &first.id]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("FAILED_PRECONDITION"), "{stderr}");
}
