//! Every grpcurl example in README.md, run as written, in README's order, against the real
//! binary and a real PostgreSQL, with grpcurl 1.8.6; then README's Python example with the
//! client's venv. parse.rs says what is taken from README. Commands that are not grpcurl are
//! shell assignments (`TOKEN=…`, `AUTH=…`) and run before every later command.
//!
//! What is put in, and nothing else:
//! - `localhost:50051` / `127.0.0.1:50051` (in Python `http://127.0.0.1:50051`) become the test
//!   server's address;
//! - a placeholder value, `"<…>"` or `"…"`, is filled by the field it is the value of: `id` and
//!   `integration_id` name the integration created last that is not deleted yet (so the
//!   examples after DeleteIntegration use the one created before it), `run_id` the run the last
//!   TriggerSync answered, `grant_id` the last GrantAccess's grant, `resource_id` the remote role
//!   `readers` in that integration, `user_id` and `member_user_ids` the user `bob`, `password`
//!   the remote role's password;
//! - the shell has what README asks of the reader: `.oblique/admin-token` in the working
//!   directory (the quick start's data directory), `ca.pem` there, and `PGHOST`, `PGPORT`,
//!   `PGPASSWORD` for a PostgreSQL with a role `oblique_reader` (here one that takes TLS and
//!   plaintext connections with passwords).
//!
//! The stream that never ends by itself (SubscribeSyncEvents) runs until it shows an event of a
//! sync the test triggers, and is then stopped.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oblique::pb;
use oblique::pb::user_service_client::UserServiceClient;
use oblique_testkit::postgres::remote::{Admission, RemoteCluster};
use regex::Regex;
use serde_json::Value;

use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::client_tools::{Served, client_python, grpcurl, repo_root, run};
use crate::harness::{Bearer, Clients, PATIENCE, eventually};
use parse::{Example, examples, is_grpcurl, python_blocks};

mod parse;

/// The method a grpcurl command calls (`CreateIntegration`, `Check`, …); empty for `list`.
fn method_of(command: &str) -> &str {
    let method = Regex::new(r"(?:oblique\.v1\.\w+|grpc\.health\.v1\.Health)/(\w+)").unwrap();
    method
        .captures(command)
        .and_then(|found| found.get(1))
        .map_or("", |found| found.as_str())
}

