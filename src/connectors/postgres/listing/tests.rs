use std::collections::BTreeMap;

use futures::StreamExt;
use tokio_postgres::Client;

use crate::connectors::postgres::test_cluster::{Cluster, free_port, settings};
use crate::connectors::postgres::{PostgresConnector, PostgresSettings, SslMode};
use crate::connectors::{
    Connector, ConnectorError, PageStream, RemoteAccess, RemoteAccount, RemoteResource,
};

use super::super::paged_query::PAGE_SIZE;

/// Every item of a listing, checking that each page holds at most [`PAGE_SIZE`] items; also
/// the page sizes.
async fn drain<T: std::fmt::Debug>(
    listing: PageStream<'_, T>,
) -> Result<(Vec<T>, Vec<usize>), ConnectorError> {
    let pages: Vec<_> = listing.collect().await;
    let (mut items, mut sizes) = (Vec::new(), Vec::new());
    for page in pages {
        let page = page?;
        assert!(page.len() <= PAGE_SIZE, "a page of {}", page.len());
        sizes.push(page.len());
        items.extend(
            page.into_iter()
                .map(|item| item.expect("no object problems")),
        );
    }
    Ok((items, sizes))
}

async fn accounts(connector: &PostgresConnector) -> Vec<RemoteAccount> {
    drain(connector.list_accounts()).await.unwrap().0
}

async fn resources(connector: &PostgresConnector) -> Vec<RemoteResource> {
    drain(connector.list_resources()).await.unwrap().0
}

async fn access(connector: &PostgresConnector) -> Vec<RemoteAccess> {
    drain(connector.list_access()).await.unwrap().0
}

/// Role name → oid as text, the external id.
async fn oids(admin: &Client) -> BTreeMap<String, String> {
    let rows = admin
        .query("SELECT rolname::text, oid::text FROM pg_roles", &[])
        .await
        .unwrap();
    rows.iter().map(|row| (row.get(0), row.get(1))).collect()
}

fn attributes(pairs: &[(&str, &str)]) -> Vec<(String, Vec<String>)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
        .collect()
}

const ROLES: &str = r#"
    CREATE ROLE alice LOGIN CREATEDB CONNECTION LIMIT 3 VALID UNTIL '2031-02-03 04:05:06+00';
    COMMENT ON ROLE alice IS 'Alice, data team';
    CREATE ROLE bob LOGIN VALID UNTIL 'infinity';
    CREATE ROLE "carol o'hara" LOGIN;
    CREATE ROLE readers NOLOGIN;
    COMMENT ON ROLE readers IS 'read-only access';
    CREATE ROLE writers NOLOGIN;
    CREATE ROLE app_admins NOLOGIN;
    CREATE ROLE app_bot LOGIN;
    GRANT readers TO alice, bob;
    GRANT writers TO alice;
    GRANT app_admins TO app_bot;
    -- Not access: a NOLOGIN role in a NOLOGIN role, a LOGIN role in a LOGIN role, a
    -- predefined role, and the connecting role's own membership.
    GRANT readers TO writers;
    GRANT bob TO "carol o'hara";
    GRANT pg_read_all_data TO alice;
    GRANT readers TO postgres;
"#;

#[tokio::test]
async fn lists_the_roles_and_memberships_created() {
    let cluster = Cluster::start().await;
    let admin = cluster.admin().await;
    admin.batch_execute(ROLES).await.unwrap();
    let id = oids(&admin).await;
    let connector = PostgresConnector::new(cluster.settings(SslMode::Disable));

    let account = |name: &str, pairs: &[(&str, &str)]| RemoteAccount {
        member_names: Vec::new(),
        external_id: id[name].clone(),
        username: name.into(),
        email: None,
        display_name: name.into(),
        attributes: attributes(pairs),
    };
    let plain = [
        ("superuser", "false"),
        ("createdb", "false"),
        ("createrole", "false"),
        ("bypassrls", "false"),
        ("connection_limit", "-1"),
    ];
    assert_eq!(
        accounts(&connector).await,
        vec![
            account(
                "alice",
                &[
                    ("superuser", "false"),
                    ("createdb", "true"),
                    ("createrole", "false"),
                    ("bypassrls", "false"),
                    ("connection_limit", "3"),
                    ("valid_until", "2031-02-03T04:05:06Z"),
                    ("comment", "Alice, data team"),
                ]
            ),
            account("bob", &plain),
            account("carol o'hara", &plain),
            account("app_bot", &plain),
        ]
    );

    let resource = |name: &str, description: &str| RemoteResource {
        member_names: Vec::new(),
        external_id: id[name].clone(),
        resource_type: crate::model::ResourceType::Role,
        name: name.into(),
        description: description.into(),
    };
    assert_eq!(
        resources(&connector).await,
        vec![
            resource("readers", "read-only access"),
            resource("writers", ""),
            resource("app_admins", ""),
        ]
    );

    let member = |resource: &str, account: &str| RemoteAccess {
        resource_external_id: id[resource].clone(),
        account_external_id: id[account].clone(),
        by_member_name: false,
        inherited: false,
    };
    let mut expected = vec![
        member("readers", "alice"),
        member("readers", "bob"),
        member("writers", "alice"),
        member("app_admins", "app_bot"),
    ];
    expected.sort_by_key(|a| {
        let oid = |id: &str| id.parse::<u32>().unwrap();
        (oid(&a.resource_external_id), oid(&a.account_external_id))
    });
    assert_eq!(access(&connector).await, expected);

    // The oid is the external id: a rename changes the name, not the identity.
    admin
        .batch_execute("ALTER ROLE bob RENAME TO robert; ALTER ROLE readers RENAME TO viewers")
        .await
        .unwrap();
    let listed = accounts(&connector).await;
    let robert = listed.iter().find(|a| a.username == "robert").unwrap();
    assert_eq!(robert.external_id, id["bob"]);
    assert!(listed.iter().all(|a| a.username != "bob"));
    let listed = resources(&connector).await;
    let viewers = listed.iter().find(|r| r.name == "viewers").unwrap();
    assert_eq!(viewers.external_id, id["readers"]);
    assert_eq!(access(&connector).await, expected);
}

