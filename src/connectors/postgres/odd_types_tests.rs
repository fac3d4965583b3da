//! A remote whose catalog answers with other column types than PostgreSQL's own: every read of a
//! row must turn that into an error, never a panic (a panicking push takes a sync worker down
//! with it). The test cluster's superuser replaces `pg_catalog.pg_roles` in a database of its
//! own (`allow_system_table_mods`), which is what a hostile or merely unusual server can do.

use futures::StreamExt;

use super::test_cluster::Cluster;
use super::{PostgresConnector, PostgresSettings, SslMode};
use crate::connectors::{Connector, ConnectorError};

/// A database named `name` whose `pg_roles` has `columns` (over `pg_authid`) instead.
async fn database_with_roles_view(cluster: &Cluster, name: &str, columns: &str) {
    let admin = cluster.admin().await;
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let settings = PostgresSettings {
        database: name.into(),
        ..cluster.settings(SslMode::Disable)
    };
    let odd = super::connect(&settings).await.unwrap();
    odd.batch_execute(&format!(
        "SET allow_system_table_mods = on;
         DROP VIEW pg_catalog.pg_roles CASCADE;
         CREATE VIEW pg_catalog.pg_roles AS SELECT {columns} FROM pg_catalog.pg_authid;
         GRANT SELECT ON pg_catalog.pg_roles TO PUBLIC"
    ))
    .await
    .unwrap();
}

fn connector(cluster: &Cluster, database: &str) -> PostgresConnector {
    PostgresConnector::new(PostgresSettings {
        database: database.into(),
        ..cluster.settings(SslMode::Disable)
    })
}

#[track_caller]
fn assert_remote_error<T: std::fmt::Debug>(result: Result<T, ConnectorError>, what: &str) {
    match result {
        Err(ConnectorError::Remote(message)) => {
            assert!(message.contains("unexpected"), "{what}: {message}")
        }
        other => panic!("{what}: expected a remote error, got {other:?}"),
    }
}

#[tokio::test]
async fn catalog_columns_of_other_types_are_errors_not_panics() {
    let cluster = Cluster::start().await;
    let admin = cluster.admin().await;
    // Roles belong to the cluster: both databases see them.
    admin
        .batch_execute("CREATE ROLE readers NOLOGIN; CREATE ROLE ann LOGIN")
        .await
        .unwrap();
    // oid as int8: what create_resource reads back after CREATE ROLE.
    database_with_roles_view(
        &cluster,
        "wide_oids",
        "oid::int8 AS oid, rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, \
         rolbypassrls, rolconnlimit, rolvaliduntil",
    )
    .await;
    // rolname as int4: what add_member and remove_member read to name the roles.
    database_with_roles_view(
        &cluster,
        "numeric_names",
        "oid, length(rolname::text) AS rolname, rolcanlogin, rolsuper, rolcreatedb, \
         rolcreaterole, rolbypassrls, rolconnlimit, rolvaliduntil",
    )
    .await;
    let oid = |name: &'static str| {
        let admin = &admin;
        async move {
            let sql = "SELECT oid::text FROM pg_catalog.pg_authid WHERE rolname = $1::text";
            admin
                .query_one(sql, &[&name])
                .await
                .unwrap()
                .get::<_, String>(0)
        }
    };
    let (readers, ann) = (oid("readers").await, oid("ann").await);

    let wide = connector(&cluster, "wide_oids");
    assert_remote_error(wide.create_resource("newcomers").await, "create_resource");

    let numeric = connector(&cluster, "numeric_names");
    assert_remote_error(numeric.add_member(&readers, &ann).await, "add_member");
    assert_remote_error(numeric.remove_member(&readers, &ann).await, "remove_member");

    // The listings already read with try_get: a failed page, no panic.
    for database in ["wide_oids", "numeric_names"] {
        let connector = connector(&cluster, database);
        let pages = connector.list_resources().collect::<Vec<_>>().await;
        assert!(
            pages.iter().any(Result::is_err),
            "{database}: listed {pages:?}"
        );
    }
}
