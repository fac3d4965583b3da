//! Between messages and domain values: id parsing, timestamps, and rows to messages.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use prost_types::{Struct, Timestamp, Value, value::Kind};
use uuid::Uuid;

use super::convert_values;
use crate::connectors::{IntegrationKind, Setup};
use crate::domain::accounts::AccountWithAttributes;
use crate::domain::audit::AuditEventRow;
use crate::domain::integrations::IntegrationView;
use crate::domain::resources::ResourceRow;
use crate::domain::runs::{EventKind, SyncEvent, SyncRunRow};
use crate::error::{AppError, AppResult};
use crate::model::run_stats::{ChangeCounts, RunStats};
use crate::model::{RunPhase, RunState, RunTrigger};
use crate::pb;

/// A required UUID field.
pub fn parse_id(field: &str, text: &str) -> AppResult<Uuid> {
    if text.is_empty() {
        return Err(AppError::invalid(field, "is required"));
    }
    Uuid::try_parse(text).map_err(|_| AppError::invalid(field, "must be a UUID"))
}

/// An optional UUID field: empty means absent.
pub fn parse_optional_id(field: &str, text: &str) -> AppResult<Option<Uuid>> {
    if text.is_empty() {
        return Ok(None);
    }
    parse_id(field, text).map(Some)
}

pub fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

pub fn optional_timestamp(at: Option<DateTime<Utc>>) -> Option<Timestamp> {
    at.map(timestamp)
}

pub fn parse_timestamp(field: &str, at: &Timestamp) -> AppResult<DateTime<Utc>> {
    u32::try_from(at.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(at.seconds, nanos))
        .ok_or_else(|| AppError::invalid(field, "is not a valid timestamp"))
}

pub fn integration(view: IntegrationView) -> pb::Integration {
    let row = view.row;
    let config: HashMap<String, String> = match row.config {
        serde_json::Value::Object(map) => map
            .into_iter()
            .map(|(key, value)| match value {
                serde_json::Value::String(text) => (key, text),
                other => (key, other.to_string()),
            })
            .collect(),
        _ => HashMap::new(),
    };
    let status = if row.deleted_at.is_some() {
        pb::IntegrationStatus::Deleted
    } else {
        pb::IntegrationStatus::Active
    };
    let warnings = setup_warnings(&row.integration_type, &config);
    pb::Integration {
        id: row.id.to_string(),
        r#type: row.integration_type,
        name: row.name,
        status: status.into(),
        config,
        credentials_set: row.credentials_ciphertext.is_some(),
        create_resources_for_new_teams: row.create_resources_for_new_teams,
        sync_interval_seconds: row.sync_interval_seconds,
        max_deletion_percent: row.max_deletion_percent,
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
        deleted_at: optional_timestamp(row.deleted_at),
        last_sync_run: view.last_sync_run.map(sync_run),
        resource_count: view.resource_count,
        account_count: view.account_count,
        // Input only: secrets never go out.
        credentials: HashMap::new(),
        warnings,
        link_users_by: row.link_users_by.as_str().into(),
    }
}

/// The connector's warnings about a stored setup; the config alone decides them.
fn setup_warnings(integration_type: &str, config: &HashMap<String, String>) -> Vec<String> {
    let Some(kind) = IntegrationKind::from_name(integration_type) else {
        return Vec::new();
    };
    let setup = Setup {
        config: config.clone().into_iter().collect(),
        credentials: Default::default(),
    };
    kind.setup_warnings(&setup)
}

/// `last_pulled_at` is the integration's last successful pull: every live resource was in it.
pub fn resource(row: ResourceRow, last_pulled_at: Option<DateTime<Utc>>) -> pb::Resource {
    pb::Resource {
        id: row.id.to_string(),
        integration_id: row.integration_id.to_string(),
        external_id: row.external_id,
        resource_type: row.resource_type.to_string(),
        name: row.name,
        description: row.description,
        sync_mode: convert_values::sync_mode(row.sync_mode).into(),
        deleted: row.deleted_at.is_some(),
        last_synced_at: optional_timestamp(last_pulled_at.filter(|_| row.deleted_at.is_none())),
        deleted_at: optional_timestamp(row.deleted_at),
        propagation_status: convert_values::propagation_status(row.propagation_status).into(),
        propagation_error: row.propagation_error.unwrap_or_default(),
        team_id: row.team_id.map(|id| id.to_string()).unwrap_or_default(),
    }
}

/// `last_pulled_at` as for [`resource`].
pub fn account(item: AccountWithAttributes, last_pulled_at: Option<DateTime<Utc>>) -> pb::Account {
    let row = item.account;
    pb::Account {
        id: row.id.to_string(),
        integration_id: row.integration_id.to_string(),
        external_id: row.external_id,
        username: row.username,
        email: row.email.unwrap_or_default(),
        display_name: row.display_name,
        user_id: row.user_id.map(|id| id.to_string()).unwrap_or_default(),
        attributes: item
            .attributes
            .into_iter()
            .map(|attribute| pb::UserAttribute {
                name: attribute.name,
                values: attribute.attribute_values.into_iter().flatten().collect(),
            })
            .collect(),
        deleted: row.deleted_at.is_some(),
        last_synced_at: optional_timestamp(last_pulled_at.filter(|_| row.deleted_at.is_none())),
        deleted_at: optional_timestamp(row.deleted_at),
        link_conflict: row.link_conflict.unwrap_or_default(),
    }
}

