//! Push: for every push-mode resource, make the remote members what Oblique decided (grants and
//! team members), through the connector, one idempotent operation at a time. Each outcome is
//! recorded per (resource, user) in `propagations`; failures are retried with capped
//! exponential backoff. Removing a member nobody decided on, or putting back one that was
//! pushed before, corrects drift and is audited.
//!
//! A decision may be made while a push is under way (a revocation during the add it undoes).
//! So the push changes a propagation row only while it is the one the plan saw (its version):
//! a newer pending mark is left as it is, and since it is pending and due, the scheduler queues
//! a follow-up run for it as soon as this run ends.

use std::collections::HashMap;
use std::time::Duration;

use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::propagation::{
    PendingMark, Seen, Written, forget_removed, push_audit, record_failure, set_in_sync, settle,
};
use super::push_plan::{PLAN, Step};
use super::run_handle::RunHandle;
use super::stopped::{Stopped, internal};
use super::{Engine, EngineConfig};
use crate::connectors::Connector;
use crate::db::Pool;
use crate::db::intents::{self, Completion, NewIntent};
use crate::db::models::{IntegrationRow, SyncRunRow};
use crate::db::retry::transaction_retrying;
use crate::db::run_events::{EventDraft, EventKind};
use crate::metrics::Metrics;
use crate::model::run_stats::ChangeCounts;
use crate::model::{Principal, PropagationStatus, PushOp, RemoteOp, RunPhase, RunTrigger};

/// Reconciles every push-mode resource of the integration. Failed operations do not fail the
/// run: they are recorded and retried.
pub async fn reconcile(
    engine: &Engine,
    handle: &RunHandle<'_>,
    integration: &IntegrationRow,
    connector: &dyn Connector,
) -> Result<(ChangeCounts, i64), Stopped> {
    let (pool, config) = (&engine.pool, &engine.config);
    handle.enter_phase(RunPhase::Push).await?;
    super::intents::resolve(pool, integration)
        .await
        .map_err(internal)?;
    let (pending, steps) = read_plan(pool, integration).await.map_err(internal)?;
    // A person asking for a sync wants every failed push tried again now, backoff or not.
    let retry_all = handle.run.trigger == RunTrigger::Manual;
    let mut pusher = Pusher {
        pool,
        config,
        metrics: &engine.metrics,
        run: handle.run,
        integration,
        connector,
        counts: ChangeCounts::default(),
        failed: 0,
        seen: HashMap::new(),
    };
    for step in steps {
        if handle.stop.is_cancelled() {
            return Err(Stopped::Cancelled);
        }
        match step.op {
            PushOp::Keep => {
                pusher.counts.unchanged += 1;
                pusher.mark_in_sync(&step).await
            }
            // A failed add or remove waits for its backoff, unless a person asked for a sync.
            PushOp::Add | PushOp::Remove if !step.due && !retry_all => continue,
            PushOp::Add | PushOp::Remove => pusher.carry_out(&step).await,
        }
        .map_err(internal)?;
    }
    settle(pool, integration.id, &pending)
        .await
        .map_err(internal)?;
    let Pusher { counts, failed, .. } = pusher;
    handle
        .emit(
            EventDraft::new(EventKind::PhaseFinished)
                .phase(RunPhase::Push)
                .progress(counts.created + counts.deleted + counts.unchanged)
                .message(format!(
                    "{} added, {} removed, {} already as decided, {failed} failed",
                    counts.created, counts.deleted, counts.unchanged
                )),
        )
        .await?;
    Ok((counts, failed))
}

/// The pending marks as they are now, then the plan. Read in this order, a mark made after the
/// plan was read is never mistaken for one the plan covered.
async fn read_plan(
    pool: &Pool,
    integration: &IntegrationRow,
) -> anyhow::Result<(Vec<PendingMark>, Vec<Step>)> {
    let mut conn = pool.get().await?;
    let pending: Vec<PendingMark> = diesel::sql_query(
        "SELECT resource_id, user_id, version FROM propagations
         WHERE integration_id = $1 AND status = $2",
    )
    .bind::<SqlUuid, _>(integration.id)
    .bind::<Text, _>(PropagationStatus::Pending)
    .load(&mut conn)
    .await?;
    let steps: Vec<Step> = diesel::sql_query(PLAN)
        .bind::<SqlUuid, _>(integration.id)
        .load(&mut conn)
        .await?;
    Ok((pending, steps))
}

