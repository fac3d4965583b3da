//! Ending a run, the one way every path does it: the worker's success or failure, a person's
//! cancellation, the integration's removal, an expired lease. One statement sets the state,
//! the stats and the error and writes the audit row of whoever ended it; the FINISHED event
//! (stored and published with NOTIFY) follows in the same transaction.

use diesel::prelude::*;
use diesel::sql_types::{Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::read;
use crate::db::models::SyncRunRow;
use crate::db::run_events::{self as events, EventDraft, EventKind};
use crate::model::run_stats::RunStats;
use crate::model::{AuditAction, Principal, RunState};

/// How a run ends.
#[derive(Debug, Clone)]
pub enum Ending {
    /// With what it changed and the summary its FINISHED event carries.
    Succeeded {
        stats: RunStats,
        summary: String,
    },
    /// With an error that is safe to show callers.
    Failed {
        error: String,
    },
    Cancelled {
        reason: String,
    },
}

impl Ending {
    pub fn state(&self) -> RunState {
        match self {
            Ending::Succeeded { .. } => RunState::Succeeded,
            Ending::Failed { .. } => RunState::Failed,
            Ending::Cancelled { .. } => RunState::Cancelled,
        }
    }

    fn stats(&self) -> Option<RunStats> {
        match self {
            Ending::Succeeded { stats, .. } => Some(*stats),
            Ending::Failed { .. } | Ending::Cancelled { .. } => None,
        }
    }

    /// The run's `error` column.
    fn error(&self) -> Option<&str> {
        match self {
            Ending::Succeeded { .. } => None,
            Ending::Failed { error } => Some(error),
            Ending::Cancelled { reason } => Some(reason),
        }
    }

    /// The FINISHED event's message.
    fn message(&self) -> &str {
        match self {
            Ending::Succeeded { summary, .. } => summary,
            Ending::Failed { error } => error,
            Ending::Cancelled { reason } => reason,
        }
    }
}

/// Who ended the run, when that is an action the audit log records (a person cancelling).
#[derive(Debug)]
pub struct EndedBy<'a> {
    pub actor: &'a Principal,
    pub action: AuditAction,
    pub details: serde_json::Value,
}

/// One run's ending.
#[derive(Debug)]
pub struct Finish<'a> {
    pub run_id: Uuid,
    /// `Some(worker)`: only while that worker holds the run (a worker ends its own run, and
    /// loses it to a cancellation or an expired lease). `None`: whichever active state it is in
    /// (a person cancelling, the integration's removal).
    pub holder: Option<&'a str>,
    pub ending: Ending,
    pub ended_by: Option<EndedBy<'a>>,
}

impl Finish<'_> {
    /// The run's last event.
    pub(super) fn final_event(&self) -> EventDraft {
        let event = EventDraft::new(EventKind::Finished)
            .state(self.ending.state())
            .message(self.ending.message());
        match self.ending.stats() {
            Some(stats) => event.stats(stats),
            None => event,
        }
    }

    /// The values [`FINISH_SQL`] binds, in its parameter order after the run id, for both
    /// drivers.
    pub(super) fn columns(&self) -> FinishColumns<'_> {
        FinishColumns {
            state: self.ending.state(),
            stats: self
                .ending
                .stats()
                .map(|stats| serde_json::to_value(stats).unwrap_or_default()),
            error: self.ending.error(),
            holder: self.holder,
            actor_name: self.ended_by.as_ref().map(|by| by.actor.name.as_str()),
            actor_role: self.ended_by.as_ref().map(|by| by.actor.role.as_str()),
            action: self.ended_by.as_ref().map(|by| by.action),
            details: self.ended_by.as_ref().map(|by| &by.details),
        }
    }
}

pub(super) struct FinishColumns<'a> {
    pub state: RunState,
    pub stats: Option<serde_json::Value>,
    pub error: Option<&'a str>,
    pub holder: Option<&'a str>,
    pub actor_name: Option<&'a str>,
    pub actor_role: Option<&'static str>,
    pub action: Option<AuditAction>,
    pub details: Option<&'a serde_json::Value>,
}

/// Ends a queued or running run (only while `$5` holds it, when given) and returns it; no row
/// when it had already ended or left that worker's hands. A failed or cancelled run keeps the
/// phase it stopped in and the stats it had. With an action (`$8`), the audit row of whoever
/// ended it is written by the same statement.
/// Parameters: run id, new state, stats (jsonb or NULL), error, holder, actor name, actor role,
/// audit action, audit details (jsonb).
pub const FINISH_SQL: &str = "
    WITH finished AS (
        UPDATE sync_runs SET state = $2, stats = COALESCE($3, stats), error = $4,
            finished_at = now(), lease_expires_at = NULL,
            phase = CASE WHEN $2 = 'succeeded' THEN NULL ELSE phase END
        WHERE id = $1 AND state IN ('queued', 'running')
          AND ($5::text IS NULL OR (state = 'running' AND claimed_by = $5))
        RETURNING *
    ), audited AS (
        INSERT INTO audit_events (id, actor_name, actor_role, action, integration_id, details)
        SELECT uuid_generate_v7(), $6, $7, $8, integration_id, $9
        FROM finished WHERE $8::text IS NOT NULL
    )
    SELECT * FROM finished";

/// Ends the run and emits its FINISHED event, in one transaction; `None` when it was no longer
/// there to end (see [`Finish::holder`]).
pub async fn finish(
    conn: &mut AsyncPgConnection,
    finish: &Finish<'_>,
) -> QueryResult<Option<SyncRunRow>> {
    let columns = finish.columns();
    conn.transaction(async |conn| {
        let ended: Option<SyncRunRow> = diesel::sql_query(FINISH_SQL)
            .bind::<SqlUuid, _>(finish.run_id)
            .bind::<Text, _>(columns.state)
            .bind::<Nullable<Jsonb>, _>(columns.stats.as_ref())
            .bind::<Nullable<Text>, _>(columns.error)
            .bind::<Nullable<Text>, _>(columns.holder)
            .bind::<Nullable<Text>, _>(columns.actor_name)
            .bind::<Nullable<Text>, _>(columns.actor_role)
            .bind::<Nullable<Text>, _>(columns.action)
            .bind::<Nullable<Jsonb>, _>(columns.details)
            .get_result(conn)
            .await
            .optional()?;
        if ended.is_some() {
            events::emit(conn, finish.run_id, finish.final_event()).await?;
        }
        Ok(ended)
    })
    .await
}

/// Cancels the integration's queued or running run, if any, and returns it.
pub async fn cancel_active(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
    reason: &str,
) -> QueryResult<Option<SyncRunRow>> {
    let Some(active) = read::find_active(conn, integration_id).await? else {
        return Ok(None);
    };
    finish(
        conn,
        &Finish {
            run_id: active.id,
            holder: None,
            ending: Ending::Cancelled {
                reason: reason.into(),
            },
            ended_by: None,
        },
    )
    .await
}
