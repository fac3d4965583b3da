//! The first admin token's file, `<data dir>/admin-token`: it exists so that someone can call at
//! all, and is deleted once a second admin token exists, so that a copy of an admin secret does
//! not lie on disk for longer than it is needed. The token itself stays valid until revoked.

use std::path::Path;

use anyhow::Context;

use crate::auth::Role;
use crate::db::{AsyncPgConnection, tokens};

/// The first admin token's file, in the data directory.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// Deletes the file when two or more active admin tokens exist; says so in the log.
pub async fn retire_when_superseded(
    conn: &mut AsyncPgConnection,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let path = data_dir.join(ADMIN_TOKEN_FILE);
    if !path.exists() {
        return Ok(());
    }
    let admins = tokens::count_active_with_role(conn, Role::Admin.as_str()).await?;
    if admins < 2 {
        return Ok(());
    }
    std::fs::remove_file(&path).with_context(|| format!("deleting {}", path.display()))?;
    tracing::info!(
        path = %path.display(),
        admins,
        "deleted the first admin token's file: another admin token exists (the token stays valid until revoked)"
    );
    Ok(())
}
