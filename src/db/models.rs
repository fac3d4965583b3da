//! Rows as diesel reads and writes them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::model::{
    AuditAction, LinkUsersBy, PropagationStatus, ResourceType, Role, RunPhase, RunState,
    RunTrigger, SyncMode,
};

use super::schema::{
    account_attributes, accounts, api_tokens, audit_events, integrations, resources, sync_runs,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens, check_for_backend(diesel::pg::Pg))]
pub struct ApiTokenRow {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub secret_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub role: &'a str,
    pub secret_hash: &'a [u8],
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = integrations, check_for_backend(diesel::pg::Pg))]
pub struct IntegrationRow {
    pub id: Uuid,
    pub integration_type: String,
    pub name: String,
    pub config: serde_json::Value,
    pub credentials_ciphertext: Option<Vec<u8>>,
    pub create_resources_for_new_teams: bool,
    pub sync_interval_seconds: i32,
    pub max_deletion_percent: i32,
    pub create_request_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub last_pulled_at: Option<DateTime<Utc>>,
    pub link_users_by: LinkUsersBy,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = integrations)]
pub struct NewIntegration {
    pub id: Uuid,
    pub integration_type: String,
    pub name: String,
    pub config: serde_json::Value,
    pub credentials_ciphertext: Option<Vec<u8>>,
    pub create_resources_for_new_teams: bool,
    pub sync_interval_seconds: i32,
    pub max_deletion_percent: i32,
    pub create_request_id: Option<String>,
    pub link_users_by: LinkUsersBy,
}

/// The columns UpdateIntegration may change; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = integrations)]
pub struct IntegrationChanges {
    pub name: Option<String>,
    pub config: Option<serde_json::Value>,
    pub credentials_ciphertext: Option<Option<Vec<u8>>>,
    pub create_resources_for_new_teams: Option<bool>,
    pub sync_interval_seconds: Option<i32>,
    pub max_deletion_percent: Option<i32>,
    pub link_users_by: Option<LinkUsersBy>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = resources, check_for_backend(diesel::pg::Pg))]
pub struct ResourceRow {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub external_id: String,
    pub resource_type: ResourceType,
    pub name: String,
    pub description: String,
    pub sync_mode: SyncMode,
    pub propagation_status: PropagationStatus,
    pub propagation_error: Option<String>,
    pub team_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts, check_for_backend(diesel::pg::Pg))]
pub struct AccountRow {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub user_id: Option<Uuid>,
    pub external_id: String,
    pub username: String,
    pub email: Option<String>,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// Why the account's link to its user is held (see `accounts.link_conflict`).
    pub link_conflict: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = account_attributes, check_for_backend(diesel::pg::Pg))]
pub struct AccountAttributeRow {
    pub account_id: Uuid,
    pub name: String,
    pub attribute_values: Vec<Option<String>>,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = sync_runs, check_for_backend(diesel::pg::Pg))]
pub struct SyncRunRow {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub trigger: RunTrigger,
    pub state: RunState,
    pub phase: Option<RunPhase>,
    pub stats: serde_json::Value,
    pub error: Option<String>,
    pub dry_run: bool,
    pub allow_mass_deletion: bool,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub claimed_by: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub event_seq: i64,
    /// Times the worker of this run, or of the runs it retries, died (see the reaper).
    pub lease_expiries: i32,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = sync_runs)]
pub struct NewSyncRun<'a> {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub trigger: RunTrigger,
    pub dry_run: bool,
    pub allow_mass_deletion: bool,
    pub requested_by: &'a str,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events, check_for_backend(diesel::pg::Pg))]
pub struct AuditEventRow {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_name: String,
    pub actor_role: Role,
    pub action: AuditAction,
    pub integration_id: Option<Uuid>,
    pub resource_id: Option<Uuid>,
    pub details: serde_json::Value,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent<'a> {
    pub id: Uuid,
    pub actor_name: &'a str,
    pub actor_role: Role,
    pub action: AuditAction,
    pub integration_id: Option<Uuid>,
    pub resource_id: Option<Uuid>,
    pub details: serde_json::Value,
}
