//! The `postgres` OS user the server runs as when Oblique runs as root (PostgreSQL refuses root).

use std::path::Path;
use std::process::{Command, Stdio};

use super::EmbeddedError;

pub(super) fn runuser(program: &Path) -> Command {
    let candidates = ["/usr/sbin/runuser", "/sbin/runuser"];
    let exe = candidates.into_iter().find(|p| Path::new(p).exists());
    let mut cmd = Command::new(exe.unwrap_or("runuser"));
    cmd.args(["-u", "postgres", "--"])
        .arg(program)
        .stdin(Stdio::null());
    cmd
}

/// uid and gid of the `postgres` OS user (getpwnam_r: the server is multi-threaded).
pub(super) fn postgres_user() -> Option<(u32, u32)> {
    // SAFETY: passwd is plain C data for which all-zero is a valid value.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    let name = c"postgres".as_ptr();
    // SAFETY: every pointer is valid for the call and buf's length is passed with it;
    // only pwd's integer fields are read afterwards, not its pointers into buf.
    let rc = unsafe { libc::getpwnam_r(name, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found) };
    (rc == 0 && !found.is_null()).then_some((pwd.pw_uid, pwd.pw_gid))
}

/// Names the directory the postgres user cannot get through, rather than letting
/// initdb fail with a vague permission error. Asks the user itself (via `test`) so that
/// supplementary groups and ACLs count.
pub(super) fn check_reachable(dir: &Path) -> Result<(), EmbeddedError> {
    let can = |flag: &str, path: &Path| {
        let out = runuser(Path::new("test")).arg(flag).arg(path).output();
        out.is_ok_and(|o| o.status.success())
    };
    if can("-w", dir) {
        return Ok(());
    }
    let mut path: Vec<&Path> = dir.ancestors().collect();
    path.reverse();
    let blocked = path.into_iter().find(|p| !can("-x", p)).unwrap_or(dir);
    Err(EmbeddedError::Unreachable {
        dir: blocked.to_path_buf(),
    })
}