fn placeholder() -> Regex {
    Regex::new(r#""(\w+)":(\s*\[?\s*)"(?:<[^">]*>|…)""#).unwrap()
}

/// The values placeholders stand for, as the examples make them (see the module's comment).
struct Values {
    admin: Clients,
    users: UserServiceClient<InterceptedService<Channel, Bearer>>,
    integrations: Vec<String>,
    run_id: Option<String>,
    grant_id: Option<String>,
    password: String,
}

impl Values {
    async fn value(&mut self, field: &str) -> String {
        match field {
            "id" | "integration_id" => self.integration().to_string(),
            "run_id" => self
                .run_id
                .clone()
                .expect("a TriggerSync example must come before this one"),
            "grant_id" => self
                .grant_id
                .clone()
                .expect("a GrantAccess example must come before this one"),
            "password" => self.password.clone(),
            "resource_id" => self.resource_id("readers").await,
            "user_id" | "member_user_ids" => self.user_id("bob").await,
            other => panic!("README has a placeholder for {other:?}: teach Values::value it"),
        }
    }

    /// Until the current integration has no queued or running run.
    async fn wait_idle(&self) {
        let request = pb::ListSyncRunsRequest {
            integration_id: self.integration().to_string(),
            ..Default::default()
        };
        let sync = self.admin.sync.clone();
        eventually("no active run", || {
            let (mut sync, request) = (sync.clone(), request.clone());
            async move {
                let runs = sync.list_sync_runs(request).await.ok()?.into_inner().runs;
                let active = [pb::SyncRunState::Queued, pb::SyncRunState::Running];
                (!runs.iter().any(|run| active.contains(&run.state()))).then_some(())
            }
        })
        .await;
    }

    fn integration(&self) -> &str {
        self.integrations
            .last()
            .expect("an example names an integration before any was created")
    }

    /// The role `name` of the current integration, once its first sync has listed it.
    async fn resource_id(&self, name: &str) -> String {
        let request = pb::ListResourcesRequest {
            integration_id: self.integration().to_string(),
            ..Default::default()
        };
        let integrations = self.admin.integrations.clone();
        eventually(&format!("resource {name}"), || {
            let (mut integrations, request) = (integrations.clone(), request.clone());
            async move {
                let listed = integrations.list_resources(request).await.ok()?;
                let resources = listed.into_inner().resources;
                resources.into_iter().find(|r| r.name == name).map(|r| r.id)
            }
        })
        .await
    }

    async fn user_id(&self, username: &str) -> String {
        let users = self.users.clone();
        eventually(&format!("user {username}"), || {
            let mut users = users.clone();
            async move {
                let request = pb::ListUsersRequest {
                    query: username.to_string(),
                    ..Default::default()
                };
                let listed = users.list_users(request).await.ok()?.into_inner().users;
                listed
                    .into_iter()
                    .find(|u| u.username == username)
                    .map(|u| u.id)
            }
        })
        .await
    }

    /// The command with its server address and placeholders filled.
    async fn fill(&mut self, command: &str, address: &str) -> String {
        let mut values = HashMap::new();
        for found in placeholder().captures_iter(command) {
            let field = found[1].to_string();
            let value = self.value(&field).await;
            values.insert(field, value);
        }
        let filled = placeholder().replace_all(command, |found: &regex::Captures| {
            format!("\"{}\":{}\"{}\"", &found[1], &found[2], values[&found[1]])
        });
        filled
            .replace("localhost:50051", address)
            .replace("127.0.0.1:50051", address)
    }

    /// What a command's answer says for the examples after it.
    fn learn(&mut self, method: &str, answers: &[Value], example: &Example) {
        let context = || format!("README line {}: {answers:?}", example.line);
        let id = || {
            answers
                .first()
                .and_then(|a| a["id"].as_str())
                .map(str::to_string)
                .unwrap_or_else(|| panic!("no id in the answer, {}", context()))
        };
        match method {
            "CreateIntegration" => {
                let answer = &answers[0];
                // The TLS example verifies the server, so the integration has nothing to warn of.
                let warned = answer["warnings"].as_array().is_some_and(|w| !w.is_empty());
                let plaintext = answer["config"]["sslmode"] == "disable";
                assert_eq!(warned, plaintext, "{}", context());
                self.integrations.push(id());
            }
            "DeleteIntegration" => {
                self.integrations.pop();
            }
            "UpdateIntegration" => assert_eq!(answers[0]["name"], "billing", "{}", context()),
            "GetIntegration" => assert_eq!(id(), self.integration(), "{}", context()),
            "TriggerSync" => self.run_id = Some(id()),
            "GrantAccess" => self.grant_id = Some(id()),
            "WatchSyncRun" => assert_eq!(
                answers.last().map(|event| &event["kind"]),
                Some(&Value::from("SYNC_EVENT_KIND_FINISHED")),
                "{}",
                context()
            ),
            "Check" => assert_eq!(answers[0]["status"], "SERVING", "{}", context()),
            _ => {}
        }
    }
}

/// Every JSON value grpcurl printed (one per message of a stream).
fn answers(stdout: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|error| panic!("grpcurl printed no JSON ({error}): {stdout}"))
}

/// A shell in `dir` with the reader's environment; `script` runs after the assignments.
fn shell(dir: &Path, remote: &RemoteCluster, prelude: &str, script: &str) -> Command {
    let grpcurl_dir = grpcurl()
        .parent()
        .expect("grpcurl's directory")
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(grpcurl_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!("set -eu -o pipefail\n{prelude}\n{script}"))
        .current_dir(dir)
        .env("PATH", path)
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", remote.port().to_string())
        .env("PGPASSWORD", PASSWORD)
        .stdin(Stdio::null());
    cmd
}

const PASSWORD: &str = "readme-Secret-5e1d";

/// The PostgreSQL README's examples connect to, with the roles they use.
async fn readme_remote() -> RemoteCluster {
    let remote = RemoteCluster::start(&["127.0.0.1", "localhost"], Admission::Passwords).await;
    remote
        .admin()
        .await
        .batch_execute(&format!(
            "CREATE ROLE oblique_reader LOGIN CREATEROLE PASSWORD '{PASSWORD}';
             CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN;
             CREATE ROLE readers NOLOGIN; GRANT readers TO alice"
        ))
        .await
        .expect("creating the remote's roles");
    remote
}

