//! Credentials never leak: the remote role's password is a sentinel, the real `oblique serve`
//! logs at trace level (text and JSON), and the test goes through everything that handles the
//! password: creation, an update with new credentials, failed checks (a wrong password, and a
//! hostile server whose error message echoes the password it was sent), syncs, a push, a failed
//! push, a failed sync and the deletion; then an `ldap` integration's bind password and a `scim`
//! integration's bearer token likewise.
//! Then the sentinel must be in no response or error message, no log line, and no column of any
//! table (audit rows, sync events and sync errors included): the database holds it only as
//! ciphertext.

use oblique::pb;
use tonic::Code;

use crate::harness::echoing_postgres::EchoingPostgres;
use crate::harness::eventually;
use crate::harness::remote::{RemoteRoles, remote_postgres};
use crate::harness::servers::create_test_database;
use crate::serve_binary::{DataDir, DropDatabase, Server, oblique, wait_for_token};

mod calls;
mod evidence;
mod ldap;
mod scim;

use calls::{Seen, finished, grant, trigger_when_idle, update, watch};
use evidence::{columns_containing, failed_pushes, remote_members};
use ldap::ldap_round;
use scim::scim_round;

/// Every password in this test contains it, so one search finds any of them.
const SENTINEL: &str = "SENTINEL-7f3a9c-never-leak";

#[tokio::test]
async fn no_secret_reaches_a_response_a_text_log_line_or_a_database_column() {
    secrets_never_leak("text").await;
}

#[tokio::test]
async fn no_secret_reaches_a_response_a_json_log_line_or_a_database_column() {
    secrets_never_leak("json").await;
}