/// One run's push: what it needs to carry out operations, and what they came to.
struct Pusher<'a> {
    pool: &'a Pool,
    config: &'a EngineConfig,
    metrics: &'a Metrics,
    run: &'a SyncRunRow,
    integration: &'a IntegrationRow,
    connector: &'a dyn Connector,
    counts: ChangeCounts,
    failed: i64,
    /// The propagation rows this run wrote, as it left them: the next step of the same
    /// (resource, user) compares with that rather than with what the plan saw.
    seen: HashMap<(Uuid, Uuid), Seen>,
}

impl Pusher<'_> {
    fn seen(&self, step: &Step) -> Seen {
        step.user_id
            .and_then(|user_id| self.seen.get(&(step.resource_id, user_id)).copied())
            .unwrap_or(step.version)
    }

    /// Notes what a compare-and-set write came to. A write that found the row changed leaves
    /// it to the newer decision (and every later write of this run to it too).
    fn note(&mut self, step: &Step, written: Written) {
        let Some(user_id) = step.user_id else { return };
        match written {
            Some(seen) => {
                self.seen.insert((step.resource_id, user_id), seen);
            }
            None => tracing::info!(
                resource = %step.resource_name, %user_id,
                "a decision was made while pushing; the next run carries it out"
            ),
        }
    }

    async fn mark_in_sync(&mut self, step: &Step) -> anyhow::Result<()> {
        if step.last_status == Some(PropagationStatus::InSync) {
            return Ok(());
        }
        let mut conn = self.pool.get().await?;
        let written = set_in_sync(&mut conn, step, self.seen(step)).await?;
        self.note(step, written);
        Ok(())
    }

    /// Adds or removes one member on the remote, then records the outcome: done (with its
    /// drift audit, in one transaction) or failed (with its next retry).
    async fn carry_out(&mut self, step: &Step) -> anyhow::Result<()> {
        let (Some(account_id), Some(account)) =
            (step.account_id, step.account_external_id.as_deref())
        else {
            return match step.op {
                PushOp::Add => {
                    let reason = format!(
                        "user {} has no account in integration {:?}",
                        user_of(step),
                        self.integration.name
                    );
                    self.fail(step, &reason).await
                }
                // A remote member Oblique knows no account for has nothing to remove by.
                PushOp::Remove | PushOp::Keep => Ok(()),
            };
        };
        if let (PushOp::Add, Some(conflict)) = (step.op, &step.link_conflict) {
            // The account may not be this user's: giving it the user's access could hand it to
            // someone else. Removals still go through: taking access away is never the unsafe way.
            let reason = format!(
                "account {account:?} is held from user {}: its link is in conflict \
                 ({conflict}); nothing is added until a sync finds the conflict gone",
                user_of(step),
            );
            return self.fail(step, &reason).await;
        }
        // The intent is durable before the remote is called: should this process die before
        // the outcome is recorded, the next run finds the change in its listing and audits it.
        let intent = self.open_intent(step, account_id, account).await?;
        let resource = &step.resource_external_id;
        let done = match step.op {
            PushOp::Add => self.connector.add_member(resource, account).await,
            PushOp::Remove => self.connector.remove_member(resource, account).await,
            PushOp::Keep => Ok(()),
        };
        if step.op != PushOp::Keep {
            self.metrics.push(step.op.as_str(), done.is_ok());
        }
        if let Err(error) = done {
            intents::abandon(&mut *self.pool.get().await?, intent).await?;
            return self.fail(step, &error.to_string()).await;
        }
        let seen = self.seen(step);
        let integration = self.integration;
        let mut conn = self.pool.get().await?;
        let written = transaction_retrying(&mut conn, "record a push", async |conn| {
            // The audit first: its foreign key locks the resource row (KEY SHARE) before the
            // propagation row is written, in the order grants and revocations lock the two
            // (resource, then propagation), so that they queue rather than deadlock.
            intents::complete(conn, intent, Completion::default()).await?;
            Ok(match step.op {
                PushOp::Remove => record_removed(conn, step, seen, account_id).await?,
                _ => record_added(conn, integration, step, seen, account_id, account).await?,
            })
        })
        .await?;
        match step.op {
            PushOp::Remove => self.counts.deleted += 1,
            _ => self.counts.created += 1,
        }
        self.note(step, written);
        Ok(())
    }

    async fn open_intent(
        &self,
        step: &Step,
        account_id: Uuid,
        account: &str,
    ) -> anyhow::Result<Uuid> {
        let (audit_action, audit_details) = push_audit(self.run, step);
        let operation = match step.op {
            PushOp::Remove => RemoteOp::RemoveMember,
            _ => RemoteOp::AddMember,
        };
        let intent = NewIntent {
            integration_id: self.integration.id,
            operation,
            resource_id: Some(step.resource_id),
            account_id: Some(account_id),
            team_id: None,
            target: &step.resource_external_id,
            actor: &Principal::system(),
            audit_action,
            audit_details,
            // Only a later run resolves it, and it starts once this one has ended.
            resolvable_after: Duration::ZERO,
        };
        tracing::trace!(resource = %step.resource_name, account, ?operation, "pushing");
        Ok(intents::open(&mut *self.pool.get().await?, &intent).await?)
    }

    async fn fail(&mut self, step: &Step, reason: &str) -> anyhow::Result<()> {
        self.failed += 1;
        let written = record_failure(self.pool, self.config, step, self.seen(step), reason).await?;
        self.note(step, written);
        Ok(())
    }
}

