//! Where a process's keys come from: `OBLIQUE_SECRET_KEY` or a key file.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::Keyring;

pub const SECRET_KEY_ENV: &str = "OBLIQUE_SECRET_KEY";

/// Where a process's keys come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// `OBLIQUE_SECRET_KEY`: one key, or several (the first seals).
    Environment,
    /// A key file: one key per line, the first seals.
    File(PathBuf),
    /// Handed over in code (tests, the benchmark).
    Memory,
}

impl KeySource {
    /// `OBLIQUE_SECRET_KEY` when set, else the key file.
    pub fn resolve(key_file: &Path) -> KeySource {
        match std::env::var(SECRET_KEY_ENV) {
            Ok(text) if !text.trim().is_empty() => KeySource::Environment,
            _ => KeySource::File(key_file.to_path_buf()),
        }
    }

    /// The keys, or `None` when the source has none yet (no file; the variable unset).
    pub fn read(&self) -> anyhow::Result<Option<Keyring>> {
        let text = match self {
            KeySource::Environment => match std::env::var(SECRET_KEY_ENV) {
                Ok(text) if !text.trim().is_empty() => text,
                _ => return Ok(None),
            },
            KeySource::File(path) => match fs::read_to_string(path) {
                Ok(text) => text,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(error) => {
                    return Err(error).with_context(|| format!("reading {}", path.display()));
                }
            },
            KeySource::Memory => return Ok(None),
        };
        Keyring::parse(&text)
            .map(Some)
            .with_context(|| format!("reading the credentials keys from {self}"))
    }
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Environment => f.write_str(SECRET_KEY_ENV),
            KeySource::File(path) => write!(f, "key file {}", path.display()),
            KeySource::Memory => f.write_str("keys given in code"),
        }
    }
}
