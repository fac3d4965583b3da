//! Every down.sql undoes its up.sql: up, down, up on an empty database.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::harness::servers;

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Table {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
}

async fn tables(url: &str) -> Vec<String> {
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    let rows: Vec<Table> = diesel::sql_query(
        "SELECT table_name::text AS table_name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations' \
         ORDER BY 1",
    )
    .load(&mut conn)
    .await
    .unwrap();
    rows.into_iter().map(|t| t.table_name).collect()
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let (name, url) = servers::create_empty_database().await;
    let applied = oblique::db::migrate::run_pending(&url).await.unwrap();
    assert!(applied > 0);
    let migrated = tables(&url).await;
    assert!(migrated.contains(&"integrations".to_string()));
    assert!(migrated.contains(&"audit_events".to_string()));

    // Running again (as a second replica would) applies nothing.
    assert_eq!(oblique::db::migrate::run_pending(&url).await.unwrap(), 0);

    assert_eq!(
        oblique::db::migrate::revert_all(&url).await.unwrap(),
        applied
    );
    assert!(tables(&url).await.is_empty(), "down.sql left tables behind");

    assert_eq!(
        oblique::db::migrate::run_pending(&url).await.unwrap(),
        applied
    );
    assert_eq!(tables(&url).await, migrated);
    servers::drop_test_database(name);
}

#[tokio::test]
async fn replicas_migrating_at_once_do_not_collide() {
    let (name, url) = servers::create_empty_database().await;
    let (a, b) = tokio::join!(
        oblique::db::migrate::run_pending(&url),
        oblique::db::migrate::run_pending(&url)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a == 0 || b == 0, "only one of them applies the migrations");
    assert!(a + b > 0);
    servers::drop_test_database(name);
}

/// pulled_access, account_attributes, accounts and resources have no foreign keys (they cost
/// half of an initial sync); what they guarded is that the accounts, resources, users and
/// integrations they name never disappear, which the database refuses.
#[tokio::test]
async fn the_database_refuses_to_remove_what_synced_rows_name() {
    use diesel_async::SimpleAsyncConnection;
    let app = crate::harness::TestApp::spawn_without_sync().await;
    // Even the tables' owner: the server's own role may not TRUNCATE at all.
    let mut conn = app.owner_conn().await;
    for statement in [
        "DELETE FROM accounts",
        "TRUNCATE accounts CASCADE",
        "DELETE FROM resources WHERE name = 'x'",
        "TRUNCATE resources CASCADE",
        "DELETE FROM users",
        "TRUNCATE users CASCADE",
        "DELETE FROM integrations",
        "TRUNCATE integrations CASCADE",
    ] {
        let error = conn.batch_execute(statement).await.expect_err(statement);
        assert!(
            error.to_string().contains("never removed"),
            "{statement}: {error}"
        );
    }
}

/// The words the model reads strictly are the only ones the schema lets in: an unknown one is
/// refused on the way in, so it can never reach a read as a fallback.
#[tokio::test]
async fn the_schema_refuses_values_the_model_does_not_know() {
    use diesel_async::SimpleAsyncConnection;
    let app = crate::harness::TestApp::spawn_without_sync().await;
    let mut conn = app.owner_conn().await;
    conn.batch_execute(
        "INSERT INTO audit_events (id, actor_name, actor_role, action, details)
         VALUES (uuid_generate_v7(), 'system', 'system', 'sync.apply', '{}')",
    )
    .await
    .expect("system is an actor role");
    let error = conn
        .batch_execute(
            "INSERT INTO audit_events (id, actor_name, actor_role, action, details)
             VALUES (uuid_generate_v7(), 'x', 'root', 'sync.apply', '{}')",
        )
        .await
        .expect_err("root is no actor role");
    assert!(
        error.to_string().contains("audit_events_actor_role_check"),
        "{error}"
    );
    let error = conn
        .batch_execute(
            "INSERT INTO audit_events (id, actor_name, actor_role, action, details)
             VALUES (uuid_generate_v7(), 'x', 'admin', 'integration.created', '{}')",
        )
        .await
        .expect_err("integration.created is no action");
    assert!(
        error.to_string().contains("audit_events_action_check"),
        "{error}"
    );
}

/// Reverts the migrations down to the state before 000005; returns how many it reverted.
async fn revert_to_before_000005(url: &str) -> usize {
    let mut reverted_count = 0;
    loop {
        let reverted = oblique::db::migrate::revert_last(url).await.unwrap();
        reverted_count += 1;
        if reverted.contains("000005") {
            return reverted_count;
        }
        assert!(reverted_count < 50, "000005 never reverted");
    }
}

