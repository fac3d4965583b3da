//! Credentials never leak: the remote role's password is a sentinel, the real `oblique serve`
//! logs at trace level (text and JSON), and the test goes through everything that handles the
//! password: creation, an update with new credentials, failed checks (a wrong password, and a
//! hostile server whose error message echoes the password it was sent), syncs, a push, a failed
//! push, a failed sync and the deletion; then an `ldap` integration's bind password likewise.
//! Then the sentinel must be in no response or error message, no log line, and no column of any
//! table (audit rows, sync events and sync errors included): the database holds it only as
//! ciphertext.

use std::time::Instant;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use oblique::pb;
use tonic::Code;

use crate::harness::echoing_postgres::EchoingPostgres;
use crate::harness::remote::{RemoteRoles, remote_postgres};
use crate::harness::servers::create_test_database;
use crate::harness::slapd::Directory;
use crate::harness::{Clients, PATIENCE, eventually, wait_for_run};
use crate::serve_binary::{DataDir, DropDatabase, Server, oblique, wait_for_token};

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

/// Everything the test saw from the server: each response and each error, as `Debug` text.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn ok<T: std::fmt::Debug>(
        &mut self,
        what: &str,
        result: Result<tonic::Response<T>, tonic::Status>,
    ) -> T {
        let value = result
            .unwrap_or_else(|status| panic!("{what}: {status:?}"))
            .into_inner();
        self.0.push(format!("{what}: {value:?}"));
        value
    }

    #[track_caller]
    fn refused<T: std::fmt::Debug>(
        &mut self,
        what: &str,
        result: Result<T, tonic::Status>,
        code: Code,
    ) {
        let status = crate::harness::expect_code(result, code);
        self.0.push(format!("{what}: {status:?}"));
    }
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
    let updated = update(&admin, &created, None, &rotated).await;
    seen.ok("update credentials", updated);
    let moved = update(&admin, &created, Some(hostile.config(&login)), &rotated).await;
    seen.refused("update to the echoing server", moved, Code::InvalidArgument);
    let wrong = update(&admin, &created, None, &format!("{SENTINEL}-wrong")).await;
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

/// The same for an `ldap` integration, whose bind password is a sentinel too: a wrong one
/// refused, creation and its sync, new credentials, deletion.
async fn ldap_round(admin: &Clients, seen: &mut Seen) {
    let directory = Directory::new().await;
    let (password, rotated) = (format!("{SENTINEL}-ldap-1"), format!("{SENTINEL}-ldap-2"));
    directory
        .ldif(&format!(
            "dn: cn=leak,{{base}}\nobjectClass: person\ncn: leak\nsn: leak\nuserPassword: {password}\n\n\
             dn: uid=ann,ou=people,{{base}}\nobjectClass: inetOrgPerson\nuid: ann\ncn: Ann\nsn: A\n"
        ))
        .await;
    let bind_dn = format!("cn=leak,{}", directory.base);
    let config = directory.starttls_config(&[("bind_dn", &bind_dn)]);
    let request = |password: &str| pb::CreateIntegrationRequest {
        r#type: "ldap".into(),
        name: format!("leak-ldap-{}", uuid::Uuid::new_v4().simple()),
        config: config.clone(),
        credentials: [("bind_password".to_string(), password.to_string())].into(),
        ..Default::default()
    };
    let mut integrations = admin.integrations.clone();
    let wrong = integrations
        .create_integration(request(&format!("{SENTINEL}-wrong")))
        .await;
    seen.refused("ldap create, wrong password", wrong, Code::InvalidArgument);
    let created = integrations.create_integration(request(&password)).await;
    let created = seen.ok("ldap create", created);
    let run = created.last_sync_run.clone().expect("initial run");
    finished(admin, seen, &run.id, pb::SyncRunState::Succeeded).await;
    directory
        .ldif(&format!(
            "dn: cn=leak,{{base}}\nchangetype: modify\nreplace: userPassword\nuserPassword: {rotated}\n"
        ))
        .await;
    let mut changed = pb::Integration {
        id: created.id.clone(),
        credentials: [("bind_password".to_string(), rotated.clone())].into(),
        ..Default::default()
    };
    changed.config.clear();
    let updated = integrations
        .update_integration(pb::UpdateIntegrationRequest {
            integration: Some(changed),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["credentials".into()],
            }),
        })
        .await;
    seen.ok("ldap update credentials", updated);
    let run = trigger_when_idle(admin, seen, &created).await;
    finished(admin, seen, &run.id, pb::SyncRunState::Succeeded).await;
    let deleted = integrations
        .delete_integration(pb::DeleteIntegrationRequest {
            id: created.id.clone(),
            force: false,
        })
        .await;
    seen.ok("ldap delete", deleted);
}

/// Waits for the run to end in `state`, keeping what the API said about it.
async fn finished(admin: &Clients, seen: &mut Seen, run_id: &str, state: pb::SyncRunState) {
    let run = wait_for_run(admin, run_id).await;
    seen.0.push(format!("run: {run:?}"));
    assert_eq!(run.state(), state, "{run:?}");
}