async fn secrets_never_leak(log_format: &str) {
    let roles = RemoteRoles::new().await;
    let (login, password, rotated) = (
        roles.name("login"),
        format!("{SENTINEL}-1"),
        format!("{SENTINEL}-2"),
    );
    roles
        .sql(&format!(
            "CREATE ROLE {login} LOGIN CREATEROLE PASSWORD '{password}';
             CREATE ROLE {{p}}_alice LOGIN; CREATE ROLE {{p}}_bob LOGIN;
             CREATE ROLE {{p}}_readers NOLOGIN"
        ))
        .await;
    let hostile = EchoingPostgres::start().await;
    let (database, url) = create_test_database().await;
    let _database = DropDatabase(database);
    let data = DataDir::new();
    let logs = tempfile::tempdir().expect("tempdir");
    let mut serve = oblique(&data.path());
    serve
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "trace")
        .args(["--log-format", log_format]);
    let mut server = Server::start(serve, logs.path().join("serve.log"));
    let token = wait_for_token(&mut server, &data.path().join("admin-token")).await;
    let mut admin = server.ready_clients(&token).await;
    let mut seen = Seen::default();

    let real_config = {
        let mut config = remote_postgres().await.config();
        config.insert("username".into(), login.clone());
        config.insert("role_pattern".into(), roles.pattern());
        config
    };
    let request = |config: &std::collections::HashMap<String, String>, password: &str| {
        pb::CreateIntegrationRequest {
            r#type: "postgres".into(),
            name: format!("leak-{}", uuid::Uuid::new_v4().simple()),
            config: config.clone(),
            credentials: [("password".to_string(), password.to_string())].into(),
            ..Default::default()
        }
    };

    // Failed checks: a wrong password, and a server that quotes the password back.
    let wrong = request(&real_config, &format!("{SENTINEL}-wrong"));
    let answer = admin.integrations.create_integration(wrong).await;
    seen.refused("create, wrong password", answer, Code::InvalidArgument);
    let echoed = request(&hostile.config(&login), &password);
    let answer = admin.integrations.create_integration(echoed).await;
    seen.refused("create, echoing server", answer, Code::InvalidArgument);

    // Creation and its initial sync.
    let created = admin
        .integrations
        .create_integration(request(&real_config, &password))
        .await;
    let created = seen.ok("create", created);
    let first_run = created.last_sync_run.clone().expect("initial run");
    finished(
        &admin,
        &mut seen,
        &first_run.id,
        pb::SyncRunState::Succeeded,
    )
    .await;

    // New credentials; then a move to the echoing server, with credentials, which is refused.
    roles
        .sql(&format!("ALTER ROLE {login} PASSWORD '{rotated}'"))
        .await;
    let updated = update(&admin, &created, None, ("password", &rotated)).await;
    seen.ok("update credentials", updated);
    let moved = update(
        &admin,
        &created,
        Some(hostile.config(&login)),
        ("password", &rotated),
    )
    .await;
    seen.refused("update to the echoing server", moved, Code::InvalidArgument);
    let wrong = update(
        &admin,
        &created,
        None,
        ("password", &format!("{SENTINEL}-wrong")),
    )
    .await;
    seen.refused("update, wrong password", wrong, Code::InvalidArgument);

    // A sync on the new credentials.
    let run = trigger_when_idle(&admin, &mut seen, &created).await;
    finished(&admin, &mut seen, &run.id, pb::SyncRunState::Succeeded).await;

    // A push that lands, then one that fails (the login may no longer grant roles).
    let listed = admin
        .integrations
        .list_resources(pb::ListResourcesRequest {
            integration_id: created.id.clone(),
            ..Default::default()
        })
        .await;
    let readers = seen
        .ok("resources", listed)
        .resources
        .into_iter()
        .find(|r| r.name == roles.name("readers"))
        .expect("readers listed");
    let pushed = admin
        .integrations
        .set_resource_sync_mode(pb::SetResourceSyncModeRequest {
            resource_id: readers.id.clone(),
            sync_mode: pb::SyncMode::Push.into(),
        })
        .await;
    seen.ok("push mode", pushed);
    grant(&admin, &mut seen, &created, &readers, &roles.name("alice")).await;
    eventually("alice pushed into readers", || async {
        (remote_members(&roles, "readers").await == [roles.name("alice")]).then_some(())
    })
    .await;
    roles.sql(&format!("ALTER ROLE {login} NOCREATEROLE")).await;
    grant(&admin, &mut seen, &created, &readers, &roles.name("bob")).await;
    eventually("the push to bob failed", || async {
        failed_pushes(&url).await.gt(&0).then_some(())
    })
    .await;

    // A sync that fails: the remote no longer takes the password.
    roles
        .sql(&format!(
            "ALTER ROLE {login} PASSWORD 'changed-behind-oblique'"
        ))
        .await;
    let run = trigger_when_idle(&admin, &mut seen, &created).await;
    finished(&admin, &mut seen, &run.id, pb::SyncRunState::Failed).await;

    let errors = admin
        .sync
        .list_sync_errors(pb::ListSyncErrorsRequest {
            integration_id: created.id.clone(),
            ..Default::default()
        })
        .await;
    seen.ok("sync errors", errors);
    let runs = admin
        .sync
        .list_sync_runs(pb::ListSyncRunsRequest {
            integration_id: created.id.clone(),
            ..Default::default()
        })
        .await;
    for run in seen.ok("runs", runs).runs {
        watch(&admin, &mut seen, &run.id).await;
    }
    let deleted = admin
        .integrations
        .delete_integration(pb::DeleteIntegrationRequest {
            id: created.id.clone(),
            force: true,
        })
        .await;
    seen.ok("delete", deleted);
    ldap_round(&admin, &mut seen).await;
    scim_round(&admin, &mut seen).await;
    let audit = admin
        .integrations
        .list_audit_events(pb::ListAuditEventsRequest::default())
        .await;
    let audit = seen.ok("audit", audit);
    assert!(audit.events.len() >= 4, "too few audit events: {audit:?}");

    assert!(server.terminate().await.success());
    let log = server.log_text();
    let trace_marker = match log_format {
        "json" => "\"level\":\"TRACE\"",
        _ => "TRACE",
    };
    assert!(
        log.contains(trace_marker),
        "not logging at trace level:\n{log}"
    );
    for (line_number, line) in log.lines().enumerate() {
        assert!(
            !line.contains(SENTINEL),
            "log line {} shows a password: {line}",
            line_number + 1
        );
    }
    for text in &seen.0 {
        assert!(
            !text.contains(SENTINEL),
            "a response shows a password: {text}"
        );
    }
    // The scan finds what is there (the login's name), so finding no sentinel means something.
    assert!(!columns_containing(&url, &login).await.is_empty());
    let leaked = columns_containing(&url, SENTINEL).await;
    assert!(
        leaked.is_empty(),
        "the database holds a password in clear in {leaked:?}"
    );
}
