//! Finding the machine's PostgreSQL server binaries.

use std::cmp::Reverse;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::EmbeddedError;

pub(super) const SERVER_BINARIES: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

pub struct PostgresBinaries {
    pub bindir: PathBuf,
}

impl PostgresBinaries {
    /// Search order: each dir on PATH that has all of initdb+pg_ctl+postgres;
    /// `pg_config --bindir`; /usr/lib/postgresql/*/bin (highest version first).
    pub fn locate() -> Result<Self, EmbeddedError> {
        let mut candidates = Vec::new();
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            // Debian links pg_ctl/initdb into PATH without `postgres`: follow the link.
            let linked = fs::canonicalize(dir.join("pg_ctl")).ok();
            candidates.push(dir);
            candidates.extend(linked.and_then(|p| p.parent().map(Path::to_path_buf)));
        }
        if let Ok(out) = Command::new("pg_config")
            .arg("--bindir")
            .stderr(Stdio::null())
            .output()
            && out.status.success()
        {
            candidates.push(String::from_utf8_lossy(&out.stdout).trim().into());
        }
        let installed = fs::read_dir("/usr/lib/postgresql").into_iter().flatten();
        let mut versioned: Vec<PathBuf> = installed.flatten().map(|e| e.path()).collect();
        // Numeric, so that 15 beats 9.6.
        versioned.sort_by_cached_key(|p| Reverse(version_key(p)));
        candidates.extend(versioned.into_iter().map(|dir| dir.join("bin")));

        let mut searched: Vec<PathBuf> = Vec::new();
        for dir in candidates {
            if dir.as_os_str().is_empty() || searched.contains(&dir) {
                continue;
            }
            let executable =
                |b| fs::metadata(dir.join(b)).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0);
            if SERVER_BINARIES.iter().all(executable) {
                // Absolute: the binaries run from another working directory.
                let bindir = fs::canonicalize(&dir)?;
                return Ok(Self { bindir });
            }
            searched.push(dir);
        }
        Err(EmbeddedError::NoBinaries { searched })
    }
}

fn version_key(dir: &Path) -> Vec<u32> {
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    name.split('.').map(|n| n.parse().unwrap_or(0)).collect()
}