/// A manual run of its own: waits for any run the scheduler started to end first.
async fn trigger_when_idle(
    admin: &Clients,
    seen: &mut Seen,
    integration: &pb::Integration,
) -> pb::SyncRun {
    loop {
        let run = admin
            .sync
            .clone()
            .trigger_sync(pb::TriggerSyncRequest {
                integration_id: integration.id.clone(),
                ..Default::default()
            })
            .await;
        let run = seen.ok("trigger", run);
        if run.trigger() == pb::SyncTrigger::Manual {
            return run;
        }
        wait_for_run(admin, &run.id).await;
    }
}

/// UpdateIntegration with new credentials, and with a new config when given.
async fn update(
    admin: &Clients,
    integration: &pb::Integration,
    config: Option<std::collections::HashMap<String, String>>,
    password: &str,
) -> Result<tonic::Response<pb::Integration>, tonic::Status> {
    let mut paths = vec!["credentials".to_string()];
    let mut changed = pb::Integration {
        id: integration.id.clone(),
        credentials: [("password".to_string(), password.to_string())].into(),
        ..Default::default()
    };
    if let Some(config) = config {
        paths.push("config".into());
        changed.config = config;
    }
    admin
        .integrations
        .clone()
        .update_integration(pb::UpdateIntegrationRequest {
            integration: Some(changed),
            update_mask: Some(prost_types::FieldMask { paths }),
        })
        .await
}

/// Grants the user of the remote role `username` the resource.
async fn grant(
    admin: &Clients,
    seen: &mut Seen,
    integration: &pb::Integration,
    resource: &pb::Resource,
    username: &str,
) {
    let accounts = admin
        .integrations
        .clone()
        .list_accounts(pb::ListAccountsRequest {
            integration_id: integration.id.clone(),
            ..Default::default()
        })
        .await;
    let account = seen
        .ok("accounts", accounts)
        .accounts
        .into_iter()
        .find(|a| a.username == username)
        .unwrap_or_else(|| panic!("no account {username}"));
    let granted = admin
        .access
        .clone()
        .grant_access(pb::GrantAccessRequest {
            resource_id: resource.id.clone(),
            user_id: account.user_id,
            reason: "leak test".into(),
            expires_at: None,
        })
        .await;
    seen.ok("grant", granted);
}

/// Every event of the run, as WatchSyncRun replays them.
async fn watch(admin: &Clients, seen: &mut Seen, run_id: &str) {
    let watched = admin
        .sync
        .clone()
        .watch_sync_run(pb::WatchSyncRunRequest {
            run_id: run_id.into(),
        })
        .await;
    let mut stream = seen.ok("watch", watched);
    let deadline = Instant::now() + PATIENCE;
    while let Some(event) = stream.message().await.expect("event") {
        seen.0.push(format!("event: {event:?}"));
        assert!(Instant::now() < deadline, "the replay never ended");
    }
}

/// Remote members of the fixture's role `group`.
async fn remote_members(roles: &RemoteRoles, group: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Member {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let mut conn = roles.connect_admin().await;
    diesel::sql_query(
        "SELECT m.rolname::text AS name FROM pg_auth_members am
         JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
         WHERE g.rolname = $1 ORDER BY 1",
    )
    .bind::<diesel::sql_types::Text, _>(roles.name(group))
    .load::<Member>(&mut conn)
    .await
    .expect("remote members")
    .into_iter()
    .map(|m| m.name)
    .collect()
}

/// Push attempts that failed and recorded why.
async fn failed_pushes(url: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    let mut conn = AsyncPgConnection::establish(url).await.expect("connect");
    diesel::sql_query("SELECT count(*) AS count FROM propagations WHERE error IS NOT NULL")
        .get_result::<Count>(&mut conn)
        .await
        .expect("propagations")
        .count
}

/// `schema.table.column` of every column, of every table of the database, that holds `needle`:
/// as text (any type cast to text: text, json, arrays…) or, for bytea, as raw bytes.
async fn columns_containing(url: &str, needle: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        schema: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        table: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        column: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        data_type: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    let mut conn = AsyncPgConnection::establish(url).await.expect("connect");
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT c.table_schema::text AS schema, c.table_name::text AS table,
                c.column_name::text AS column, c.data_type::text AS data_type
         FROM information_schema.columns c
         JOIN information_schema.tables t USING (table_schema, table_name)
         WHERE t.table_type = 'BASE TABLE'
           AND c.table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    .load(&mut conn)
    .await
    .expect("listing columns");
    assert!(
        columns.len() > 20,
        "too few columns to scan: {}",
        columns.len()
    );
    let mut holding = Vec::new();
    for c in columns {
        let column = format!("\"{}\".\"{}\".\"{}\"", c.schema, c.table, c.column);
        let test = match c.data_type.as_str() {
            "bytea" => format!("position(convert_to($1, 'UTF8') in {column}) > 0"),
            _ => format!("strpos({column}::text, $1) > 0"),
        };
        let found: Found = diesel::sql_query(format!(
            "SELECT EXISTS (SELECT 1 FROM \"{}\".\"{}\" WHERE {test}) AS found",
            c.schema, c.table
        ))
        .bind::<diesel::sql_types::Text, _>(needle)
        .get_result(&mut conn)
        .await
        .unwrap_or_else(|error| panic!("scanning {column}: {error}"));
        if found.found {
            holding.push(column);
        }
    }
    holding
}
