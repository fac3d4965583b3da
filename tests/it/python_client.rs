//! The Python client (clients/python): its committed stubs are what generate.sh makes of proto/
//! today; it and its example pass `mypy --strict` (over the generated type stubs); and the
//! example drives a real `oblique serve` through an integration's whole life against a real
//! PostgreSQL, leaving on the remote exactly what it granted.
//!
//! The example runs the checkout's package (PYTHONPATH), not whatever version of it a venv
//! holds: the venv gives grpcio and protobuf at the pinned versions.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use oblique::pb;

use crate::client_tools::{Served, client_python, repo_root, run};
use crate::harness::remote::{READER, READER_PASSWORD, RemoteRoles, remote_postgres};
use crate::teams::remote_members;

fn client_dir() -> std::path::PathBuf {
    repo_root().join("clients/python")
}

/// Every file of `dir` (not its subdirectories) by name, with its contents.
fn files_of(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.is_file())
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (
                name,
                std::fs::read_to_string(&path).expect("reading a stub"),
            )
        })
        .collect()
}

#[test]
fn generated_stubs_match_the_protos() {
    let fresh = tempfile::tempdir().expect("tempdir");
    let (ok, stdout, stderr) = run(Command::new("bash")
        .arg(client_dir().join("generate.sh"))
        .arg(fresh.path())
        .env("PYTHON", client_python()));
    assert!(ok, "generate.sh failed:\n{stdout}\n{stderr}");
    let fresh = files_of(fresh.path());
    let committed = files_of(&client_dir().join("oblique_client/v1"));
    assert!(fresh.len() > 10, "generate.sh made only {:?}", fresh.keys());
    assert_eq!(
        committed.keys().collect::<Vec<_>>(),
        fresh.keys().collect::<Vec<_>>(),
        "clients/python/oblique_client/v1 holds other files than generate.sh makes"
    );
    for (name, text) in &fresh {
        assert!(
            committed[name] == *text,
            "clients/python/oblique_client/v1/{name} is out of date with proto/: run \
             clients/python/generate.sh (with grpcio-tools of clients/python/ci-requirements.txt)"
        );
    }
}

#[test]
fn client_and_example_type_check_strictly() {
    let cache = tempfile::tempdir().expect("tempdir");
    let (ok, stdout, stderr) = run(Command::new(client_python())
        .args(["-m", "mypy", "--strict", "--cache-dir"])
        .arg(cache.path())
        .args(["oblique_client", "examples"])
        .current_dir(client_dir()));
    assert!(ok, "mypy --strict:\n{stdout}\n{stderr}");
}

/// The remote roles the example works on: `analysts` (NOLOGIN) with `alice` in it, and `bob`.
async fn remote_roles() -> RemoteRoles {
    let roles = RemoteRoles::new().await;
    roles
        .sql(
            "CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_bob LOGIN;
             CREATE ROLE {p}_analysts NOLOGIN; GRANT {p}_analysts TO {p}_alice",
        )
        .await;
    roles
}

/// examples/lifecycle.py on `served`, against the shared remote through TLS verified with its
/// CA, granting `user` the role `resource` (both short names of `roles`).
async fn lifecycle(
    served: &Served,
    roles: &RemoteRoles,
    name: &str,
    resource: &str,
    user: &str,
) -> (bool, String, String) {
    let remote = remote_postgres().await;
    let ca = tempfile::NamedTempFile::new().expect("tempfile");
    std::fs::write(ca.path(), &remote.ca_pem).expect("writing the CA");
    let token_file = served.data.path().join("admin-token");
    run(Command::new(client_python())
        .arg(client_dir().join("examples/lifecycle.py"))
        .args(["--name", name, "--role-pattern", &roles.pattern()])
        .args([
            "--resource",
            &roles.name(resource),
            "--user",
            &roles.name(user),
        ])
        .arg("--token-file")
        .arg(&token_file)
        .env("PYTHONPATH", client_dir())
        .env("OBLIQUE_SERVER", format!("http://{}", served.address()))
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", remote.port.to_string())
        .env("PGUSER", READER)
        .env("PGPASSWORD", READER_PASSWORD)
        .env("PGSSLROOTCERT", ca.path())
        .env_remove("PGSSLMODE")
        .env_remove("OBLIQUE_TOKEN"))
}

