//! What the initial sync pulls from the server: user accounts with their attributes, roles, and
//! the roles granted to accounts; root, the system accounts and the connecting user left out;
//! `user_pattern` limiting the accounts. A role granted to a role is not an account's access.

use super::{MysqlService, pair};
use crate::harness::TestApp;
use crate::harness::calls::{accounts, attribute, memberships, resources, run_messages, synced};

#[tokio::test]
async fn the_initial_sync_brings_users_attributes_roles_and_grants() {
    let app = TestApp::spawn().await;
    let service = MysqlService::start().await;
    service.role("readers").await;
    service.role("`we'ird `` role %`").await;
    service.role("auditors").await;
    service
        .sql(
            r"CREATE USER 'alice'@'%' IDENTIFIED BY 'a' PASSWORD EXPIRE;
              CREATE USER 'o''b\\r'@'10.0.%' IDENTIFIED BY 'b' WITH MAX_USER_CONNECTIONS 5
                ACCOUNT LOCK;
              CREATE USER 'bob'@'localhost';
              GRANT readers TO 'alice'@'%';
              SET DEFAULT ROLE readers FOR 'alice'@'%';
              GRANT `we'ird `` role %` TO 'alice'@'%', 'o''b\\r'@'10.0.%';
              GRANT readers TO 'root'@'localhost';
              GRANT readers TO auditors",
        )
        .await;

    let (integration, run) = synced(&app, service.create_request("db")).await;
    let stats = run.stats.unwrap();
    assert_eq!(stats.errors, 0);
    let messages = run_messages(&app, &run).await;
    assert!(
        !messages
            .iter()
            .any(|m| m.contains("outside the synced ones")),
        "the role granted to a role is not listed as access: {messages:?}"
    );
    let accounts = accounts(&app, &integration, false).await;
    let usernames: Vec<&str> = accounts.iter().map(|a| a.username.as_str()).collect();
    assert_eq!(
        usernames,
        ["alice", "bob", r"o'b\r"],
        "root, mariadb.sys and the connecting user left out"
    );
    let (alice, bob, odd) = (&accounts[0], &accounts[1], &accounts[2]);
    assert_eq!(alice.external_id, "'alice'@'%'");
    assert_eq!(alice.display_name, "alice@%");
    assert_eq!(alice.email, "");
    for (name, value) in [
        ("host", "%"),
        ("account_locked", "false"),
        ("password_expired", "true"),
        ("max_connections", "0"),
        ("default_role", "readers"),
    ] {
        assert_eq!(attribute(alice, name), [value], "alice's {name}");
    }
    assert_eq!(
        odd.external_id, r"'o\'b\\r'@'10.0.%'",
        "as QUOTE() writes it"
    );
    for (name, value) in [
        ("host", "10.0.%"),
        ("account_locked", "true"),
        ("password_expired", "false"),
        ("max_connections", "5"),
    ] {
        assert_eq!(attribute(odd, name), [value], "{name}");
    }
    assert!(attribute(odd, "default_role").is_empty());
    assert_eq!(bob.external_id, "'bob'@'localhost'");

    let resources = resources(&app, &integration, false).await;
    let listed: Vec<(&str, &str, &str)> = resources
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.external_id.as_str(),
                r.resource_type.as_str(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("auditors", "'auditors'@''", "role"),
            ("readers", "'readers'@''", "role"),
            (r"we'ird ` role %", r"'we\'ird ` role %'@''", "role"),
        ]
    );
    assert_eq!(
        memberships(&app, &integration).await,
        [
            pair("readers", "alice"),
            pair(r"we'ird ` role %", "alice"),
            pair(r"we'ird ` role %", r"o'b\r"),
        ],
        "root's and the connecting user's grants left out"
    );

    let mut filtered = service.create_request("filtered");
    filtered.config.insert("user_pattern".into(), "o%".into());
    let (filtered, _) = synced(&app, filtered).await;
    let usernames: Vec<String> = crate::harness::calls::accounts(&app, &filtered, false)
        .await
        .into_iter()
        .map(|a| a.username)
        .collect();
    assert_eq!(usernames, [r"o'b\r"]);
    assert_eq!(
        memberships(&app, &filtered).await,
        [pair(r"we'ird ` role %", r"o'b\r")]
    );
}
