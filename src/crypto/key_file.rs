//! The key file: written whole or not at all, and noticed when another process rewrites it.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::SystemTime;

use anyhow::Context;

use super::{KeySource, Keyring};

/// Writes the ring to `path` (0600) through a new file renamed over it, so a reader never sees
/// it half written and a crash leaves the old file or the new one.
pub fn write_key_file(path: &Path, ring: &Keyring) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let partial = path.with_extension("partial");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .with_context(|| format!("writing {}", partial.display()))?;
    // A leftover partial file keeps its old mode: make sure of 0600 before writing a key.
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(ring.to_file_text().as_bytes())?;
    file.sync_all()?;
    fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))?;
    if let Some(dir) = path.parent()
        && let Ok(dir) = fs::File::open(dir)
    {
        // The rename itself must survive a crash, or the new key could be lost.
        let _ = dir.sync_all();
    }
    Ok(())
}

/// The key file as it was when read, to notice a rewrite (a rename makes a new inode).
#[derive(Clone, PartialEq, Eq)]
pub(super) struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl FileStamp {
    pub(super) fn of(source: &KeySource) -> Option<FileStamp> {
        let KeySource::File(path) = source else {
            return None;
        };
        let metadata = fs::metadata(path).ok()?;
        Some(FileStamp {
            modified: metadata.modified().ok(),
            len: metadata.len(),
            inode: metadata.ino(),
        })
    }
}
