//! The key file: written whole or not at all, and noticed when another process rewrites it.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::SystemTime;

use anyhow::Context;

use super::{KeySource, Keyring};
use crate::private_file::write_private_file;

/// Writes the ring to `path` (0600) through a new file renamed over it, so a reader never sees
/// it half written and a crash leaves the old file or the new one.
pub fn write_key_file(path: &Path, ring: &Keyring) -> anyhow::Result<()> {
    write_private_file(path, &ring.to_file_text(), None)
        .with_context(|| format!("writing {}", path.display()))
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
