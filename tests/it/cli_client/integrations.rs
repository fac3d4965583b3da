//! `oblique types` and `oblique integrations create|list|get|update|delete` on the real binary.

use crate::harness::remote::{READER_PASSWORD, RemoteRoles};
use crate::harness::wait_for_run;
use crate::serve_binary::text;

use super::{Served, row};

#[tokio::test]
async fn types_lists_every_type_and_one_types_setup_fields() {
    let served = Served::start().await;
    let table = served.ok(&["types"]);
    let postgres = row(&table, "postgres");
    assert_eq!(postgres[1..4], ["PostgreSQL", "yes", "yes"], "{table}");
    // Secrets are marked in the field list.
    assert!(postgres[4].contains("password*"), "{table}");
    for kind in ["ldap", "scim", "mysql"] {
        row(&table, kind);
    }

    let fields = served.ok(&["types", "postgres"]);
    assert_eq!(row(&fields, "password")[1..3], ["yes", "yes"], "{fields}");
    assert_eq!(
        row(&fields, "sslmode")[1..4],
        ["no", "no", "verify-full"],
        "{fields}"
    );

    let json = served.json(&["types"]);
    let names: Vec<&str> = json["types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|kind| kind["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"postgres") && names.contains(&"ldap"),
        "{json}"
    );
    // The JSON mapping keeps the proto field names and the defaults.
    assert!(
        json["types"][0]["capabilities"]["can_push"].is_boolean(),
        "{json}"
    );
}

#[tokio::test]
async fn integrations_are_created_from_files_listed_got_by_name_updated_and_deleted() {
    let served = Served::start().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql("CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_readers NOLOGIN; GRANT {p}_readers TO {p}_alice")
        .await;

    // A secret among the plain values is refused before anything is sent.
    let refused = served.run(&[
        "integrations",
        "create",
        "--type",
        "postgres",
        "--name",
        "hr",
        "--set",
        "host=127.0.0.1",
        "--set",
        "password=on-the-command-line",
    ]);
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("password is a secret") && stderr.contains("--credentials-file"),
        "{stderr}"
    );

    let (created, argv) = served.create_integration("hr", &roles).await;
    assert!(
        argv.iter().all(|arg| !arg.contains(READER_PASSWORD)),
        "the password is on the command line: {argv:?}"
    );
    let run = wait_for_run(&served.admin, &created.last_sync_run.unwrap().id).await;
    assert_eq!(run.state(), oblique::pb::SyncRunState::Succeeded, "{run:?}");

    let table = served.ok(&["integrations", "list"]);
    let listed = row(&table, &created.id);
    assert_eq!(listed[1..4], ["hr", "postgres", "active"], "{table}");
    // Two roles: one resource (readers, a group) and accounts for the login role(s).
    assert_eq!(listed[4], "1", "{table}");
    assert_eq!(listed[6], "succeeded", "{table}");

    let json = served.json(&["integrations", "list"]);
    let integrations = json["integrations"].as_array().expect("integrations");
    assert_eq!(integrations.len(), 1, "{json}");
    assert_eq!(integrations[0]["id"], created.id.as_str());
    assert_eq!(integrations[0]["status"], "INTEGRATION_STATUS_ACTIVE");
    assert_eq!(integrations[0]["credentials_set"], true);
    assert_eq!(integrations[0]["config"]["sslmode"], "verify-full");

    let got = served.ok(&["integrations", "get", "hr"]);
    assert!(got.contains("id:") && got.contains(&created.id), "{got}");
    assert!(got.contains("config.username:"), "{got}");
    // The CA certificate shows as its first line only.
    assert!(got.contains("-----BEGIN CERTIFICATE----- … (+"), "{got}");
    assert!(!got.contains(READER_PASSWORD), "{got}");

    // A new name and a changed setting; the setup is kept.
    let updated = served.json(&[
        "integrations",
        "update",
        "hr",
        "--name",
        "people",
        "--sync-interval",
        "600",
        "--set",
        "database=postgres",
    ]);
    assert_eq!(updated["name"], "people");
    assert_eq!(updated["sync_interval_seconds"], 600);
    assert_eq!(updated["config"]["role_pattern"], roles.pattern().as_str());
    assert_eq!(updated["config"]["database"], "postgres");
    let nothing = served.run(&["integrations", "update", "people"]);
    assert!(!nothing.status.success());
    assert!(text(&nothing.stderr).contains("nothing to change"));

    // No terminal to ask on and no --yes: nothing is deleted.
    let unconfirmed = served.run(&["integrations", "delete", "people"]);
    assert!(!unconfirmed.status.success());
    assert!(
        text(&unconfirmed.stderr).contains("--yes"),
        "{unconfirmed:?}"
    );
    served.ok(&["integrations", "get", &created.id]);

    let deleted = served.ok(&["integrations", "delete", "people", "--yes"]);
    assert!(
        deleted.starts_with(&format!("Deleted integration people ({})", created.id)),
        "{deleted}"
    );
    assert!(deleted.contains("1 resource(s)"), "{deleted}");
    let after = served.json(&["integrations", "list"]);
    assert_eq!(
        after["integrations"].as_array().unwrap().len(),
        0,
        "{after}"
    );
    let with_deleted = served.ok(&["integrations", "list", "--include-deleted"]);
    assert_eq!(row(&with_deleted, &created.id)[3], "deleted");

    assert!(!served.server_log().contains(READER_PASSWORD));
}
