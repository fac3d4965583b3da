use tokio_postgres::Client;

use super::quote_ident;
use crate::connectors::postgres::test_cluster::{Cluster, PASSWORD};
use crate::connectors::postgres::{PostgresConnector, PostgresSettings};
use crate::connectors::{Connector, ConnectorError, RemoteResource};

#[test]
fn quotes_identifiers() {
    assert_eq!(quote_ident("readers"), r#""readers""#);
    assert_eq!(quote_ident("Data Team"), r#""Data Team""#);
    assert_eq!(quote_ident(r#"say "hi""#), r#""say ""hi""""#);
    assert_eq!(quote_ident(r#"""#), r#""""""#);
    assert_eq!(
        quote_ident("x\"; DROP ROLE y; --"),
        r#""x""; DROP ROLE y; --""#
    );
    assert_eq!(
        quote_ident("équipe données 数据"),
        "\"équipe données 数据\""
    );
}

/// The oid of role `name`, as text.
async fn oid(admin: &Client, name: &str) -> String {
    let sql = "SELECT oid::text FROM pg_roles WHERE rolname = $1::text";
    admin.query_one(sql, &[&name]).await.unwrap().get(0)
}

async fn is_member(admin: &Client, resource: &str, account: &str) -> bool {
    let sql = "SELECT pg_has_role($2::text, $1::text, 'MEMBER')";
    admin
        .query_one(sql, &[&resource, &account])
        .await
        .unwrap()
        .get(0)
}

/// A CREATEROLE role, not a superuser: what the README asks admins to set up for pushes.
async fn pusher(cluster: &Cluster, admin: &Client) -> PostgresConnector {
    let sql = format!("CREATE ROLE oblique LOGIN CREATEROLE PASSWORD '{PASSWORD}'");
    admin.batch_execute(&sql).await.unwrap();
    PostgresConnector::new(cluster.settings_as("oblique"))
}

#[tokio::test]
async fn grants_and_revokes_memberships_idempotently() {
    let cluster = Cluster::start().await;
    let admin = cluster.admin().await;
    let connector = pusher(&cluster, &admin).await;
    admin
        .batch_execute(r#"CREATE ROLE readers NOLOGIN; CREATE ROLE "O'Brien ""the"" dev" LOGIN"#)
        .await
        .unwrap();
    let account_name = r#"O'Brien "the" dev"#;
    let (resource, account) = (
        oid(&admin, "readers").await,
        oid(&admin, account_name).await,
    );

    for _ in 0..2 {
        connector.add_member(&resource, &account).await.unwrap();
        assert!(is_member(&admin, "readers", account_name).await);
    }
    for _ in 0..2 {
        connector.remove_member(&resource, &account).await.unwrap();
        assert!(!is_member(&admin, "readers", account_name).await);
    }

    // Granted by someone else (the superuser): still revoked.
    let grant = format!("GRANT readers TO {}", quote_ident(account_name));
    admin.batch_execute(&grant).await.unwrap();
    connector.remove_member(&resource, &account).await.unwrap();
    assert!(!is_member(&admin, "readers", account_name).await);

    // The oid names the role: a rename between pull and push changes nothing.
    admin
        .batch_execute("ALTER ROLE readers RENAME TO viewers")
        .await
        .unwrap();
    connector.add_member(&resource, &account).await.unwrap();
    assert!(is_member(&admin, "viewers", account_name).await);

    admin.batch_execute("DROP ROLE viewers").await.unwrap();
    for result in [
        connector.add_member(&resource, &account).await,
        connector.remove_member(&resource, &account).await,
    ] {
        assert!(
            matches!(&result, Err(ConnectorError::Remote(m)) if m.contains("no longer exists")),
            "{result:?}"
        );
    }
    let result = connector.add_member("readers", &account).await;
    assert!(
        matches!(result, Err(ConnectorError::Remote(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn creates_resources_and_reports_clashes() {
    let cluster = Cluster::start().await;
    let admin = cluster.admin().await;
    let connector = pusher(&cluster, &admin).await;

    for name in ["data-team", r#"Team "A" 1"#, "équipe données"] {
        let created = connector.create_resource(name).await.unwrap();
        assert_eq!(
            created,
            RemoteResource {
                member_names: Vec::new(),
                external_id: oid(&admin, name).await,
                resource_type: crate::model::ResourceType::Role,
                name: name.into(),
                description: String::new(),
            }
        );
        let sql = "SELECT rolcanlogin FROM pg_roles WHERE rolname = $1::text";
        assert!(
            !admin
                .query_one(sql, &[&name])
                .await
                .unwrap()
                .get::<_, bool>(0)
        );
        // A name clash is reported, never adopted.
        let again = connector.create_resource(name).await;
        assert!(
            matches!(&again, Err(ConnectorError::Remote(m)) if m.contains("already exists")),
            "{again:?}"
        );
    }
    // Clashing with a LOGIN role is just as much an error.
    admin.batch_execute("CREATE ROLE dave LOGIN").await.unwrap();
    assert!(connector.create_resource("dave").await.is_err());

    // PostgreSQL would truncate it and create another role than the one asked for.
    let long = "x".repeat(64);
    let result = connector.create_resource(&long).await;
    assert!(
        matches!(&result, Err(ConnectorError::Remote(m)) if m.contains("longer")),
        "{result:?}"
    );
    assert!(connector.create_resource("").await.is_err());

    // A role the pattern hides would never be listed again.
    let patterned = PostgresConnector::new(PostgresSettings {
        role_pattern: Some("app\\_%".into()),
        ..cluster.settings_as("oblique")
    });
    let result = patterned.create_resource("billing").await;
    assert!(
        matches!(&result, Err(ConnectorError::Remote(m)) if m.contains("role_pattern")),
        "{result:?}"
    );
    patterned.create_resource("app_billing").await.unwrap();
}

#[tokio::test]
async fn a_missing_privilege_names_createrole() {
    let cluster = Cluster::start().await;
    let admin = cluster.admin().await;
    let sql = format!(
        "CREATE ROLE plain LOGIN PASSWORD '{PASSWORD}';
         CREATE ROLE readers NOLOGIN; CREATE ROLE erin LOGIN"
    );
    admin.batch_execute(&sql).await.unwrap();
    let connector = PostgresConnector::new(cluster.settings_as("plain"));
    let (resource, account) = (oid(&admin, "readers").await, oid(&admin, "erin").await);
    for result in [
        connector.add_member(&resource, &account).await,
        connector.create_resource("new-team").await.map(drop),
    ] {
        assert!(
            matches!(&result, Err(ConnectorError::Remote(m)) if m.contains("CREATEROLE")),
            "{result:?}"
        );
    }
    admin.batch_execute("GRANT readers TO erin").await.unwrap();
    let result = connector.remove_member(&resource, &account).await;
    assert!(
        matches!(&result, Err(ConnectorError::Remote(m)) if m.contains("CREATEROLE")),
        "{result:?}"
    );
    assert!(is_member(&admin, "readers", "erin").await);
}
