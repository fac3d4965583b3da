//! Creating an integration: its setup checked against the system, then the row, its initial
//! sync run and the audit event in one transaction.

use serde_json::json;
use uuid::Uuid;

use super::read::view;
use super::{IntegrationView, NAME_CONSTRAINT, duplicate_name, seal};
use crate::connectors::{IntegrationKind, Setup};
use crate::context::AppContext;
use crate::db::audit::{self, AuditEntry};
use crate::db::integrations as store;
use crate::db::models::{NewIntegration, NewSyncRun};
use crate::db::retry::transaction_retrying;
use crate::db::runs;
use crate::error::AppResult;
use crate::model::{AuditAction, LinkUsersBy, Principal, RunTrigger};

pub const DEFAULT_SYNC_INTERVAL_SECONDS: i32 = 3600;
pub const DEFAULT_MAX_DELETION_PERCENT: i32 = 20;

/// The unique key that makes a create with a request id answer its first result again.
const REQUEST_ID_CONSTRAINT: &str = "integrations_create_request_id_key";

/// A create request whose fields were each checked by the api layer.
#[derive(Debug)]
pub struct NewIntegrationInput {
    pub kind: IntegrationKind,
    pub name: String,
    pub setup: Setup,
    pub create_resources_for_new_teams: bool,
    pub sync_interval_seconds: i32,
    pub max_deletion_percent: i32,
    /// `None`: the type's default.
    pub link_users_by: Option<LinkUsersBy>,
    pub request_id: Option<String>,
}
/// Checks the setup against the system, then saves the integration, its initial sync run and the
/// audit event in one transaction. A retry with the same request id returns the first result.
pub async fn create(
    ctx: &AppContext,
    actor: &Principal,
    input: NewIntegrationInput,
) -> AppResult<IntegrationView> {
    let mut conn = ctx.pool.get().await?;
    if let Some(request_id) = &input.request_id
        && let Some(existing) = store::find_by_request_id(&mut conn, request_id).await?
    {
        return view(&mut conn, existing).await;
    }
    drop(conn);
    // Connecting can take seconds: no connection is held meanwhile.
    let mut input = input;
    input.setup = input.kind.validate(input.setup).await?;

    let id = Uuid::now_v7();
    let new = NewIntegration {
        id,
        integration_type: input.kind.name().to_string(),
        name: input.name.clone(),
        config: json!(input.setup.config),
        credentials_ciphertext: seal(ctx, id, &input.setup.credentials)?,
        create_resources_for_new_teams: input.create_resources_for_new_teams,
        sync_interval_seconds: input.sync_interval_seconds,
        max_deletion_percent: input.max_deletion_percent,
        create_request_id: input.request_id.clone(),
        link_users_by: input
            .link_users_by
            .unwrap_or_else(|| input.kind.default_link_users_by()),
    };
    let mut conn = ctx.pool.get().await?;
    let saved = transaction_retrying(&mut conn, "create integration", async |conn| {
        let row = store::insert(conn, &new).await?;
        let run = runs::enqueue(
            conn,
            &NewSyncRun {
                id: Uuid::now_v7(),
                integration_id: row.id,
                trigger: RunTrigger::Created,
                dry_run: false,
                allow_mass_deletion: false,
                requested_by: &actor.name,
            },
        )
        .await?;
        audit::record(
            conn,
            AuditEntry {
                actor,
                action: AuditAction::IntegrationCreate,
                integration_id: Some(row.id),
                resource_id: None,
                details: json!({
                    "type": row.integration_type,
                    "name": row.name,
                    "config": row.config,
                    "credentials_set": row.credentials_ciphertext.is_some(),
                    "sync_interval_seconds": row.sync_interval_seconds,
                    "create_resources_for_new_teams": row.create_resources_for_new_teams,
                    "max_deletion_percent": row.max_deletion_percent,
                    "link_users_by": row.link_users_by.as_str(),
                    "initial_sync_run_id": run.id,
                }),
            },
        )
        .await?;
        Ok(row)
    })
    .await;
    match saved {
        Ok(row) => {
            tracing::info!(integration_id = %row.id, name = %row.name, r#type = %row.integration_type, "integration created");
            view(&mut conn, row).await
        }
        Err(error) if error.is_unique_violation_on(REQUEST_ID_CONSTRAINT) => {
            // A concurrent retry with the same request id won the race: answer with its result.
            let request_id = input.request_id.as_deref().unwrap_or_default();
            match store::find_by_request_id(&mut conn, request_id).await? {
                Some(existing) => view(&mut conn, existing).await,
                None => Err(error),
            }
        }
        Err(error) if error.is_unique_violation_on(NAME_CONSTRAINT) => {
            Err(duplicate_name(&input.name))
        }
        Err(other) => Err(other),
    }
}