/// Every integration the server has, deleted ones included.
async fn all_integrations(served: &mut Served) -> Vec<pb::Integration> {
    let request = pb::ListIntegrationsRequest {
        include_deleted: true,
        ..Default::default()
    };
    served
        .admin()
        .await
        .integrations
        .list_integrations(request)
        .await
        .expect("ListIntegrations")
        .into_inner()
        .integrations
}

#[tokio::test]
async fn lifecycle_example_creates_syncs_grants_and_deletes() {
    let roles = remote_roles().await;
    let mut served = Served::start().await;
    let (ok, stdout, stderr) = lifecycle(&served, &roles, "py-lifecycle", "analysts", "bob").await;
    assert!(ok, "lifecycle.py failed:\n{stdout}\n{stderr}");
    assert!(stdout.trim_end().ends_with("done"), "{stdout}");
    assert!(
        stdout.contains("FINISHED"),
        "no sync events shown:\n{stdout}"
    );

    // The grant was pushed, and deleting the integration left the remote as it was.
    assert_eq!(
        remote_members(&roles, &roles.name("analysts")).await,
        [roles.name("alice"), roles.name("bob")]
    );
    let integrations = all_integrations(&mut served).await;
    let [integration] = integrations.as_slice() else {
        panic!("expected one integration: {integrations:?}");
    };
    assert_eq!(integration.name, "py-lifecycle");
    assert_eq!(integration.status(), pb::IntegrationStatus::Deleted);

    let events = served
        .admin()
        .await
        .integrations
        .list_audit_events(pb::ListAuditEventsRequest {
            integration_id: integration.id.clone(),
            ..Default::default()
        })
        .await
        .expect("ListAuditEvents")
        .into_inner()
        .events;
    let mut actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).rev().collect();
    actions.retain(|action| !action.starts_with("sync.") && !action.starts_with("push."));
    assert_eq!(
        actions,
        [
            "integration.create",
            "resource.sync_mode",
            // The remote's members became grants when the role switched to push mode.
            "access.adopt",
            "access.grant",
            "resource.sync_mode",
            "integration.delete"
        ],
        "{events:?}"
    );

    // Every call carried the request id the example chose (the server logs it in each call's
    // span), and the admin token appears nowhere in the log.
    let log = served.server.log_text();
    assert!(log.contains("request_id=lifecycle-"), "{log}");
    assert!(!log.contains(&served.token), "the log shows the token");
}

#[tokio::test]
async fn lifecycle_example_fails_with_the_reason_and_leaves_no_integration_behind() {
    let roles = remote_roles().await;
    let mut served = Served::start().await;
    let (ok, stdout, stderr) =
        lifecycle(&served, &roles, "py-missing", "no_such_role", "bob").await;
    assert!(!ok, "lifecycle.py succeeded without the role:\n{stdout}");
    assert!(
        stderr.contains(&format!(
            "no resource named '{}'",
            roles.name("no_such_role")
        )),
        "{stderr}"
    );
    let integrations = all_integrations(&mut served).await;
    assert!(
        integrations
            .iter()
            .all(|i| i.status() == pb::IntegrationStatus::Deleted),
        "the failed example left a live integration: {integrations:?}"
    );
    assert_eq!(
        remote_members(&roles, &roles.name("analysts")).await,
        [roles.name("alice")]
    );

    // A refused call exits non-zero with the server's code and the field it names.
    let wrong_user = Command::new(client_python())
        .arg(client_dir().join("examples/lifecycle.py"))
        .args(["--resource", "x", "--user", "y", "--username", READER])
        .env("PYTHONPATH", client_dir())
        .env("OBLIQUE_SERVER", format!("http://{}", served.address()))
        .env("OBLIQUE_TOKEN", "obl_not-a-token")
        .env("PGPASSWORD", "wrong")
        .output()
        .expect("running lifecycle.py");
    let stderr = String::from_utf8_lossy(&wrong_user.stderr);
    assert_eq!(wrong_user.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("failed: UNAUTHENTICATED"), "{stderr}");

    // connect() will not send the token in clear beyond loopback: refused before any call.
    let (ok, _, stderr) = run(Command::new(client_python())
        .arg(client_dir().join("examples/lifecycle.py"))
        .args(["--resource", "x", "--user", "y", "--username", READER])
        .env("PYTHONPATH", client_dir())
        .env("OBLIQUE_SERVER", "http://oblique.example.org:50051")
        .env("OBLIQUE_TOKEN", "obl_not-a-token")
        .env("PGPASSWORD", "wrong"));
    assert!(!ok);
    assert!(
        stderr.contains("would send the token unencrypted"),
        "{stderr}"
    );
}
