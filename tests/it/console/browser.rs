//! The whole Integrations-page story in a real browser: Debian's chromium, headless, driven by
//! Playwright for Python (story.py, from the venv `.ci/run` makes), against the real server's
//! console and the test's remote PostgreSQL. Between the script's two acts this test creates a
//! team over gRPC (the console has no Teams page yet) and checks the remote system itself.

use std::path::Path;
use std::process::Stdio;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use oblique::pb;
use uuid::Uuid;

use super::spawn_console;
use crate::harness::remote::{READER, READER_PASSWORD, RemoteRoles, remote_postgres};
use crate::harness::{eventually, get_integration};
use crate::teams::{create_team, remote_members};

/// The venv `.ci/run` installs Playwright into.
const PYTHON: &str = "/opt/oblique-browser-venv/bin/python";

/// Runs one act of story.py with `env`; its stdout.
async fn act(name: &str, env: &[(&str, String)]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/console/story.py");
    let mut command = tokio::process::Command::new(PYTHON);
    command
        .arg(&script)
        .arg(name)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command
        .output()
        .await
        .unwrap_or_else(|error| panic!("running {PYTHON} (see .ci/run): {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "story.py {name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test]
async fn an_admin_adds_watches_pushes_and_deletes_an_integration_in_a_real_browser() {
    let console = spawn_console(false).await;
    let app = &console.app;
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
        ("CONSOLE_URL", console.base.clone()),
        ("ADMIN_TOKEN", console.admin_token.clone()),
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

    let added = act("add", &env).await;
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
    act("remove", &env).await;
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
