//! The whole Integrations-page story in a real browser: Debian's chromium, headless, driven by
//! Playwright for Python (story.py, from the venv `.ci/run` makes), against the real server's
//! console and the test's remote PostgreSQL. Between the script's two acts this test creates a
//! team over gRPC (the console has no Teams page yet) and checks the remote system itself.
//!
//! The console's server starts without sync workers: the first sync stays queued until the
//! script has the integration's Overview open and says so (`awaiting: workers` on its stdout);
//! only then does a replica with workers start, so the page sees the run end live, every time.

use std::future::Future;
use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use oblique::pb;
use uuid::Uuid;

use oblique::auth::Role;

use super::serve_console;
use crate::harness::remote::{READER, READER_PASSWORD, RemoteRoles, remote_postgres};
use crate::harness::{eventually, get_integration, test_engine};
use crate::teams::{create_team, remote_members};

/// The venv `.ci/run` installs Playwright into.
const PYTHON: &str = "/opt/oblique-browser-venv/bin/python";

/// What the script prints when it waits for the test to start the sync workers.
const AWAITING_WORKERS: &str = "awaiting: workers";

/// Runs one act of story.py with `env`; its stdout. When the script prints
/// [`AWAITING_WORKERS`], `release` runs, then the script is told to go on (a line on its stdin).
async fn act(
    name: &str,
    env: &[(&str, String)],
    release: Option<std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>>>,
) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/console/story.py");
    let mut command = tokio::process::Command::new(PYTHON);
    command
        .arg(&script)
        .arg(name)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("running {PYTHON} (see .ci/run): {error}"));
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stderr = child.stderr.take().expect("stderr");
    let stderr_text = tokio::spawn(async move {
        let mut text = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text).await;
        text
    });
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut stdout = String::new();
    let mut release = release;
    while let Some(line) = lines.next_line().await.expect("the script's stdout") {
        stdout.push_str(&line);
        stdout.push('\n');
        if line == AWAITING_WORKERS {
            let release = release
                .take()
                .unwrap_or_else(|| panic!("story.py {name} awaits workers twice"));
            release.await;
            stdin
                .write_all(b"go\n")
                .await
                .expect("telling the script to go on");
            stdin.flush().await.expect("flush");
        }
    }
    let status = child.wait().await.expect("the script's exit");
    let stderr = stderr_text.await.unwrap_or_default();
    assert!(
        status.success(),
        "story.py {name} failed:\n{stdout}\n{stderr}"
    );
    assert!(
        release.is_none(),
        "story.py {name} never awaited the workers:\n{stdout}"
    );
    stdout
}

#[tokio::test]
async fn an_admin_adds_watches_pushes_and_deletes_an_integration_in_a_real_browser() {
    // No workers yet (see the top of this file).
    let app = &crate::harness::TestApp::spawn_without_sync().await;
    let base = serve_console(app, false).await;
    let admin_token = app.issue_token("console-admin", Role::Admin).await;
    let roles = RemoteRoles::new().await;
    roles
        .sql(
            "CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_readers NOLOGIN;
             GRANT {p}_readers TO {p}_alice;",
        )
        .await;
    let remote = remote_postgres().await;
    let team_name = roles.name("eng");
    let mut env = vec![
        ("CONSOLE_URL", base),
        ("ADMIN_TOKEN", admin_token),
        ("INTEGRATION_NAME", "Warehouse database".to_string()),
        ("PG_PORT", remote.port.to_string()),
        ("PG_USERNAME", READER.to_string()),
        ("PG_PASSWORD", READER_PASSWORD.to_string()),
        ("PG_CA_CERT", remote.ca_pem.clone()),
        ("ROLE_PATTERN", roles.pattern()),
        ("PUSHED_RESOURCE", roles.name("readers")),
        ("TEAM_NAME", team_name.clone()),
    ];
    if let Some(dir) = std::env::var_os("CONSOLE_SCREENSHOTS") {
        env.push(("SCREENSHOTS", dir.to_string_lossy().to_string()));
    }

    let mut workers = None;
    let start_workers = Box::pin(async {
        workers = Some(app.spawn_replica(test_engine()).await);
    });
    let added = act("add", &env, Some(start_workers)).await;
    let _workers = workers.expect("the sync workers started");
    let id = added
        .lines()
        .find_map(|line| line.strip_prefix("integration_id="))
        .expect("the integration's id")
        .to_string();
    // The wrong password saved nothing: this is the only integration.
    let listed = app
        .admin
        .integrations
        .clone()
        .list_integrations(pb::ListIntegrationsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .integrations;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let integration = get_integration(&app.admin, &id).await;
    assert!(integration.create_resources_for_new_teams);

    // A team made now gets its role in the remote system, members pushed.
    let alice = user_id(app, &roles.name("alice")).await;
    create_team(app, &team_name, &[alice]).await;
    eventually("the team's role with its member in the remote", || async {
        (remote_members(&roles, &team_name).await == [roles.name("alice")]).then_some(())
    })
    .await;

    env.push(("INTEGRATION_ID", id.clone()));
    act("remove", &env, None).await;
    let deleted = get_integration(&app.admin, &id).await;
    assert!(deleted.deleted_at.is_some(), "{deleted:?}");
    // The remote system is as it was: the pulled role and the team's role keep their members.
    assert_eq!(
        remote_members(&roles, &roles.name("readers")).await,
        [roles.name("alice")]
    );
    assert_eq!(
        remote_members(&roles, &team_name).await,
        [roles.name("alice")]
    );
    // The console's changes were audited as the signed-in token's, as gRPC calls are.
    let events = app
        .admin
        .integrations
        .clone()
        .list_audit_events(pb::ListAuditEventsRequest {
            integration_id: id.clone(),
            actor: "console-admin".into(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .events;
    let actions: Vec<&str> = events.iter().map(|event| event.action.as_str()).collect();
    for action in [
        "integration.create",
        "resource.sync_mode",
        "integration.update",
        "integration.delete",
    ] {
        assert!(actions.contains(&action), "{action} missing: {actions:?}");
    }
}

/// The Oblique user the sync made for a remote login role.
async fn user_id(app: &crate::harness::TestApp, username: &str) -> Uuid {
    use oblique::db::schema::users;
    users::table
        .filter(users::username.eq(username))
        .select(users::id)
        .first(&mut app.conn().await)
        .await
        .unwrap_or_else(|error| panic!("no user {username}: {error}"))
}
