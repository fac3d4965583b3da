//! The client over TLS: an https:// server is verified against `--ca-cert` (or the system's
//! roots), and a certificate from another CA is refused before the token is sent.

use std::os::unix::fs::PermissionsExt;
use std::process::Output;
use std::time::Instant;

use crate::harness::pki::TestCa;
use crate::harness::servers::create_test_database;
use crate::serve_binary::{DEADLINE, DataDir, DropDatabase, Server, oblique, text, wait_for_token};

use super::{CLEARED_CLIENT_ENV, path_str};

#[tokio::test]
async fn an_https_server_is_verified_against_ca_cert_and_refused_without_it() {
    let ca = TestCa::new("oblique cli test ca");
    let other_ca = TestCa::new("another cli test ca");
    let (cert, key) = ca.server(&["localhost", "127.0.0.1"]);
    let files = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, pem: &str| {
        let path = files.path().join(name);
        std::fs::write(&path, pem).expect("writing PEM");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    };
    let (cert_file, key_file) = (write("cert.pem", &cert), write("key.pem", &key));
    let (ca_file, other_ca_file) = (
        write("ca.pem", &ca.pem()),
        write("other.pem", &other_ca.pem()),
    );

    let (database, url) = create_test_database().await;
    let _database = DropDatabase(database);
    let data = DataDir::new();
    let mut serve = oblique(&data.path());
    serve
        .env("DATABASE_URL", &url)
        .env("OBLIQUE_TLS_CERT", &cert_file)
        .env("OBLIQUE_TLS_KEY", &key_file);
    let mut server = Server::start(serve, files.path().join("serve.log"));
    wait_for_token(&mut server, &data.path().join("admin-token")).await;
    let https = format!("https://localhost:{}", server.port());
    let cli = |server_url: &str, args: &[&str]| -> Output {
        let mut cmd = oblique(&data.path());
        for var in CLEARED_CLIENT_ENV {
            cmd.env_remove(var);
        }
        cmd.args(["--server", server_url])
            .args(args)
            .output()
            .expect("running oblique")
    };

    let deadline = Instant::now() + DEADLINE;
    let verified = loop {
        let output = cli(&https, &["--ca-cert", path_str(&ca_file), "types"]);
        if output.status.success() {
            break output;
        }
        server.tick("a call over TLS", deadline).await;
    };
    assert!(text(&verified.stdout).contains("postgres"));

    for (what, args) in [
        (
            "another CA",
            vec!["--ca-cert", path_str(&other_ca_file), "types"],
        ),
        ("the system's roots", vec!["types"]),
    ] {
        let refused = cli(&https, &args);
        let stderr = text(&refused.stderr);
        assert_eq!(
            refused.status.code(),
            Some(1),
            "verified against {what}: {stderr}"
        );
        assert!(
            stderr.contains("cannot connect to the server"),
            "{what}: {stderr}"
        );
    }

    let plain = cli(
        &format!("http://localhost:{}", server.port()),
        &["--ca-cert", path_str(&ca_file), "types"],
    );
    assert!(text(&plain.stderr).contains("--ca-cert is for an https:// server"));
}