/// Access rows as a version before 000005 left them: one integration, one resource, alice's
/// row open, and bob's left open although bob's account is soft deleted.
const OLD_ACCESS: &str = "
    INSERT INTO integrations (id, integration_type, name)
        VALUES ('00000000-0000-7000-8000-000000000001', 'postgres', 'old');
    INSERT INTO resources (id, integration_id, external_id, resource_type, name)
        VALUES ('00000000-0000-7000-8000-000000000002',
                '00000000-0000-7000-8000-000000000001', 'cn=Ünïcødé', 'group', 'g');
    INSERT INTO accounts (id, integration_id, external_id, username, deleted_at)
        VALUES ('00000000-0000-7000-8000-000000000003',
                '00000000-0000-7000-8000-000000000001', 'alice', 'alice', NULL),
               ('00000000-0000-7000-8000-000000000004',
                '00000000-0000-7000-8000-000000000001', 'bob', 'bob', now());
    INSERT INTO pulled_access (integration_id, resource_id, account_id)
        SELECT '00000000-0000-7000-8000-000000000001',
               '00000000-0000-7000-8000-000000000002', id FROM accounts;";

#[derive(diesel::QueryableByName)]
struct AccessRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    username: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    open: bool,
}

/// (username, open) of every access row, by username.
async fn access_rows(conn: &mut AsyncPgConnection) -> Vec<(String, bool)> {
    let rows: Vec<AccessRow> = diesel::sql_query(
        "SELECT a.username, p.removed_at IS NULL AS open
         FROM pulled_access p JOIN accounts a ON a.id = p.account_id ORDER BY 1, 2",
    )
    .load(conn)
    .await
    .unwrap();
    rows.into_iter().map(|r| (r.username, r.open)).collect()
}

/// Migration 000005 gives the access rows already stored their pair keys, and closes the rows an
/// older version left open on a soft-deleted account (the merge's folds assume there are none).
#[tokio::test]
async fn existing_access_gets_pair_keys() {
    use diesel_async::SimpleAsyncConnection;
    let (name, url) = servers::create_empty_database().await;
    oblique::db::migrate::run_pending(&url).await.unwrap();
    // Later migrations go first, back to the state before 000005.
    let reverted_count = revert_to_before_000005(&url).await;
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    conn.batch_execute(OLD_ACCESS).await.unwrap();
    assert_eq!(
        oblique::db::migrate::run_pending(&url).await.unwrap(),
        reverted_count
    );

    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        username: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        pair_key: i64,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        open: bool,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT a.username, p.pair_key, p.removed_at IS NULL AS open
         FROM pulled_access p JOIN accounts a ON a.id = p.account_id ORDER BY 1",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let found: Vec<(&str, i64, bool)> = rows
        .iter()
        .map(|r| (r.username.as_str(), r.pair_key, r.open))
        .collect();
    // Later migrations keyed them with the integration's secret (000014).
    let secret = oblique::db::integrations::access_key_secret(
        &mut conn,
        "00000000-0000-7000-8000-000000000001".parse().unwrap(),
    )
    .await
    .unwrap();
    let key = |resource, account| {
        oblique::engine::access_key::access_pair_key(&secret, resource, account)
    };
    assert_eq!(
        found,
        [
            ("alice", key("cn=Ünïcødé", "alice"), true),
            ("bob", key("cn=Ünïcødé", "bob"), false),
        ]
    );
    drop(conn);
    servers::drop_test_database(name);
}

/// Reverting 000005 reopens exactly the rows it closed: a row the sync closed when carol's
/// account was soft deleted later is history, and stays closed.
#[tokio::test]
async fn reverting_000005_reopens_only_the_rows_it_closed() {
    use diesel_async::SimpleAsyncConnection;
    let (name, url) = servers::create_empty_database().await;
    oblique::db::migrate::run_pending(&url).await.unwrap();
    let reverted_count = revert_to_before_000005(&url).await;
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    conn.batch_execute(OLD_ACCESS).await.unwrap();
    oblique::db::migrate::run_pending(&url).await.unwrap();
    // As a sync does: the account soft deleted and its row closed in one transaction.
    conn.batch_execute(
        "BEGIN;
         INSERT INTO accounts (id, integration_id, external_id, username, deleted_at)
             VALUES ('00000000-0000-7000-8000-000000000005',
                     '00000000-0000-7000-8000-000000000001', 'carol', 'carol', now());
         INSERT INTO pulled_access (integration_id, resource_id, account_id, pair_key, removed_at)
             VALUES ('00000000-0000-7000-8000-000000000001',
                     '00000000-0000-7000-8000-000000000002',
                     '00000000-0000-7000-8000-000000000005', 0, now());
         COMMIT;",
    )
    .await
    .unwrap();
    let migrated = [
        ("alice".to_string(), true),
        ("bob".to_string(), false),
        ("carol".to_string(), false),
    ];
    assert_eq!(access_rows(&mut conn).await, migrated);

    assert_eq!(revert_to_before_000005(&url).await, reverted_count);
    let reverted = [
        ("alice".to_string(), true),
        ("bob".to_string(), true),
        ("carol".to_string(), false),
    ];
    assert_eq!(access_rows(&mut conn).await, reverted);

    oblique::db::migrate::run_pending(&url).await.unwrap();
    assert_eq!(access_rows(&mut conn).await, migrated);
    drop(conn);
    servers::drop_test_database(name);
}
