//! Creating, changing and removing integrations. Each change and its audit event commit together.

use std::collections::BTreeMap;

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde_json::json;
use uuid::Uuid;

use crate::connectors::{IntegrationKind, Setup};
use crate::context::AppContext;
use crate::credentials::Credentials;
use crate::db::audit::{self, AuditEntry};
use crate::db::integrations::{self as store, IntegrationView};
use crate::db::models::{IntegrationChanges, IntegrationRow, NewIntegration, NewSyncRun};
use crate::db::retry::transaction_retrying;
use crate::db::{access, accounts, grants, propagations, resources, runs};
use crate::engine::connector::{integration_kind, open_credentials};
use crate::error::{AppError, AppResult};
use crate::model::Principal;
use crate::model::{LinkUsersBy, RunTrigger};

pub const DEFAULT_SYNC_INTERVAL_SECONDS: i32 = 3600;
pub const DEFAULT_MAX_DELETION_PERCENT: i32 = 20;

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

/// The fields an update names; `None` leaves one as it is.
#[derive(Debug, Default)]
pub struct IntegrationUpdate {
    pub name: Option<String>,
    pub config: Option<BTreeMap<String, String>>,
    pub credentials: Option<Credentials>,
    pub create_resources_for_new_teams: Option<bool>,
    pub sync_interval_seconds: Option<i32>,
    pub max_deletion_percent: Option<i32>,
    pub link_users_by: Option<LinkUsersBy>,
}

