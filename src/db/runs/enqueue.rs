//! Creating runs: one asked for by a person or a use case, and the scheduler's (interval due,
//! pushes waiting). Each new run gets its STATE_CHANGED event and wakes the workers.

use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{MAX_LEASE_EXPIRIES, QUEUED_CHANNEL};
use crate::db::models::{NewSyncRun, SyncRunRow};
use crate::db::run_events::{self as events, EventDraft, EventKind};
use crate::db::schema::sync_runs;
use crate::model::{RunState, RunTrigger};

/// Who the runs the service queues by itself are requested by.
const SYSTEM: &str = "system";

/// Tells idle workers on every replica that a run is waiting. Inside a transaction it is
/// delivered on commit.
pub(super) async fn notify_queued(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query(format!("NOTIFY {QUEUED_CHANNEL}"))
        .execute(conn)
        .await?;
    Ok(())
}

/// Queues a run (the caller made sure none is active: the partial unique index refuses a
/// second one) and wakes the workers.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    new: &NewSyncRun<'_>,
) -> QueryResult<SyncRunRow> {
    let run = diesel::insert_into(sync_runs::table)
        .values(new)
        .returning(SyncRunRow::as_returning())
        .get_result(conn)
        .await?;
    events::emit(
        conn,
        run.id,
        EventDraft::new(EventKind::StateChanged)
            .state(RunState::Queued)
            .message(format!("queued ({}) by {}", run.trigger, run.requested_by)),
    )
    .await?;
    notify_queued(conn).await?;
    Ok(run)
}

/// Asks for the integration's push-mode resources to be reconciled soon. Queues a run now; when
/// one is already queued it will do; when one is running it may have pushed already, so the
/// pending propagations make the scheduler queue a follow-up as soon as it ends.
pub async fn request_push(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
    trigger: RunTrigger,
    requested_by: &str,
) -> QueryResult<()> {
    enqueue_for(conn, &[integration_id], trigger, requested_by).await?;
    Ok(())
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// How long the scheduler waits on another transaction's lock of one integration's runs (an
/// uncommitted run being queued) before it leaves that integration to its next tick.
const ENQUEUE_LOCK_TIMEOUT: &str = "5s";

/// A real run that failed (or was cancelled) is tried again by the scheduler after its interval
/// or after this many seconds, whichever is shorter, rather than waiting a whole interval from
/// the failed run (the next real success is what the schedule counts from).
const RETRY_FAILED_SECONDS: i32 = 300;

/// Integration `i` whose last real run was given up (its worker died MAX_LEASE_EXPIRIES times)
/// within the integration's interval: neither its schedule nor its waiting pushes queue a run
/// before the interval has passed (a person may still ask for one), or a run that kills its
/// process would be a crash loop after all. `$2` is MAX_LEASE_EXPIRIES.
const GIVEN_UP: &str = "EXISTS (SELECT 1 FROM sync_runs r
                 WHERE r.integration_id = i.id AND NOT r.dry_run
                   AND r.state = 'failed' AND r.lease_expiries >= $2
                   AND r.created_at > now() - make_interval(secs => i.sync_interval_seconds)
                   AND NOT EXISTS (SELECT 1 FROM sync_runs later
                                   WHERE later.integration_id = i.id AND NOT later.dry_run
                                     AND later.created_at > r.created_at))";

