//! `oblique keys …`: the keys that seal integration credentials, managed from the machine (they
//! never travel over the API).

pub mod rotate;
pub mod startup;
pub mod watch;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::{GlobalArgs, KeysCommand};
use crate::auth::Principal;
use crate::crypto::{KeySource, SecretKey, sealed};
use crate::db::{AsyncPgConnection, credentials_key};

/// The key file's name in the data directory.
pub const SECRET_KEY_FILE: &str = "secret-key";
/// Where `keys rotate` takes the new key from when the keys come from `OBLIQUE_SECRET_KEY`.
pub const NEW_SECRET_KEY_ENV: &str = "OBLIQUE_NEW_SECRET_KEY";

/// `OBLIQUE_SECRET_KEY` when set, else the key file (`--secret-key-file`, or in the data dir).
pub fn key_source(global: &GlobalArgs) -> KeySource {
    let file = global
        .secret_key_file
        .clone()
        .unwrap_or_else(|| global.data_dir.join(SECRET_KEY_FILE));
    KeySource::resolve(&file)
}

pub async fn run(
    conn: &mut AsyncPgConnection,
    global: &GlobalArgs,
    command: KeysCommand,
) -> anyhow::Result<()> {
    let source = key_source(global);
    match command {
        KeysCommand::Rotate { new_key_file } => {
            let new_key = new_key(new_key_file)?;
            let rotation =
                rotate::rotate(conn, &source, new_key, &Principal::command_line()).await?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "Rotated the credentials key: {} -> {}; {} integration credential(s) re-encrypted.",
                rotation
                    .previous
                    .map_or_else(|| "(none recorded)".to_string(), |id| id.to_string()),
                rotation.current,
                rotation.reencrypted
            )?;
            match &rotation.source {
                KeySource::File(path) => writeln!(
                    out,
                    "{} now holds the new key first and the previous ones after it. Replicas \
                     reading this file pick it up by themselves; give replicas on other \
                     machines this file (or point --secret-key-file at one shared copy).",
                    path.display()
                )?,
                _ => writeln!(
                    out,
                    "Replicas started with the new key in OBLIQUE_SECRET_KEY (as OLD,NEW) keep \
                     syncing and seal with it within seconds; any other replica cannot open the \
                     credentials until restarted with it. Set OBLIQUE_SECRET_KEY on every \
                     replica to the new key (id {}) first{}, as NEW,OLD, and restart them one \
                     at a time; once all run with it, the old key can be dropped.",
                    rotation.current,
                    rotation.previous.map_or_else(String::new, |id| format!(
                        ", then the previous one (id {id})"
                    ))
                )?,
            }
        }
        KeysCommand::Status => {
            let mut out = std::io::stdout().lock();
            let stored = credentials_key::find(conn).await?;
            writeln!(
                out,
                "database key:  {}",
                stored.map_or_else(|| "(none recorded)".to_string(), |row| row.key_id)
            )?;
            match source.read()? {
                Some(ring) => writeln!(out, "local keys:    {} (from {source})", ring.describe())?,
                None => writeln!(out, "local keys:    none ({source} is empty)")?,
            }
            let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
            for sealed in credentials_key::all_sealed(conn).await? {
                let key = sealed::key_id_of(&sealed)
                    .map_or_else(|| "(legacy, no key id)".to_string(), |id| id.to_string());
                *by_key.entry(key).or_default() += 1;
            }
            for (key, count) in by_key {
                writeln!(out, "sealed with {key}: {count} integration(s)")?;
            }
        }
    }
    Ok(())
}

/// The new key from `--new-key-file` or `OBLIQUE_NEW_SECRET_KEY`; `None` when neither is given.
fn new_key(file: Option<PathBuf>) -> anyhow::Result<Option<SecretKey>> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        return SecretKey::parse(&text)
            .map(Some)
            .with_context(|| format!("reading the new key from {}", path.display()));
    }
    match std::env::var(NEW_SECRET_KEY_ENV) {
        Ok(text) if !text.trim().is_empty() => SecretKey::parse(&text)
            .map(Some)
            .with_context(|| format!("reading the new key from {NEW_SECRET_KEY_ENV}")),
        _ => Ok(None),
    }
}
