//! CreateIntegration and UpdateIntegration requests turned into checked domain values; every
//! refusal names the field at fault.

use super::convert::parse_id;
use crate::connectors::{IntegrationKind, Setup};
use crate::credentials::Credentials;
use crate::domain::integrations::{
    DEFAULT_MAX_DELETION_PERCENT, DEFAULT_SYNC_INTERVAL_SECONDS, IntegrationUpdate,
    NewIntegrationInput,
};
use crate::error::{AppError, AppResult};
use crate::model::LinkUsersBy;
use crate::pb;

const MAX_NAME_CHARS: usize = 200;
const MAX_SYNC_INTERVAL_SECONDS: i32 = 30 * 24 * 3600;
const MAX_REQUEST_ID_CHARS: usize = 200;
/// A setup value (a host, a filter, a CA certificate in PEM) is never longer than this.
const MAX_SETUP_VALUE_BYTES: usize = 8 * 1024;

pub fn new_integration_input(
    request: pb::CreateIntegrationRequest,
) -> AppResult<NewIntegrationInput> {
    let kind = parse_kind(&request.r#type)?;
    check_setup_sizes("config", &request.config)?;
    check_setup_sizes("credentials", &request.credentials)?;
    let setup = Setup::check(
        kind.setup_fields(),
        request.config.into_iter().collect(),
        request.credentials.into_iter().collect(),
    )?;
    super::text::refuse_nul("request_id", &request.request_id)?;
    let request_id = Some(request.request_id.trim().to_string()).filter(|id| !id.is_empty());
    if request_id
        .as_ref()
        .is_some_and(|id| id.chars().count() > MAX_REQUEST_ID_CHARS)
    {
        return Err(AppError::invalid(
            "request_id",
            format!("must be at most {MAX_REQUEST_ID_CHARS} characters"),
        ));
    }
    Ok(NewIntegrationInput {
        kind,
        name: parse_name(&request.name)?,
        setup,
        create_resources_for_new_teams: request.create_resources_for_new_teams,
        sync_interval_seconds: match request.sync_interval_seconds {
            0 => DEFAULT_SYNC_INTERVAL_SECONDS,
            seconds => parse_sync_interval(seconds)?,
        },
        max_deletion_percent: match request.max_deletion_percent {
            None => DEFAULT_MAX_DELETION_PERCENT,
            Some(percent) => parse_max_deletion_percent(percent)?,
        },
        link_users_by: match request.link_users_by.as_str() {
            "" => None,
            name => Some(parse_link_users_by("link_users_by", name)?),
        },
        request_id,
    })
}

/// The paths an `update_mask` may name.
const UPDATABLE: &str = "name, config, credentials, create_resources_for_new_teams, \
                         sync_interval_seconds, max_deletion_percent, link_users_by";

pub fn integration_update(
    request: pb::UpdateIntegrationRequest,
) -> AppResult<(uuid::Uuid, IntegrationUpdate)> {
    let integration = request
        .integration
        .ok_or_else(|| AppError::invalid("integration", "is required"))?;
    let id = parse_id("integration.id", &integration.id)?;
    let paths = request
        .update_mask
        .map(|mask| mask.paths)
        .unwrap_or_default();
    if paths.is_empty() {
        return Err(AppError::invalid(
            "update_mask",
            format!("must name the fields to change ({UPDATABLE})"),
        ));
    }
    let mut update = IntegrationUpdate::default();
    for path in paths {
        match path.as_str() {
            "name" => update.name = Some(parse_name(&integration.name)?),
            "config" => {
                check_setup_sizes("integration.config", &integration.config)?;
                update.config = Some(integration.config.clone().into_iter().collect())
            }
            "credentials" => {
                check_setup_sizes("integration.credentials", &integration.credentials)?;
                update.credentials = Some(
                    integration
                        .credentials
                        .clone()
                        .into_iter()
                        .collect::<Credentials>(),
                )
            }
            "create_resources_for_new_teams" => {
                update.create_resources_for_new_teams =
                    Some(integration.create_resources_for_new_teams)
            }
            "sync_interval_seconds" => {
                update.sync_interval_seconds =
                    Some(parse_sync_interval(integration.sync_interval_seconds)?)
            }
            "max_deletion_percent" => {
                update.max_deletion_percent = Some(parse_max_deletion_percent(
                    integration.max_deletion_percent,
                )?)
            }
            "link_users_by" => {
                update.link_users_by = Some(parse_link_users_by(
                    "integration.link_users_by",
                    &integration.link_users_by,
                )?)
            }
            other => {
                return Err(AppError::invalid(
                    "update_mask",
                    format!("{other:?} cannot be updated; the fields that can: {UPDATABLE}"),
                ));
            }
        }
    }
    Ok((id, update))
}

/// Refuses an oversized setup value before anything else reads it, naming it (never showing it:
/// it may be a secret).
fn check_setup_sizes(
    map_name: &str,
    values: &std::collections::HashMap<String, String>,
) -> AppResult<()> {
    for (key, value) in values {
        super::text::refuse_nul(map_name, key)?;
        super::text::refuse_nul(&format!("{map_name}.{key}"), value)?;
        if key.len() > MAX_NAME_CHARS {
            return Err(AppError::invalid(
                map_name,
                format!("a key is longer than {MAX_NAME_CHARS} characters"),
            ));
        }
        if value.len() > MAX_SETUP_VALUE_BYTES {
            return Err(AppError::invalid(
                format!("{map_name}.{key}"),
                format!("must be at most {MAX_SETUP_VALUE_BYTES} bytes"),
            ));
        }
    }
    Ok(())
}

fn parse_kind(name: &str) -> AppResult<IntegrationKind> {
    if name.is_empty() {
        return Err(AppError::invalid("type", "is required"));
    }
    IntegrationKind::from_name(name).ok_or_else(|| {
        let known: Vec<_> = IntegrationKind::ALL
            .iter()
            .map(|kind| kind.name())
            .collect();
        AppError::invalid(
            "type",
            format!(
                "unknown integration type {name:?} (known: {})",
                known.join(", ")
            ),
        )
    })
}

fn parse_name(name: &str) -> AppResult<String> {
    super::text::refuse_nul("name", name)?;
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "is required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::invalid(
            "name",
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(name.to_string())
}

fn parse_sync_interval(seconds: i32) -> AppResult<i32> {
    if !(1..=MAX_SYNC_INTERVAL_SECONDS).contains(&seconds) {
        return Err(AppError::invalid(
            "sync_interval_seconds",
            format!("must be between 1 and {MAX_SYNC_INTERVAL_SECONDS}"),
        ));
    }
    Ok(seconds)
}

fn parse_link_users_by(field: &str, name: &str) -> AppResult<LinkUsersBy> {
    LinkUsersBy::parse(name).ok_or_else(|| {
        AppError::invalid(
            field,
            format!("must be \"email\", \"username\" or \"none\", not {name:?}"),
        )
    })
}

fn parse_max_deletion_percent(percent: i32) -> AppResult<i32> {
    if !(0..=100).contains(&percent) {
        return Err(AppError::invalid(
            "max_deletion_percent",
            "must be between 0 and 100",
        ));
    }
    Ok(percent)
}
