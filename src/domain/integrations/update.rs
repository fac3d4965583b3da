//! Changing an integration: a new config or new credentials are checked against the system
//! first, and never send stored credentials anywhere new.

use std::collections::BTreeMap;

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde_json::json;
use uuid::Uuid;

use super::read::view;
use super::{
    IntegrationView, NAME_CONSTRAINT, duplicate_name, find_active, find_active_for_change,
    find_active_for_update, seal,
};
use crate::connectors::{IntegrationKind, Setup};
use crate::context::AppContext;
use crate::credentials::Credentials;
use crate::db::audit::{self, AuditEntry};
use crate::db::integrations as store;
use crate::db::models::{IntegrationChanges, IntegrationRow};
use crate::db::resources;
use crate::db::retry::transaction_retrying;
use crate::engine::connector::{integration_kind, open_credentials};
use crate::error::{AppError, AppResult};
use crate::model::{AuditAction, LinkUsersBy, Principal};

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
        let setup = kind.validate(setup).await?;
        changes.config = Some(json!(setup.config));
        changes.credentials_ciphertext = Some(seal(ctx, id, &setup.credentials)?);
    }

    let changed_fields = changed_field_names(&update);
    let mut conn = ctx.pool.get().await?;
    let result = transaction_retrying(&mut conn, "update integration", async |conn| {
        // Re-checked under the row lock: a delete may have landed since the first read. Turning
        // linking off must also wait for grants in flight (they push through the links).
        let before = if update.link_users_by == Some(LinkUsersBy::None) {
            find_active_for_update(conn, id).await?
        } else {
            find_active_for_change(conn, id).await?
        };
        if update.link_users_by == Some(LinkUsersBy::None) {
            ensure_nothing_pushed(conn, id).await?;
        }
        let row = store::update(conn, id, &changes).await?;
        audit::record(
            conn,
            AuditEntry {
                actor,
                action: AuditAction::IntegrationUpdate,
                integration_id: Some(id),
                resource_id: None,
                // What it was and what it became, so the log alone answers "who changed what
                // from what"; credentials are never in either (only that they changed).
                details: json!({
                    "fields": changed_fields,
                    "before": audited_settings(&before),
                    "after": audited_settings(&row),
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

/// The settings an update's audit event shows, before and after.
fn audited_settings(row: &IntegrationRow) -> serde_json::Value {
    json!({
        "name": row.name,
        "config": row.config,
        "create_resources_for_new_teams": row.create_resources_for_new_teams,
        "sync_interval_seconds": row.sync_interval_seconds,
        "max_deletion_percent": row.max_deletion_percent,
        "link_users_by": row.link_users_by.as_str(),
    })
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