#[tokio::test]
async fn the_role_pattern_limits_every_listing() {
    let cluster = Cluster::start().await;
    let admin = cluster.admin().await;
    admin.batch_execute(ROLES).await.unwrap();
    let id = oids(&admin).await;
    let connector = PostgresConnector::new(PostgresSettings {
        // `_` is a wildcard unless escaped: "appxbot" must not match.
        role_pattern: Some("app\\_%".into()),
        ..cluster.settings(SslMode::Disable)
    });
    admin
        .batch_execute("CREATE ROLE appxbot LOGIN")
        .await
        .unwrap();

    let names =
        |accounts: Vec<RemoteAccount>| accounts.into_iter().map(|a| a.username).collect::<Vec<_>>();
    assert_eq!(names(accounts(&connector).await), ["app_bot"]);
    let listed = resources(&connector).await;
    assert_eq!(
        listed.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["app_admins"]
    );
    assert_eq!(
        access(&connector).await,
        [RemoteAccess {
            resource_external_id: id["app_admins"].clone(),
            account_external_id: id["app_bot"].clone(),
            by_member_name: false,
            inherited: false,
        }]
    );

    // A pattern is bound, never spliced into the SQL.
    let quoted = PostgresConnector::new(PostgresSettings {
        role_pattern: Some("x' OR true OR rolname LIKE '%".into()),
        ..cluster.settings(SslMode::Disable)
    });
    assert_eq!(accounts(&quoted).await, []);
}

#[tokio::test]
async fn many_roles_come_in_pages() {
    let cluster = Cluster::start().await;
    let admin = cluster.admin().await;
    admin
        .batch_execute(
            "DO $$ BEGIN
                FOR i IN 1..2500 LOOP
                    EXECUTE format('CREATE ROLE %I NOLOGIN', 'team_' || i);
                END LOOP;
            END $$",
        )
        .await
        .unwrap();
    let connector = PostgresConnector::new(cluster.settings(SslMode::Disable));
    let (listed, sizes) = drain(connector.list_resources()).await.unwrap();
    assert_eq!(listed.len(), 2500);
    assert_eq!(sizes, [PAGE_SIZE, PAGE_SIZE, 500]);
    let mut ids: Vec<u32> = listed
        .iter()
        .map(|r| r.external_id.parse().unwrap())
        .collect();
    assert!(ids.is_sorted(), "ordered by oid");
    ids.dedup();
    assert_eq!(ids.len(), 2500);
}

#[tokio::test]
async fn an_unreachable_server_is_an_err_page() {
    let mut cluster = Cluster::start().await;
    let connector = PostgresConnector::new(cluster.settings(SslMode::Disable));
    drain(connector.list_accounts()).await.unwrap();
    cluster.stop().await;
    let gone = PostgresConnector::new(settings(free_port(), SslMode::Disable));
    for connector in [&connector, &gone] {
        for pages in [
            connector
                .list_accounts()
                .map(|page| page.map(drop))
                .collect::<Vec<_>>()
                .await,
            connector
                .list_resources()
                .map(|page| page.map(drop))
                .collect()
                .await,
            connector
                .list_access()
                .map(|page| page.map(drop))
                .collect()
                .await,
        ] {
            assert!(
                matches!(&pages[..], [Err(ConnectorError::Unreachable(_))]),
                "{pages:?}"
            );
        }
    }
}