fn user_of(step: &Step) -> String {
    step.user_id.map(|id| id.to_string()).unwrap_or_default()
}

/// The member is on the remote now: the pulled view says so until the next listing, and its
/// push is in sync (unless a decision was made since the plan was read).
async fn record_added(
    conn: &mut AsyncPgConnection,
    integration: &IntegrationRow,
    step: &Step,
    seen: Seen,
    account_id: Uuid,
    account_external_id: &str,
) -> diesel::QueryResult<Written> {
    // A member that was there through a member group only is now a member itself.
    diesel::sql_query(
        "UPDATE pulled_access SET inherited = false
         WHERE resource_id = $1 AND account_id = $2 AND removed_at IS NULL AND inherited",
    )
    .bind::<SqlUuid, _>(step.resource_id)
    .bind::<SqlUuid, _>(account_id)
    .execute(&mut *conn)
    .await?;
    diesel::sql_query(
        // The pair's key is made with the integration's secret, which stays in the database.
        "INSERT INTO pulled_access (integration_id, resource_id, account_id, pair_key)
         SELECT $1, $2, $3, access_pair_key(i.access_key_secret, $4, $5)
         FROM integrations i
         WHERE i.id = $1
           AND NOT EXISTS (SELECT 1 FROM pulled_access
                           WHERE resource_id = $2 AND account_id = $3 AND removed_at IS NULL)",
    )
    .bind::<SqlUuid, _>(integration.id)
    .bind::<SqlUuid, _>(step.resource_id)
    .bind::<SqlUuid, _>(account_id)
    .bind::<Text, _>(&step.resource_external_id)
    .bind::<Text, _>(account_external_id)
    .execute(&mut *conn)
    .await?;
    set_in_sync(conn, step, seen).await
}

/// The member is gone from the remote: so is its pulled access, and nothing is left to push
/// (unless a decision was made since the plan was read).
async fn record_removed(
    conn: &mut AsyncPgConnection,
    step: &Step,
    seen: Seen,
    account_id: Uuid,
) -> diesel::QueryResult<Written> {
    diesel::sql_query(
        "UPDATE pulled_access SET removed_at = now()
         WHERE resource_id = $1 AND account_id = $2 AND removed_at IS NULL",
    )
    .bind::<SqlUuid, _>(step.resource_id)
    .bind::<SqlUuid, _>(account_id)
    .execute(&mut *conn)
    .await?;
    forget_removed(conn, step, seen).await
}
