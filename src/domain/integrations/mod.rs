//! Integrations: creating, changing and removing them (each change and its audit event commit
//! together), and reading them back.

mod create;
mod delete;
mod read;
mod update;

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::context::AppContext;
use crate::credentials::Credentials;
use crate::db::integrations as store;
use crate::db::models::IntegrationRow;
use crate::error::{AppError, AppResult};

pub use create::{
    DEFAULT_MAX_DELETION_PERCENT, DEFAULT_SYNC_INTERVAL_SECONDS, NewIntegrationInput, create,
};
pub use delete::{Deletion, delete};
pub(crate) use read::find_row;
pub use read::{ensure_exists, get, list};
pub use update::{IntegrationUpdate, update};

/// What a read or a change of an integration answers with: the row, its counts and last run.
pub use crate::db::integrations::IntegrationView;

/// The unique index that keeps live integrations' names apart.
const NAME_CONSTRAINT: &str = "integrations_active_name";

fn duplicate_name(name: &str) -> AppError {
    AppError::AlreadyExists(format!("an integration named {name:?} already exists"))
}

async fn find_active(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<IntegrationRow> {
    ensure_active(id, store::find(conn, id).await?)
}

async fn find_active_for_update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> AppResult<IntegrationRow> {
    ensure_active(id, store::find_for_update(conn, id).await?)
}

/// The row locked as a change of its fields needs: no wait for grants in flight.
async fn find_active_for_change(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> AppResult<IntegrationRow> {
    ensure_active(id, store::find_for_change(conn, id).await?)
}

fn ensure_active(id: Uuid, row: Option<IntegrationRow>) -> AppResult<IntegrationRow> {
    let row = row.ok_or_else(|| AppError::not_found(format!("integration {id}")))?;
    if row.deleted_at.is_some() {
        return Err(AppError::FailedPrecondition(format!(
            "integration {id} is deleted"
        )));
    }
    Ok(row)
}

fn seal(ctx: &AppContext, id: Uuid, credentials: &Credentials) -> AppResult<Option<Vec<u8>>> {
    if credentials.is_empty() {
        return Ok(None);
    }
    Ok(Some(ctx.secret_key.seal(id, credentials)?))
}
