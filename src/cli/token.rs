//! `oblique token …`: tokens are managed from the machine, not over the API, so that the first
//! admin token can exist before anyone can call.

use std::io::Write;
use std::path::Path;

use secrecy::ExposeSecret;

use super::{TokenCommand, admin_token_file};
use crate::auth::{Principal, Role, token};
use crate::db::{AsyncPgConnection, tokens};

/// Runs a token command; `data_dir` holds the first admin token's file, which a second admin
/// token retires.
pub async fn run(
    conn: &mut AsyncPgConnection,
    data_dir: &Path,
    command: TokenCommand,
) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { name, role } => {
            let secret = token::create(conn, &name, role, &Principal::command_line()).await?;
            tracing::info!(name, %role, "token created");
            // The token alone on stdout, so scripts can capture it: TOKEN=$(oblique token create …)
            writeln!(std::io::stdout(), "{}", secret.expose_secret())?;
            if role == Role::Admin {
                admin_token_file::retire_when_superseded(conn, data_dir).await?;
            }
        }
        TokenCommand::List => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<32} {:<8} {:<25} {:<25} REVOKED",
                "NAME", "ROLE", "CREATED", "LAST USED"
            )?;
            for row in tokens::list(conn).await? {
                let time = |at: Option<chrono::DateTime<chrono::Utc>>| {
                    at.map(|at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                        .unwrap_or_else(|| "-".into())
                };
                writeln!(
                    out,
                    "{:<32} {:<8} {:<25} {:<25} {}",
                    row.name,
                    row.role,
                    time(Some(row.created_at)),
                    time(row.last_used_at),
                    time(row.revoked_at)
                )?;
            }
        }
        TokenCommand::Revoke { name } => {
            token::revoke(conn, &name, &Principal::command_line()).await?;
            tracing::info!(name, "token revoked");
        }
    }
    Ok(())
}