/// Queues a run for every live integration that is due and has none queued or running: its
/// interval has passed since the last real run (not a dry run; succeeded) began, or since it was
/// created, and no real run began within the retry delay; or it has pushes waiting or due for a
/// retry. Each integration is queued in a transaction of its own, so that one whose runs are
/// locked (or that fails) delays none of the others: it is logged and left to the next tick.
/// Returns how many were queued.
pub async fn enqueue_due(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    // Dry runs, failed and cancelled runs do not count as syncs: frequent dry runs must not
    // push the real one back for ever.
    let scheduled: Vec<Id> = diesel::sql_query(format!(
        "SELECT i.id FROM integrations i
         WHERE i.deleted_at IS NULL AND NOT {GIVEN_UP}
           AND NOT EXISTS (SELECT 1 FROM sync_runs r
                           WHERE r.integration_id = i.id AND r.state IN ('queued', 'running'))
           AND COALESCE((SELECT max(r.created_at) FROM sync_runs r
                         WHERE r.integration_id = i.id AND NOT r.dry_run
                           AND r.state = 'succeeded'),
                        i.created_at)
               <= now() - make_interval(secs => i.sync_interval_seconds)
           AND NOT EXISTS (SELECT 1 FROM sync_runs r
                           WHERE r.integration_id = i.id AND NOT r.dry_run
                             AND r.created_at > now() - make_interval(
                                 secs => LEAST(i.sync_interval_seconds, $1)))"
    ))
    .bind::<Integer, _>(RETRY_FAILED_SECONDS)
    .bind::<Integer, _>(MAX_LEASE_EXPIRIES)
    .load(conn)
    .await?;
    // Pushes waiting (new decisions) or due for a retry get a run of their own.
    let pushes: Vec<Id> = diesel::sql_query(format!(
        "SELECT DISTINCT p.integration_id AS id FROM propagations p
         JOIN integrations i ON i.id = p.integration_id AND i.deleted_at IS NULL
         WHERE p.status <> 'in_sync' AND p.next_attempt_at <= now() AND NOT {GIVEN_UP}
           AND NOT EXISTS (SELECT 1 FROM sync_runs r
                           WHERE r.integration_id = p.integration_id
                             AND r.state IN ('queued', 'running'))"
    ))
    .bind::<Integer, _>(RETRY_FAILED_SECONDS)
    .bind::<Integer, _>(MAX_LEASE_EXPIRIES)
    .load(conn)
    .await?;
    let due = scheduled
        .into_iter()
        .map(|due| (due.id, RunTrigger::Scheduled))
        .chain(pushes.into_iter().map(|due| (due.id, RunTrigger::Grant)));
    let mut queued = 0;
    for (integration_id, trigger) in due {
        let enqueued = conn
            .transaction(async |conn| {
                diesel::sql_query(format!("SET LOCAL lock_timeout = '{ENQUEUE_LOCK_TIMEOUT}'"))
                    .execute(conn)
                    .await?;
                enqueue_for(conn, &[integration_id], trigger, SYSTEM).await
            })
            .await;
        match enqueued {
            Ok(count) => queued += count,
            Err(error) => {
                tracing::warn!(%error, %integration_id, "queueing a due sync run failed; next tick retries")
            }
        }
    }
    Ok(queued)
}

/// A new run in place of `died`, whose worker died for the `deaths`th time; it carries that
/// count (see [`super::expiry`]).
pub(super) async fn enqueue_retry(
    conn: &mut AsyncPgConnection,
    died: &SyncRunRow,
    deaths: i32,
) -> QueryResult<usize> {
    let queued = enqueue_for(conn, &[died.integration_id], RunTrigger::Scheduled, SYSTEM).await?;
    diesel::update(
        sync_runs::table
            .filter(sync_runs::integration_id.eq(died.integration_id))
            .filter(sync_runs::state.eq(RunState::Queued)),
    )
    .set(sync_runs::lease_expiries.eq(deaths))
    .execute(conn)
    .await?;
    Ok(queued)
}

/// Queues one run per live integration in `ids` that has no active run; returns how many.
async fn enqueue_for(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    trigger: RunTrigger,
    requested_by: &str,
) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    // The ON CONFLICT predicate must spell the partial unique index's own, literally.
    let queued: Vec<Id> = diesel::sql_query(
        "INSERT INTO sync_runs (id, integration_id, trigger, requested_by)
         SELECT uuid_generate_v7(), i.id, $2, $3
         FROM integrations i
         WHERE i.id = ANY($1::uuid[]) AND i.deleted_at IS NULL
         ON CONFLICT (integration_id) WHERE state IN ('queued', 'running') DO NOTHING
         RETURNING id",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Text, _>(trigger)
    .bind::<Text, _>(requested_by)
    .load(conn)
    .await?;
    for run in &queued {
        events::emit(
            conn,
            run.id,
            EventDraft::new(EventKind::StateChanged)
                .state(RunState::Queued)
                .message(format!("queued ({trigger})")),
        )
        .await?;
    }
    if !queued.is_empty() {
        notify_queued(conn).await?;
    }
    Ok(queued.len())
}
