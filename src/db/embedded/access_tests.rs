//! The durable server lets in only the service's OS user, through its socket, with a password.

use std::os::unix::fs::MetadataExt;

use super::tests::{psql, reachable_tempdir, try_psql};
use super::*;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn durable_server_has_no_tcp_listener_and_wants_the_password() {
    let tmp = reachable_tempdir(0o755);
    let dir = tmp.path().join("pg");
    let pg = EmbeddedPostgres::start(&dir).expect("start");
    assert_eq!(psql(&pg.url("postgres"), "show listen_addresses"), "");
    assert_eq!(
        psql(&pg.url("postgres"), "show password_encryption"),
        "scram-sha-256"
    );

    let password = access::read_password(&access::password_file(&dir, "postgres"))
        .expect("read")
        .expect("a superuser password file");
    // Over TCP, even with the right password, nothing answers.
    let tcp = format!(
        "postgres://postgres:{password}@127.0.0.1:{}/postgres",
        pg.port()
    );
    let out = try_psql(&tcp, "select 1");
    assert!(!out.status.success(), "TCP connection accepted");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", pg.port())).is_err(),
        "something listens on the server's port"
    );

    let socket = percent_encode_path(&pg.socket_dir());
    let port = pg.port();
    let without = format!("postgres://postgres@{socket}:{port}/postgres");
    let out = try_psql(&without, "select 1");
    assert!(!out.status.success(), "accepted without a password");
    let wrong = format!("postgres://postgres:wrong@{socket}:{port}/postgres");
    let out = try_psql(&wrong, "select 1");
    assert!(
        stderr(&out).contains("password authentication failed"),
        "wrong password: {}",
        stderr(&out)
    );

    let hba = fs::read_to_string(dir.join("data/pg_hba.conf")).expect("pg_hba.conf");
    let rules: Vec<&str> = hba
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(rules, ["local all all scram-sha-256"]);
    let mode = fs::metadata(access::password_file(&dir, "postgres"))
        .expect("password file")
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        fs::metadata(pg.socket_dir()).expect("socket dir").mode() & 0o777,
        0o700
    );
    let log = fs::read_to_string(dir.join("postgres.log")).unwrap_or_default();
    assert!(
        !log.contains(&password),
        "the server log shows the password"
    );
}

#[test]
fn another_os_user_cannot_reach_the_socket_even_with_the_password() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return; // needs root to act as another user
    }
    let tmp = reachable_tempdir(0o755);
    let pg = EmbeddedPostgres::start(&tmp.path().join("pg")).expect("start");
    let out = Command::new("runuser")
        .args([
            "-u",
            "nobody",
            "--",
            "/usr/bin/psql",
            "-X",
            "-c",
            "select 1",
        ])
        .arg(pg.url("postgres"))
        .current_dir("/")
        .env("PGPASSFILE", "/dev/null")
        .output()
        .expect("runuser");
    assert!(!out.status.success(), "nobody connected");
    assert!(
        stderr(&out).contains("Permission denied"),
        "expected the socket directory to be out of reach: {}",
        stderr(&out)
    );
    // The service's own user (root here, acting as any user) gets in with the password.
    assert_eq!(psql(&pg.url("postgres"), "select 1"), "1");
}

#[test]
fn a_cluster_made_by_the_old_code_is_secured_on_start_and_keeps_its_data() {
    let tmp = reachable_tempdir(0o755);
    let dir = tmp.path().join("pg");
    // The old code's cluster: initdb -A trust, listening on 127.0.0.1.
    let mut old = EmbeddedPostgres::start_throwaway(&dir).expect("old-style start");
    let old_url = old.url("postgres");
    psql(
        &old_url,
        "create table marker (id int); insert into marker values (42)",
    );
    old.stop().expect("stop");
    drop(old);

    let pg = EmbeddedPostgres::start(&dir).expect("secured start");
    assert_eq!(psql(&pg.url("postgres"), "select id from marker"), "42");
    assert_eq!(psql(&pg.url("postgres"), "show listen_addresses"), "");
    let socket = percent_encode_path(&pg.socket_dir());
    let without = format!("postgres://postgres@{socket}:{}/postgres", pg.port());
    assert!(!try_psql(&without, "select 1").status.success());
    let hba = fs::read_to_string(dir.join("data/pg_hba.conf")).expect("pg_hba.conf");
    assert_eq!(hba, access::PG_HBA);

    // And a second start reuses it as it is.
    let again = EmbeddedPostgres::start(&dir).expect("reuse");
    assert_eq!(psql(&again.url("postgres"), "select id from marker"), "42");
}

fn percent_encode_path(path: &Path) -> String {
    crate::db::connect::percent_encode(&path.to_string_lossy())
}

#[test]
fn socket_paths_too_long_for_the_kernel_are_refused_clearly() {
    let long = Path::new("/tmp").join("x".repeat(120));
    match access::ensure_socket_dir(&long, 5432, None) {
        Err(EmbeddedError::Command { detail, .. }) => {
            assert!(detail.contains("shorter data directory"), "{detail}")
        }
        other => panic!("accepted a {}-byte path: {other:?}", long.as_os_str().len()),
    }
}