#[derive(Debug)]
pub struct Deletion {
    pub integration: IntegrationView,
    pub resources_soft_deleted: usize,
    pub accounts_soft_deleted: usize,
    pub cancelled_run_id: Option<Uuid>,
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
    input.kind.validate(&input.setup).await?;

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
                action: "integration.create",
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

/// Applies `update`; a new config or new credentials are checked against the system first.
pub async fn update(
    ctx: &AppContext,
    actor: &Principal,
    id: Uuid,
    update: IntegrationUpdate,
) -> AppResult<IntegrationView> {
    let mut conn = ctx.pool.get().await?;
    let current = find_active(&mut conn, id).await?;
    drop(conn);

    let mut changes = IntegrationChanges {
        name: update.name.clone(),
        create_resources_for_new_teams: update.create_resources_for_new_teams,
        sync_interval_seconds: update.sync_interval_seconds,
        max_deletion_percent: update.max_deletion_percent,
        link_users_by: update.link_users_by,
        updated_at: Some(Utc::now()),
        ..Default::default()
    };
    if update.config.is_some() || update.credentials.is_some() {
        let kind = integration_kind(&current)?;
        let stored_config: BTreeMap<String, String> =
            serde_json::from_value(current.config.clone())
                .map_err(|e| anyhow::anyhow!("stored config of {id} is not a string map: {e}"))?;
        let config = update
            .config
            .clone()
            .unwrap_or_else(|| stored_config.clone());
        let credentials = match update.credentials.clone() {
            Some(credentials) => credentials,
            None => {
                ensure_same_credential_destination(kind, &stored_config, &config)?;
                open_credentials(&ctx.secret_key, &current)?
            }
        };
        let setup = Setup::check(kind.setup_fields(), config, credentials)?;
        kind.validate(&setup).await?;
        changes.config = Some(json!(setup.config));
        changes.credentials_ciphertext = Some(seal(ctx, id, &setup.credentials)?);
    }

    let changed_fields = changed_field_names(&update);
    let mut conn = ctx.pool.get().await?;
    let result = transaction_retrying(&mut conn, "update integration", async |conn| {
        // Re-checked under the row lock: a delete may have landed since the first read.
        find_active_for_update(conn, id).await?;
        if update.link_users_by == Some(LinkUsersBy::None) {
            ensure_nothing_pushed(conn, id).await?;
        }
        let row = store::update(conn, id, &changes).await?;
        audit::record(
            conn,
            AuditEntry {
                actor,
                action: "integration.update",
                integration_id: Some(id),
                resource_id: None,
                details: json!({
                    "fields": changed_fields,
                    "name": row.name,
                    "config": row.config,
                    "create_resources_for_new_teams": row.create_resources_for_new_teams,
                    "sync_interval_seconds": row.sync_interval_seconds,
                    "max_deletion_percent": row.max_deletion_percent,
                    "link_users_by": row.link_users_by.as_str(),
                }),
            },
        )
        .await?;
        Ok(row)
    })
    .await;
    match result {
        Ok(row) => view(&mut conn, row).await,
        Err(error) if error.is_unique_violation_on(NAME_CONSTRAINT) => {
            Err(duplicate_name(update.name.as_deref().unwrap_or_default()))
        }
        Err(other) => Err(other),
    }
}

/// Soft deletes the integration with all its resources and accounts and cancels its active run.
/// Refused while push-mode resources exist, unless `force`.
pub async fn delete(
    ctx: &AppContext,
    actor: &Principal,
    id: Uuid,
    force: bool,
) -> AppResult<Deletion> {
    let mut conn = ctx.pool.get().await?;
    // Removal touches rows that syncs, pushes and grants of the integration also lock; when
    // PostgreSQL breaks a deadlock by aborting this transaction, it is simply run again.
    let deletion = transaction_retrying(&mut conn, "delete integration", async |conn| {
        find_active_for_update(conn, id).await?;
        let push_mode = resources::count_push_mode(conn, id).await?;
        if push_mode > 0 && !force {
            return Err(AppError::FailedPrecondition(format!(
                "integration {id} has {push_mode} push-mode resource(s); stop syncing \
                 them first (SetResourceSyncMode to SYNC_MODE_PULL) or delete with force"
            )));
        }
        let now = Utc::now();
        let cancelled = runs::cancel_active(conn, id, "integration deleted").await?;
        let row = store::mark_deleted(conn, id, now).await?;
        let resources_soft_deleted = resources::soft_delete_for_integration(conn, id, now).await?;
        let accounts_soft_deleted = accounts::soft_delete_for_integration(conn, id, now).await?;
        access::close_for_integration(conn, id, now).await?;
        // Kept as history; nothing is pushed for them again, retries included.
        let grants_soft_deleted = grants::soft_delete_for_integration(conn, id, now).await?;
        propagations::forget_integration(conn, id).await?;
        audit::record(
            conn,
            AuditEntry {
                actor,
                action: "integration.delete",
                integration_id: Some(id),
                resource_id: None,
                details: json!({
                    "name": row.name,
                    "force": force,
                    "push_mode_resources": push_mode,
                    "resources_soft_deleted": resources_soft_deleted,
                    "accounts_soft_deleted": accounts_soft_deleted,
                    "grants_soft_deleted": grants_soft_deleted,
                    "cancelled_run_id": cancelled.as_ref().map(|run| run.id),
                }),
            },
        )
        .await?;
        Ok((
            row,
            resources_soft_deleted,
            accounts_soft_deleted,
            cancelled,
        ))
    })
    .await?;
    let (row, resources_soft_deleted, accounts_soft_deleted, cancelled) = deletion;
    tracing::info!(integration_id = %id, resources_soft_deleted, accounts_soft_deleted, "integration deleted");
    Ok(Deletion {
        integration: view(&mut conn, row).await?,
        resources_soft_deleted,
        accounts_soft_deleted,
        cancelled_run_id: cancelled.map(|run| run.id),
    })
}

pub async fn get(ctx: &AppContext, id: Uuid) -> AppResult<IntegrationView> {
    let mut conn = ctx.pool.get().await?;
    let row = store::find(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("integration {id}")))?;
    view(&mut conn, row).await
}

async fn view(conn: &mut AsyncPgConnection, row: IntegrationRow) -> AppResult<IntegrationView> {
    let mut views = store::with_details(conn, vec![row]).await?;
    views
        .pop()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("integration view vanished")))
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

