//! The audit log: appended to in the same transaction as the change it records.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::models::{AuditEventRow, NewAuditEvent};
use super::schema::audit_events;
use crate::model::{AuditAction, Principal};

/// One change to record: who did what to which integration or resource.
#[derive(Debug)]
pub struct AuditEntry<'a> {
    pub actor: &'a Principal,
    pub action: AuditAction,
    pub integration_id: Option<Uuid>,
    pub resource_id: Option<Uuid>,
    pub details: serde_json::Value,
}

pub async fn record(conn: &mut AsyncPgConnection, entry: AuditEntry<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values(NewAuditEvent {
            id: Uuid::now_v7(),
            actor_name: &entry.actor.name,
            actor_role: entry.actor.role,
            action: entry.action,
            integration_id: entry.integration_id,
            resource_id: entry.resource_id,
            details: entry.details,
        })
        .execute(conn)
        .await?;
    Ok(())
}

/// What ListAuditEvents may filter on; `None` matches everything.
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub integration_id: Option<Uuid>,
    pub resource_id: Option<Uuid>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

/// Newest first, starting after (older than) `before`.
pub async fn list_page(
    conn: &mut AsyncPgConnection,
    filter: &AuditFilter,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<AuditEventRow>> {
    let mut query = audit_events::table
        .select(AuditEventRow::as_select())
        .order(audit_events::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(integration_id) = filter.integration_id {
        query = query.filter(audit_events::integration_id.eq(integration_id));
    }
    if let Some(resource_id) = filter.resource_id {
        query = query.filter(audit_events::resource_id.eq(resource_id));
    }
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_events::actor_name.eq(actor.clone()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_events::at.ge(since));
    }
    if let Some(before) = before {
        query = query.filter(audit_events::id.lt(before));
    }
    query.load(conn).await
}
