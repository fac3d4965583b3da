//! The server's database role may read and append to the audit log and nothing more; migrations
//! run as the owner of the tables, over `--migration-database-url` when the database is external.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use oblique::cli::database::Database;
use oblique::db::roles;

use crate::harness::servers::{self, OWNER_ROLE, RUNTIME_ROLE};
use crate::harness::{TestApp, create_request};

/// What only the owner of the audit log could do; each must fail for the runtime role.
const TAMPERING: [&str; 6] = [
    "UPDATE audit_events SET action = 'tampered'",
    "DELETE FROM audit_events",
    "TRUNCATE audit_events",
    "ALTER TABLE audit_events DISABLE TRIGGER ALL",
    "ALTER TABLE audit_events OWNER TO oblique_test_runtime",
    "DROP TABLE audit_events CASCADE",
];

#[track_caller]
fn assert_denied(statement: &str, result: diesel::QueryResult<()>) {
    let error = result.expect_err(statement).to_string();
    assert!(
        error.contains("permission denied") || error.contains("must be owner"),
        "{statement}: {error}"
    );
}

async fn count_events(conn: &mut AsyncPgConnection) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count: Count = diesel::sql_query("SELECT count(*) AS n FROM audit_events")
        .get_result(conn)
        .await
        .expect("SELECT on audit_events");
    count.n
}

#[tokio::test]
async fn the_runtime_role_may_only_append_to_and_read_the_audit_log() {
    let app = TestApp::spawn_without_sync().await;
    app.admin
        .integrations
        .clone()
        .create_integration(create_request("audited").await)
        .await
        .expect("the server writes its audit event as the runtime role");
    let mut conn = app.conn().await;
    assert_eq!(roles::current_role(&mut conn).await.unwrap(), RUNTIME_ROLE);
    assert!(!roles::can_bypass_audit_triggers(&mut conn).await.unwrap());
    for statement in TAMPERING {
        assert_denied(statement, conn.batch_execute(statement).await);
    }
    assert_eq!(count_events(&mut conn).await, 1);
    conn.batch_execute(
        "INSERT INTO audit_events (id, actor_name, actor_role, action) \
         VALUES (gen_random_uuid(), 'test', 'admin', 'sync.trigger')",
    )
    .await
    .expect("INSERT on audit_events");
    assert_eq!(count_events(&mut conn).await, 2);

    let mut owner = app.owner_conn().await;
    assert!(roles::can_bypass_audit_triggers(&mut owner).await.unwrap());
}

#[tokio::test]
async fn migrating_over_the_migration_url_grants_the_runtime_role_what_it_needs() {
    let (name, superuser_url) = servers::create_empty_database().await;
    // The harness's roles exist once any test database was made.
    drop(servers::create_test_database().await);
    let mut admin = AsyncPgConnection::establish(&superuser_url).await.unwrap();
    admin
        .batch_execute(&format!("ALTER DATABASE {name} OWNER TO {OWNER_ROLE}"))
        .await
        .unwrap();
    let owner_url = servers::owner_url(&name).unwrap();
    let runtime_url = owner_url.replace(OWNER_ROLE, RUNTIME_ROLE);
    let dir = tempfile::tempdir().unwrap();
    let database = Database::resolve(Some(&runtime_url), Some(&owner_url), dir.path(), false)
        .await
        .unwrap();
    assert!(database.migrate().await.unwrap() > 0);
    // Again, as a second replica would: nothing to apply, the grants stay.
    assert_eq!(database.migrate().await.unwrap(), 0);

    let mut runtime = oblique::db::connect::establish(&runtime_url).await.unwrap();
    runtime
        .batch_execute(
            "INSERT INTO audit_events (id, actor_name, actor_role, action) \
             VALUES (gen_random_uuid(), 'test', 'admin', 'sync.trigger'); \
             SELECT count(*) FROM integrations",
        )
        .await
        .expect("the runtime role reads and appends");
    for statement in TAMPERING {
        assert_denied(statement, runtime.batch_execute(statement).await);
    }
    drop(runtime);
    servers::drop_test_database(name);
}

#[tokio::test]
async fn serving_as_the_owner_is_warned_about_with_what_to_do() {
    use crate::serve_binary::{DataDir, oblique, text};
    let (name, runtime_url) = servers::create_test_database().await;
    let owner_url = servers::owner_url(&name).unwrap();
    let data = DataDir::new();
    let migrate = |url: &str| {
        let output = oblique(&data.path())
            .env("DATABASE_URL", url)
            .arg("migrate")
            .output()
            .expect("oblique migrate");
        assert!(output.status.success(), "{output:?}");
        text(&output.stderr)
    };
    let as_owner = migrate(&owner_url);
    assert!(
        as_owner.contains("audit log") && as_owner.contains("--migration-database-url"),
        "no warning as the owner:\n{as_owner}"
    );
    // The runtime role may run it too (nothing to apply) and is not warned about.
    let as_runtime = migrate(&runtime_url);
    assert!(!as_runtime.contains("WARN"), "{as_runtime}");
    servers::drop_test_database(name);
}