/// Runs the SubscribeSyncEvents example until it prints an event of a run, triggering syncs of
/// `integration` meanwhile (an event of a sync that ran before it subscribed never comes).
async fn subscribe_until_an_event(mut cmd: Command, admin: &Clients, integration: &str) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("running the subscription example");
    let stdout = child.stdout.take().expect("stdout");
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + PATIENCE;
    let mut seen = false;
    while !seen && Instant::now() < deadline {
        let request = pb::TriggerSyncRequest {
            integration_id: integration.to_string(),
            ..Default::default()
        };
        admin
            .sync
            .clone()
            .trigger_sync(request)
            .await
            .expect("TriggerSync");
        let until = Instant::now() + Duration::from_secs(2);
        while let Ok(line) = received.recv_timeout(until.saturating_duration_since(Instant::now()))
        {
            if line.contains("\"runId\"") {
                seen = true;
                break;
            }
        }
    }
    let still_running = child.try_wait().expect("try_wait").is_none();
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: kill has no memory-safety preconditions; the group is our child's own.
    unsafe { libc::kill(-pid, libc::SIGTERM) };
    let _ = child.wait();
    assert!(
        seen,
        "SubscribeSyncEvents showed no event within {PATIENCE:?}"
    );
    assert!(still_running, "SubscribeSyncEvents ended by itself");
}

#[tokio::test]
async fn every_grpcurl_example_in_readme_runs_as_written() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let remote = readme_remote().await;
    let mut served = Served::start().await;
    let address = served.address();
    let dir = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(served.data.path(), dir.path().join(".oblique")).unwrap();
    std::fs::write(dir.path().join("ca.pem"), remote.ca_pem()).unwrap();
    let admin = served.admin().await;
    let mut values = Values {
        users: UserServiceClient::with_interceptor(served.server.channel(), admin.bearer.clone()),
        admin,
        integrations: Vec::new(),
        run_id: None,
        grant_id: None,
        password: PASSWORD.to_string(),
    };

    let mut prelude = String::new();
    let mut ran = 0;
    let mut update_example = None;
    for example in examples(&readme) {
        if !is_grpcurl(&example.text) {
            prelude.push_str(&example.text);
            prelude.push('\n');
            continue;
        }
        let method = method_of(&example.text);
        let command = values.fill(&example.text, &address).await;
        ran += 1;
        if method == "SubscribeSyncEvents" {
            let cmd = shell(dir.path(), &remote, &prelude, &command);
            subscribe_until_an_event(cmd, &values.admin, values.integration()).await;
            continue;
        }
        if method == "UpdateIntegration" {
            update_example = Some(command.clone());
        }
        if method == "TriggerSync" {
            // TriggerSync answers the run already active, if any: the examples after it are
            // about the run it asks for (a dry run's changes).
            values.wait_idle().await;
        }
        let (ok, stdout, stderr) = run(&mut shell(dir.path(), &remote, &prelude, &command));
        assert!(
            ok,
            "README line {} failed:\n{command}\n{stdout}\n{stderr}",
            example.line
        );
        if !method.is_empty() {
            values.learn(method, &answers(&stdout), &example);
        }
    }
    assert_eq!(ran, readme.matches("grpcurl -").count());

    // The logging example's request id is the one its call was logged under.
    let log = served.server.log_text();
    assert!(log.contains("request_id=ticket-4711"), "{log}");
    assert!(!log.contains(&served.token), "the log shows the token");

    // The mask in README's object form is what grpcurl 1.8.6 needs: the string form that README
    // once had is refused before anything is sent.
    let update = update_example.expect("README has an UpdateIntegration example");
    let object_form = r#"{"paths": ["name", "credentials"]}"#;
    assert!(update.contains(object_form), "{update}");
    let string_form = update.replace(object_form, r#""name,credentials""#);
    let (ok, _, stderr) = run(&mut shell(dir.path(), &remote, &prelude, &string_form));
    assert!(!ok, "grpcurl took the string form of the mask");
    assert!(
        stderr.contains("expecting start of JSON object"),
        "{stderr}"
    );

    // README's Python, in the same directory: it lists the integration still live.
    for block in python_blocks(&readme) {
        let script = block.text.replace("127.0.0.1:50051", &address);
        let (ok, stdout, stderr) = run(Command::new(client_python())
            .args(["-c", &script])
            .current_dir(dir.path())
            .env("PYTHONPATH", repo_root().join("clients/python")));
        assert!(ok, "README line {}:\n{script}\n{stderr}", block.line);
        assert!(stdout.contains("billing-db"), "{stdout}");
    }
}