pub fn sync_run(row: SyncRunRow) -> pb::SyncRun {
    pb::SyncRun {
        id: row.id.to_string(),
        integration_id: row.integration_id.to_string(),
        trigger: sync_trigger(row.trigger).into(),
        state: run_state(row.state).into(),
        phase: sync_phase(row.phase).into(),
        stats: serde_json::from_value(row.stats).ok().map(sync_stats),
        error: row.error.unwrap_or_default(),
        dry_run: row.dry_run,
        requested_by: row.requested_by,
        created_at: Some(timestamp(row.created_at)),
        started_at: optional_timestamp(row.started_at),
        finished_at: optional_timestamp(row.finished_at),
        allow_mass_deletion: row.allow_mass_deletion,
    }
}

pub fn sync_stats(stats: RunStats) -> pb::SyncStats {
    let counts = |c: ChangeCounts| pb::ChangeCounts {
        created: c.created,
        updated: c.updated,
        deleted: c.deleted,
        unchanged: c.unchanged,
    };
    pb::SyncStats {
        accounts: Some(counts(stats.accounts)),
        attributes: Some(counts(stats.attributes)),
        resources: Some(counts(stats.resources)),
        access: Some(counts(stats.access)),
        errors: stats.errors,
        push: Some(counts(stats.push)),
    }
}

// Run values only go out: no request carries a state, trigger or phase, so none is ever read
// from a message (and UNSPECIFIED never comes in).

fn sync_trigger(trigger: RunTrigger) -> pb::SyncTrigger {
    match trigger {
        RunTrigger::Created => pb::SyncTrigger::Created,
        RunTrigger::Scheduled => pb::SyncTrigger::Scheduled,
        RunTrigger::Manual => pb::SyncTrigger::Manual,
        RunTrigger::Team => pb::SyncTrigger::Team,
        RunTrigger::Grant => pb::SyncTrigger::Grant,
    }
}

fn run_state(state: RunState) -> pb::SyncRunState {
    match state {
        RunState::Queued => pb::SyncRunState::Queued,
        RunState::Running => pb::SyncRunState::Running,
        RunState::Succeeded => pb::SyncRunState::Succeeded,
        RunState::Failed => pb::SyncRunState::Failed,
        RunState::Cancelled => pb::SyncRunState::Cancelled,
    }
}

/// A run between phases (queued, or ended) has none: UNSPECIFIED is the message's "no phase".
fn sync_phase(phase: Option<RunPhase>) -> pb::SyncPhase {
    match phase {
        Some(RunPhase::Accounts) => pb::SyncPhase::Accounts,
        Some(RunPhase::Resources) => pb::SyncPhase::Resources,
        Some(RunPhase::Access) => pb::SyncPhase::Access,
        Some(RunPhase::Push) => pb::SyncPhase::Push,
        None => pb::SyncPhase::Unspecified,
    }
}

pub fn sync_event(event: &SyncEvent) -> pb::SyncEvent {
    let kind = match event.kind {
        EventKind::StateChanged => pb::SyncEventKind::StateChanged,
        EventKind::PhaseStarted => pb::SyncEventKind::PhaseStarted,
        EventKind::Progress => pb::SyncEventKind::Progress,
        EventKind::Warning => pb::SyncEventKind::Warning,
        EventKind::PhaseFinished => pb::SyncEventKind::PhaseFinished,
        EventKind::Finished => pb::SyncEventKind::Finished,
    };
    pb::SyncEvent {
        run_id: event.run_id.to_string(),
        integration_id: event.integration_id.to_string(),
        seq: event.seq,
        at: Some(timestamp(event.at)),
        kind: kind.into(),
        phase: sync_phase(event.phase).into(),
        processed: event.processed,
        total: event.total,
        stats: event.stats.map(sync_stats),
        state: run_state(event.state).into(),
        message: event.message.clone(),
    }
}

pub fn audit_event(row: AuditEventRow) -> pb::AuditEvent {
    pb::AuditEvent {
        id: row.id.to_string(),
        at: Some(timestamp(row.at)),
        actor: Some(pb::AuditActor {
            name: row.actor_name,
            role: row.actor_role.as_str().to_owned(),
        }),
        action: row.action.to_string(),
        integration_id: row
            .integration_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        resource_id: row.resource_id.map(|id| id.to_string()).unwrap_or_default(),
        details: match json_to_value(row.details).kind {
            Some(Kind::StructValue(details)) => Some(details),
            _ => None,
        },
    }
}

fn json_to_value(json: serde_json::Value) -> Value {
    let kind = match json {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(b),
        serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        serde_json::Value::String(s) => Kind::StringValue(s),
        serde_json::Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.into_iter().map(json_to_value).collect(),
        }),
        serde_json::Value::Object(map) => Kind::StructValue(Struct {
            fields: map
                .into_iter()
                .map(|(key, value)| (key, json_to_value(value)))
                .collect(),
        }),
    };
    Value { kind: Some(kind) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_their_field() {
        let error = parse_id("id", "nope").unwrap_err();
        assert_eq!(error.to_string(), "id: must be a UUID");
        assert_eq!(
            parse_id("id", "").unwrap_err().to_string(),
            "id: is required"
        );
        assert_eq!(parse_optional_id("resource_id", "").unwrap(), None);
    }

    #[test]
    fn timestamps_round_trip() {
        let now = Utc::now();
        assert_eq!(parse_timestamp("at", &timestamp(now)).unwrap(), now);
        let bad = Timestamp {
            seconds: 0,
            nanos: -1,
        };
        assert!(parse_timestamp("at", &bad).is_err());
    }

    #[test]
    fn json_details_become_a_struct() {
        let value = json_to_value(serde_json::json!({"a": [1, "x", null], "b": {"c": true}}));
        let Some(Kind::StructValue(details)) = value.kind else {
            panic!("not a struct")
        };
        assert_eq!(details.fields.len(), 2);
    }
}
