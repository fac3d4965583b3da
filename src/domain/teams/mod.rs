//! Teams of Oblique users. A new team gets a resource of its own in every integration that asks
//! for one; the team's members are pushed to those resources as they join and leave.

mod create;
mod members;
mod read;

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::teams::{self as store, TeamRow};
use crate::error::{AppError, AppResult};

pub use create::{CreatedTeam, NewTeamInput, create};
pub use members::{add_member, remove_member};
pub use read::{get, list};

/// What a read or a change of a team answers with: the row, its members and its resources.
pub use crate::db::teams::TeamDetails;

/// NOT_FOUND naming the first id that is not a user.
pub(super) async fn ensure_users(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let existing = store::existing_users(conn, ids).await?;
    match ids.iter().find(|id| !existing.contains(id)) {
        Some(missing) => Err(AppError::not_found(format!("user {missing}"))),
        None => Ok(()),
    }
}

pub(super) async fn details(conn: &mut AsyncPgConnection, row: TeamRow) -> AppResult<TeamDetails> {
    store::with_details(conn, vec![row])
        .await?
        .pop()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("team details vanished")))
}
