//! The client on a terminal, as a person runs it: `script` (util-linux) gives the binary a
//! pseudo-terminal. The password is asked for per secret field and typed only once the prompt
//! shows (never echoed), and `--watch` draws its bar and exits 0 when the run succeeds.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use oblique::pb;

use crate::harness::remote::{READER, READER_PASSWORD, RemoteRoles, remote_postgres};
use crate::harness::wait_for_run;
use crate::serve_binary::DEADLINE;

use super::{Served, path_str};

/// Shell-quotes one word.
fn quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[tokio::test]
async fn on_a_terminal_the_password_is_prompted_without_echo_and_the_watch_draws_a_bar() {
    let served = Served::start().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql("CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_readers NOLOGIN; GRANT {p}_readers TO {p}_alice")
        .await;
    let remote = remote_postgres().await;
    let config = served.file(
        "tty-config.json",
        serde_json::json!({ "ca_cert": remote.ca_pem }),
    );
    let client = served.command(&[
        "integrations",
        "create",
        "--type",
        "postgres",
        "--name",
        "typed",
        "--set",
        "host=127.0.0.1",
        "--set",
        &format!("port={}", remote.port),
        "--set",
        &format!("username={READER}"),
        "--set",
        &format!("role_pattern={}", roles.pattern()),
        "--config-file",
        path_str(&config),
        "--watch",
    ]);
    let line: Vec<String> = std::iter::once(client.get_program())
        .chain(client.get_args())
        .map(|word| quoted(&word.to_string_lossy()))
        .collect();
    let mut script = Command::new("script");
    script.args(["-qec", &line.join(" "), "/dev/null"]);
    for (var, value) in client.get_envs() {
        match value {
            Some(value) => script.env(var, value),
            None => script.env_remove(var),
        };
    }
    let mut child = script
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running script (util-linux)");

    // The terminal's output, read as it comes.
    let mut stdout = child.stdout.take().unwrap();
    let (chunks, received) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(read @ 1..) = stdout.read(&mut buffer) {
            if chunks.send(buffer[..read].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut screen = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    while !String::from_utf8_lossy(&screen).contains("password (required") {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok(chunk) => screen.extend(chunk),
            Err(_) => panic!("no password prompt:\n{}", String::from_utf8_lossy(&screen)),
        }
    }
    // rpassword shows the prompt, then turns echo off: typing at once could beat the second
    // step, as no person types that fast.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{READER_PASSWORD}\n").as_bytes())
        .expect("typing the password");
    let status = child.wait().expect("waiting for script");
    drop(stdin);
    reader.join().unwrap();
    screen.extend(received.try_iter().flatten());
    let screen = String::from_utf8_lossy(&screen);

    assert!(status.success(), "{status}:\n{screen}");
    assert!(
        !screen.contains(READER_PASSWORD),
        "the password was echoed:\n{screen}"
    );
    assert!(screen.contains("accounts finished: 1 listed"), "{screen}");
    // The bar redraws its line with terminal control sequences (the plain lines have none).
    assert!(screen.contains("\u{1b}["), "no bar was drawn:\n{screen:?}");
    assert!(screen.contains(" succeeded."), "{screen}");

    let listed = served
        .admin
        .integrations
        .clone()
        .list_integrations(pb::ListIntegrationsRequest::default())
        .await
        .expect("ListIntegrations")
        .into_inner()
        .integrations;
    let typed = listed.iter().find(|i| i.name == "typed").expect("created");
    assert!(typed.credentials_set);
    let run = wait_for_run(&served.admin, &typed.last_sync_run.as_ref().unwrap().id).await;
    assert_eq!(run.state(), pb::SyncRunState::Succeeded);
}