/// Refuses a config that would send the stored credentials somewhere else (or less protected)
/// than where they were checked: otherwise anyone holding an admin token could point an
/// integration at a server of their own and read the password the API never returns.
fn ensure_same_credential_destination(
    kind: IntegrationKind,
    stored: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> AppResult<()> {
    let effective = |config: &BTreeMap<String, String>, name: &str| -> Option<String> {
        let given = config.get(name).map(|value| value.trim().to_string());
        let default = || {
            kind.setup_fields()
                .iter()
                .find(|field| field.name == name)
                .and_then(|field| field.default)
                .map(str::to_string)
        };
        given.filter(|value| !value.is_empty()).or_else(default)
    };
    let changed = kind
        .credential_destination_fields()
        .iter()
        .find(|name| effective(stored, name) != effective(new, name));
    match changed {
        Some(name) => Err(AppError::invalid(
            "credentials",
            format!(
                "must be given again when config.{name} changes: stored credentials are only \
                 ever sent to the endpoint they were checked against"
            ),
        )),
        None => Ok(()),
    }
}

/// `none` unlinks every account: a push-mode resource would then lose every member.
async fn ensure_nothing_pushed(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<()> {
    let push_mode = resources::count_push_mode(conn, id).await?;
    if push_mode > 0 {
        return Err(AppError::FailedPrecondition(format!(
            "integration {id} has {push_mode} push-mode resource(s): with link_users_by none \
             no account is anyone's and pushing would remove every member; stop syncing them \
             first"
        )));
    }
    Ok(())
}

fn changed_field_names(update: &IntegrationUpdate) -> Vec<&'static str> {
    [
        ("name", update.name.is_some()),
        ("config", update.config.is_some()),
        ("credentials", update.credentials.is_some()),
        (
            "create_resources_for_new_teams",
            update.create_resources_for_new_teams.is_some(),
        ),
        (
            "sync_interval_seconds",
            update.sync_interval_seconds.is_some(),
        ),
        (
            "max_deletion_percent",
            update.max_deletion_percent.is_some(),
        ),
        ("link_users_by", update.link_users_by.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, changed)| changed.then_some(name))
    .collect()
}

/// The unique index that keeps live integrations' names apart.
const NAME_CONSTRAINT: &str = "integrations_active_name";
/// The unique key that makes a create with a request id answer its first result again.
const REQUEST_ID_CONSTRAINT: &str = "integrations_create_request_id_key";

fn duplicate_name(name: &str) -> AppError {
    AppError::AlreadyExists(format!("an integration named {name:?} already exists"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_a_new_destination_needs_the_credentials_again() {
        let kind = IntegrationKind::Postgres;
        let stored = config(&[("host", "db"), ("port", "5432"), ("username", "u")]);
        let same = |new: &[(&str, &str)]| {
            ensure_same_credential_destination(kind, &stored, &config(new)).is_ok()
        };
        // A default written out, or left out, is the same destination; other fields are free.
        assert!(same(&[
            ("host", "db"),
            ("username", "u"),
            ("role_pattern", "x%")
        ]));
        assert!(same(&[
            ("host", " db "),
            ("port", "5432"),
            ("username", "u")
        ]));
        for moved in [
            [("host", "evil"), ("username", "u")],
            [("host", "db"), ("username", "root")],
        ] {
            let refused = ensure_same_credential_destination(kind, &stored, &config(&moved));
            assert!(
                matches!(refused, Err(AppError::InvalidArgument { ref field, .. }) if field == "credentials"),
                "{moved:?}: {refused:?}"
            );
        }
        assert!(!same(&[
            ("host", "db"),
            ("username", "u"),
            ("port", "6432")
        ]));
        assert!(!same(&[
            ("host", "db"),
            ("username", "u"),
            ("ca_cert", "PEM")
        ]));
        let ldap = config(&[("url", "ldaps://dir"), ("bind_dn", "cn=o")]);
        let moved = config(&[("url", "ldap://dir"), ("bind_dn", "cn=o")]);
        assert!(ensure_same_credential_destination(IntegrationKind::Ldap, &ldap, &moved).is_err());
    }
}
