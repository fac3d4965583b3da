//! `oblique serve --check-config` finds what serving would refuse (a plaintext address beyond
//! loopback, a TLS key that is not the certificate's, an unreachable database, another
//! credentials key than the database's), says what it found otherwise, and changes nothing.

use std::path::Path;
use std::process::Output;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use oblique::crypto::key_file::write_key_file;
use oblique::crypto::{KeySource, Keyring, SecretKey};
use oblique_testkit::pki::TestCa;

use crate::harness::servers::create_test_database;
use crate::serve_binary::{DataDir, DropDatabase, oblique, text};

fn check_config(data: &DataDir, url: &str, args: &[&str]) -> Output {
    oblique(&data.path())
        .env("DATABASE_URL", url)
        .args(["serve", "--check-config"])
        .args(args)
        .output()
        .expect("running oblique serve --check-config")
}

fn assert_ok(output: &Output, says: &[&str]) {
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{}; stdout: {stdout}; stderr: {}",
        output.status,
        text(&output.stderr)
    );
    for words in says {
        assert!(stdout.contains(words), "stdout lacks {words:?}: {stdout}");
    }
}

fn assert_refused(output: &Output, says: &str) {
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "accepted; stderr: {stderr}");
    assert!(stderr.contains(says), "stderr lacks {says:?}: {stderr}");
}

fn write_key(path: &Path, key: SecretKey) {
    write_key_file(path, &Keyring::new(key)).expect("writing a key file");
}

#[tokio::test]
async fn check_config_says_what_serving_would_find_and_changes_nothing() {
    let (name, url) = create_test_database().await;
    let _database = DropDatabase(name);
    let data = DataDir::new();
    let key_file = data.path().join("secret-key");

    // A new database: nothing to refuse, and no key file made for it.
    assert_ok(
        &check_config(&data, &url, &[]),
        &[
            "ok: listen address 127.0.0.1:50051",
            "fully migrated",
            "no key yet",
        ],
    );
    assert!(!key_file.exists(), "--check-config made a key file");

    // Once a process recorded its key, only that key passes.
    std::fs::create_dir_all(data.path()).unwrap();
    write_key(&key_file, SecretKey::generate());
    let mut conn = AsyncPgConnection::establish(&url)
        .await
        .expect("connecting");
    oblique::cli::keys::startup::establish(&mut conn, KeySource::File(key_file.clone()))
        .await
        .expect("recording the key");
    assert_ok(
        &check_config(&data, &url, &[]),
        &["opens the database's credentials"],
    );
    let other = data.path().join("other-key");
    write_key(&other, SecretKey::generate());
    let other_arg = other.to_str().unwrap();
    assert_refused(
        &check_config(&data, &url, &["--secret-key-file", other_arg]),
        "sealed with",
    );

    assert_refused(
        &check_config(&data, "postgres://nobody@127.0.0.1:1/none", &[]),
        "connecting to the database",
    );
    assert_refused(
        &check_config(&data, &url, &["--listen", "0.0.0.0:50051"]),
        "refusing to serve plaintext",
    );

    let ca = TestCa::new("check-config CA");
    let (cert, key) = ca.server(&["127.0.0.1"]);
    let (_, stranger_key) = ca.server(&["127.0.0.1"]);
    let tls = tempfile::tempdir().expect("tempdir");
    for (file, pem) in [("cert", &cert), ("key", &key), ("stranger", &stranger_key)] {
        std::fs::write(tls.path().join(file), pem).unwrap();
    }
    let path = |file: &str| tls.path().join(file).to_str().unwrap().to_string();
    let (cert_arg, key_arg, stranger_arg) = (path("cert"), path("key"), path("stranger"));
    assert_ok(
        &check_config(
            &data,
            &url,
            &["--tls-cert", &cert_arg, "--tls-key", &key_arg],
        ),
        &["TLS certificate"],
    );
    assert_refused(
        &check_config(
            &data,
            &url,
            &["--tls-cert", &cert_arg, "--tls-key", &stranger_arg],
        ),
        "does not fit",
    );
}
