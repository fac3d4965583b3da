//! The real `oblique` binary: `serve` refuses a key the database does not record, and
//! `keys rotate` with OBLIQUE_SECRET_KEY says what to set, after which the old key alone is
//! refused and the new one (listed first) serves.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use oblique::crypto::SecretKey;

use crate::harness::servers::{create_test_database, drop_test_database};

/// Bound on a server getting ready or exiting.
const DEADLINE: Duration = Duration::from_secs(120);

/// Configuration of the test process that must not leak into the binary.
const CLEARED_ENV: &[&str] = &[
    "DATABASE_URL",
    "TEST_DATABASE_URL",
    "OBLIQUE_DATA_DIR",
    "OBLIQUE_SECRET_KEY",
    "OBLIQUE_SECRET_KEY_FILE",
    "OBLIQUE_NEW_SECRET_KEY",
    "OBLIQUE_LOG_FORMAT",
    "OBLIQUE_LISTEN",
    "RUST_LOG",
];

fn oblique(data_dir: &Path, database_url: &str, secret_key: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oblique"));
    for var in CLEARED_ENV {
        cmd.env_remove(var);
    }
    cmd.env("DATABASE_URL", database_url)
        .env("OBLIQUE_SECRET_KEY", secret_key)
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::null());
    cmd
}

/// How a `serve` ended up: serving (then killed), or exited with its stderr.
#[derive(Debug)]
enum Start {
    Served,
    Exited(String),
}

/// Starts `serve` and waits until it serves or exits; a serving child is killed.
async fn start(mut cmd: Command, log: &Path) -> Start {
    let stderr = std::fs::File::create(log).expect("log file");
    let mut child: Child = cmd
        .args(["serve", "--listen", "127.0.0.1:0", "--sync-workers", "0"])
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawning oblique serve");
    let deadline = Instant::now() + DEADLINE;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(_status) = child.try_wait().expect("try_wait") {
            return Start::Exited(std::fs::read_to_string(log).unwrap_or_default());
        }
        if text.contains("serving gRPC") {
            let _ = child.kill();
            let _ = child.wait();
            return Start::Served;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve neither served nor exited: {text}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn serve_refuses_another_key_and_rotation_with_the_environment_says_what_to_set() {
    let (name, url) = create_test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let log = dir.path().join("serve.log");
    let (first, other) = ("11".repeat(32), "22".repeat(32));
    let first_id = SecretKey::parse(&first).unwrap().id().to_string();
    let other_id = SecretKey::parse(&other).unwrap().id().to_string();

    let started = start(oblique(&data, &url, &first), &log).await;
    assert!(matches!(started, Start::Served), "{started:?}");

    match start(oblique(&data, &url, &other), &log).await {
        Start::Exited(stderr) => {
            assert!(stderr.contains("refusing to start"), "{stderr}");
            assert!(
                stderr.contains(&first_id) && stderr.contains(&other_id),
                "{stderr}"
            );
            assert!(
                !stderr.contains(&first) && !stderr.contains(&other),
                "{stderr}"
            );
        }
        Start::Served => panic!("serve started with a key the database does not record"),
    }
    let started = start(oblique(&data, &url, &first), &log).await;
    assert!(matches!(started, Start::Served), "{started:?}");

    // With OBLIQUE_SECRET_KEY, rotation takes the new key from OBLIQUE_NEW_SECRET_KEY.
    let mut rotate = oblique(&data, &url, &first);
    let rotated = rotate
        .env("OBLIQUE_NEW_SECRET_KEY", &other)
        .args(["keys", "rotate"])
        .output()
        .expect("keys rotate");
    let said = stdout_of(&rotated);
    assert!(
        said.contains(&other_id) && said.contains("OBLIQUE_SECRET_KEY"),
        "{said}"
    );
    assert!(!said.contains(&other) && !said.contains(&first), "{said}");

    let status = stdout_of(
        &oblique(&data, &url, &first)
            .args(["keys", "status"])
            .output()
            .unwrap(),
    );
    assert!(
        status.contains(&format!("database key:  {other_id}")),
        "{status}"
    );

    match start(oblique(&data, &url, &first), &log).await {
        Start::Exited(stderr) => assert!(stderr.contains(&other_id), "{stderr}"),
        Start::Served => panic!("serve started with the retired key alone"),
    }
    let both = format!("{other},{first}");
    let started = start(oblique(&data, &url, &both), &log).await;
    assert!(matches!(started, Start::Served), "{started:?}");
    drop_test_database(name);
}
