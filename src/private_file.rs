//! Files only this service's OS user may read (credentials keys, database passwords, the first
//! admin token): written whole or not at all, and mode 0600 from their first byte.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Writes `text` to a new 0600 file beside `path` (owned by `owner` when given) and renames it
/// over `path`: a reader never sees it half written, and a crash leaves the old file or the new.
pub fn write_private_file(
    path: &Path,
    text: &str,
    owner: Option<(u32, u32)>,
) -> std::io::Result<()> {
    let partial = path.with_extension("partial");
    // A partial file left by a crash may have another mode or owner: never write into it.
    match fs::remove_file(&partial) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&partial, Some(uid), Some(gid))?;
    }
    fs::rename(&partial, path)?;
    if let Some(dir) = path.parent()
        && let Ok(dir) = fs::File::open(dir)
    {
        // The rename itself must survive a crash, or the file could be lost with it.
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn replaces_the_file_whole_with_mode_0600_even_over_a_leftover_partial() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let partial = path.with_extension("partial");
        fs::write(&partial, "left by a crash").unwrap();
        fs::set_permissions(&partial, fs::Permissions::from_mode(0o644)).unwrap();
        write_private_file(&path, "first\n", None).unwrap();
        write_private_file(&path, "second\n", None).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "second\n");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!partial.exists());
    }
}
