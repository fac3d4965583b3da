//! Real clusters: started, reused, shared and stopped.

use super::binaries::SERVER_BINARIES;
use super::*;

/// A temp dir under /tmp that the postgres user can traverse.
pub(super) fn reachable_tempdir(mode: u32) -> tempfile::TempDir {
    let tmp = tempfile::Builder::new()
        .prefix("oblique-pg-")
        .tempdir_in("/tmp")
        .expect("tempdir");
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode)).expect("chmod");
    tmp
}

pub(super) fn psql(url: &str, sql: &str) -> String {
    let out = try_psql(url, sql);
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// psql without any password but the URL's (no ~/.pgpass, no PGPASSWORD).
pub(super) fn try_psql(url: &str, sql: &str) -> std::process::Output {
    let args = [
        "-X",
        "-q",
        "-t",
        "-A",
        "-v",
        "ON_ERROR_STOP=1",
        url,
        "-c",
        sql,
    ];
    Command::new("/usr/bin/psql")
        .args(args)
        .env("PGPASSFILE", "/dev/null")
        .env_remove("PGPASSWORD")
        .output()
        .expect("run psql")
}

fn accepts(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn locates_binaries() {
    let bins = PostgresBinaries::locate().expect("locate");
    for bin in SERVER_BINARIES {
        assert!(
            bins.bindir.join(bin).is_file(),
            "{bin} not in {}",
            bins.bindir.display()
        );
    }
}

#[test]
fn throwaway_server_starts_and_stops() {
    let tmp = reachable_tempdir(0o755);
    let mut pg = EmbeddedPostgres::start_throwaway(&tmp.path().join("pg")).expect("start");
    let port = pg.port();
    assert!(port > 0 && pg.owns_server() && accepts(port));
    assert_eq!(psql(&pg.url("postgres"), "select 1"), "1");
    assert_eq!(psql(&pg.url("postgres"), "show fsync"), "off");
    pg.stop().expect("stop");
    pg.stop().expect("second stop is a no-op");
    assert!(!accepts(port));
}

#[test]
fn restart_reuses_initialised_cluster() {
    let tmp = reachable_tempdir(0o755);
    let dir = tmp.path().join("pg");
    let mut first = EmbeddedPostgres::start(&dir).expect("first start");
    assert_eq!(psql(&first.url("postgres"), "show fsync"), "on");
    psql(
        &first.url("postgres"),
        "create table marker (id int); insert into marker values (42)",
    );
    first.stop().expect("stop");
    drop(first);
    let second = EmbeddedPostgres::start(&dir).expect("second start");
    assert!(second.owns_server());
    assert_eq!(psql(&second.url("postgres"), "select id from marker"), "42");
}

#[test]
fn second_handle_reuses_running_server() {
    let tmp = reachable_tempdir(0o755);
    let dir = tmp.path().join("pg");
    let mut first = EmbeddedPostgres::start(&dir).expect("first start");
    let second = EmbeddedPostgres::start(&dir).expect("second start");
    assert!(!second.owns_server());
    assert_eq!(second.port(), first.port());
    drop(second);
    assert_eq!(psql(&first.url("postgres"), "select 1"), "1");

    let mut third = EmbeddedPostgres::start(&dir).expect("third start");
    third.take_ownership();
    third.stop().expect("owner stops the reused server");
    assert!(try_psql(&first.url("postgres"), "select 1").status.code() == Some(2));
    first
        .stop()
        .expect("stopping an already-stopped server is fine");
}

#[test]
fn unreachable_dir_is_named() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let tmp = reachable_tempdir(0o700);
    match EmbeddedPostgres::start_throwaway(&tmp.path().join("pg")) {
        Err(EmbeddedError::Unreachable { dir }) => assert_eq!(dir, tmp.path()),
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => panic!("started in a directory the postgres user cannot reach"),
    }
}
