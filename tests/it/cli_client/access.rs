//! `oblique access grant|list|revoke` on a push-mode resource, and `oblique audit` showing
//! what was done.

use oblique::pb;

use crate::harness::remote::RemoteRoles;
use crate::harness::wait_for_run;
use crate::serve_binary::text;

use super::Served;

#[tokio::test]
async fn access_is_granted_listed_and_revoked_and_the_audit_log_shows_it() {
    let served = Served::start().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql("CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_bob LOGIN; CREATE ROLE {p}_readers NOLOGIN; GRANT {p}_readers TO {p}_alice")
        .await;
    let (created, _) = served.create_integration("directory", &roles).await;
    wait_for_run(&served.admin, &created.last_sync_run.unwrap().id).await;

    // Ids the CLI takes: the resource (made push mode, where grants go) and bob's user.
    let mut integrations = served.admin.integrations.clone();
    let resource = integrations
        .list_resources(pb::ListResourcesRequest {
            integration_id: created.id.clone(),
            ..Default::default()
        })
        .await
        .expect("ListResources")
        .into_inner()
        .resources
        .remove(0);
    integrations
        .set_resource_sync_mode(pb::SetResourceSyncModeRequest {
            resource_id: resource.id.clone(),
            sync_mode: pb::SyncMode::Push.into(),
        })
        .await
        .expect("SetResourceSyncMode");
    let bob = integrations
        .list_accounts(pb::ListAccountsRequest {
            integration_id: created.id.clone(),
            ..Default::default()
        })
        .await
        .expect("ListAccounts")
        .into_inner()
        .accounts
        .into_iter()
        .find(|account| account.username == roles.name("bob"))
        .expect("bob's account")
        .user_id;

    let granted = served.json(&[
        "access",
        "grant",
        "--resource",
        &resource.id,
        "--user",
        &bob,
        "--reason",
        "on call",
    ]);
    let grant_id = granted["id"].as_str().expect("a grant id").to_string();
    assert_eq!(granted["reason"], "on call");
    assert_eq!(granted["granted_by"], "admin");
    assert_eq!(granted["source"], "ACCESS_SOURCE_GRANT");

    let table = served.ok(&["access", "list", "--resource", &resource.id]);
    let bobs = table
        .lines()
        .find(|line| line.contains(&bob))
        .unwrap_or_else(|| panic!("bob is not listed:\n{table}"));
    assert!(
        bobs.contains(" grant ") && bobs.contains(&grant_id),
        "{table}"
    );
    let by_user = served.json(&["access", "list", "--user", &bob]);
    assert_eq!(
        by_user["entries"][0]["grant_id"],
        grant_id.as_str(),
        "{by_user}"
    );
    let neither = served.run(&["access", "list"]);
    assert!(
        !neither.status.success(),
        "--resource or --user is required"
    );

    let revoked = served.ok(&["access", "revoke", &grant_id, "--reason", "rotation ended"]);
    assert!(
        revoked.contains("revoked:") && revoked.contains("rotation ended"),
        "{revoked}"
    );
    let after = served.json(&["access", "list", "--resource", &resource.id]);
    assert!(
        after["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["user_id"] != bob.as_str()),
        "{after}"
    );

    let audit = served.ok(&["audit", "--action", "access.grant"]);
    let lines: Vec<&str> = audit.lines().collect();
    assert_eq!(lines.len(), 2, "a header and the grant:\n{audit}");
    assert!(
        lines[1].contains("admin (admin)") && lines[1].contains(&resource.id),
        "{audit}"
    );
    let of_integration = served.json(&["audit", "--integration", "directory"]);
    let actions: Vec<&str> = of_integration["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    for action in [
        "integration.create",
        "resource.sync_mode",
        "access.grant",
        "access.revoke",
    ] {
        assert!(actions.contains(&action), "no {action} in {actions:?}");
    }
    let since_later = served.json(&["audit", "--since", "2999-01-01T00:00:00Z"]);
    assert_eq!(since_later["events"].as_array().unwrap().len(), 0);
    let bad_time = served.run(&["audit", "--since", "yesterday"]);
    assert!(text(&bad_time.stderr).contains("RFC 3339"), "{bad_time:?}");
}
