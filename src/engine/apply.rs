//! The end of a pull: the merge, the mass-deletion guard, dry runs (their ending is
//! [`super::dry_run`]'s), and finishing the run in the same transaction as the changes it
//! applies.

use serde_json::json;

use super::dry_run;
use super::merge::{self, LinkReport, Merged};
use super::run_handle::RunHandle;
use super::stage::Staging;
use super::stopped::{Stopped, internal};
use crate::db::models::{IntegrationRow, SyncRunRow};
use crate::db::run_events::{EventDraft, EventKind, emit_in};
use crate::db::runs::in_merge::{finish_in, hold_in};
use crate::db::runs::{Ending, Finish};
use crate::model::RunPhase;
use crate::model::principal::SYSTEM_NAME;
use crate::model::run_stats::{ChangeCounts, RunStats};
use crate::model::{AuditAction, Role};

/// Merges in one transaction. A dry run, a tripped mass-deletion guard or a run that stopped
/// being ours rolls everything back. With `finish`, the same transaction ends the run; without
/// (a push phase follows), it only makes sure the run is still ours when the merge commits.
pub async fn apply(
    handle: &RunHandle<'_>,
    integration: &IntegrationRow,
    staging: &mut Staging,
    finish: bool,
) -> Result<RunStats, Stopped> {
    let (run, worker) = (handle.run, handle.worker);
    let first_sync = staging.take_first_sync();
    let tx = staging.client().transaction().await.map_err(internal)?;
    let policy = integration.link_users_by;
    let merged = merge::apply_listed(&tx, integration.id, run.id, policy, first_sync)
        .await
        .map_err(internal)?;
    let stats = merged.stats;
    if let Some(refusal) = mass_deletion(&merged, integration, run) {
        tx.rollback().await.map_err(internal)?;
        return Err(Stopped::Failed(refusal));
    }
    if run.dry_run {
        let spooled = dry_run::spool(&tx, integration.id, run.id, merged.access_compared)
            .await
            .map_err(internal)?;
        tx.rollback().await.map_err(internal)?;
        let summary = format!("dry run, nothing applied: {}", summary(&stats));
        return dry_run::finish(handle, staging, stats, summary, warnings(&merged), spooled).await;
    }
    // Before the run's state changes: afterwards only its FINISHED event is taken.
    for warning in warnings(&merged) {
        emit_in(&tx, run.id, warning).await.map_err(internal)?;
    }
    // Either way the run's row stays locked until commit, so a cancellation lands either before
    // (nothing applied) or after.
    let still_ours = if finish {
        let succeeded = Finish {
            run_id: run.id,
            holder: Some(worker),
            ending: Ending::Succeeded {
                stats,
                summary: summary(&stats),
            },
            ended_by: None,
        };
        finish_in(&tx, &succeeded).await
    } else {
        hold_in(&tx, run.id, worker, &stats).await
    }
    .map_err(internal)?;
    if !still_ours {
        // Cancelled while merging: the rollback (on drop) leaves no trace.
        return Err(Stopped::Cancelled);
    }
    tx.execute(
        "UPDATE integrations SET last_pulled_at = now() WHERE id = $1",
        &[&integration.id],
    )
    .await
    .map_err(internal)?;
    if stats.changed() > 0 || stats.errors > 0 || merged.links.changed > 0 {
        tx.execute(
            "INSERT INTO audit_events (id, actor_name, actor_role, action, integration_id, details)
             VALUES (uuid_generate_v7(), $3, $4, $5, $1, $2)",
            &[
                &integration.id,
                &json!({
                    "run_id": run.id,
                    "stats": stats,
                    "links_changed": merged.links.changed,
                    "links_held": merged.links.held,
                }),
                &SYSTEM_NAME,
                &Role::System.as_str(),
                &AuditAction::SyncApply.as_str(),
            ],
        )
        .await
        .map_err(internal)?;
    }
    tx.commit().await.map_err(internal)?;
    Ok(stats)
}

/// Refuses a merge that would soft delete more than the integration allows, unless the run was
/// told to.
fn mass_deletion(
    merged: &Merged,
    integration: &IntegrationRow,
    run: &SyncRunRow,
) -> Option<String> {
    if run.allow_mass_deletion {
        return None;
    }
    let limit = i64::from(integration.max_deletion_percent);
    [
        (
            "accounts",
            merged.stats.accounts.deleted,
            merged.live_accounts_before,
        ),
        (
            "resources",
            merged.stats.resources.deleted,
            merged.live_resources_before,
        ),
    ]
    .into_iter()
    .find(|(_, deleted, live)| *deleted > 0 && deleted * 100 > limit * live)
    .map(|(kind, deleted, live)| {
        format!(
            "mass-deletion guard: this sync would soft delete {deleted} of {live} {kind} \
             (more than max_deletion_percent = {limit}%); nothing was applied. Check the remote \
             system, then trigger a sync with allow_mass_deletion to apply it"
        )
    })
}

/// What the run warns of, whether it applies or not.
fn warnings(merged: &Merged) -> Vec<EventDraft> {
    let mut warnings = Vec::new();
    if merged.unresolved_access > 0 {
        warnings.push(unresolved_warning(merged));
    }
    if merged.links.held > 0 {
        warnings.push(held_links_warning(&merged.links));
    }
    warnings
}

fn unresolved_warning(merged: &Merged) -> EventDraft {
    EventDraft::new(EventKind::Warning)
        .phase(RunPhase::Access)
        .message(format!(
            "{} memberships name accounts or resources outside the synced ones; ignored",
            merged.unresolved_access
        ))
}

/// Held identity links are a warning, not an error: the sync applies, and push planning gives
/// the held accounts nothing until a sync finds the conflict gone.
fn held_links_warning(links: &LinkReport) -> EventDraft {
    let more = links.held - links.named.len() as i64;
    let more = if more > 0 {
        format!("; and {more} more")
    } else {
        String::new()
    };
    EventDraft::new(EventKind::Warning)
        .phase(RunPhase::Accounts)
        .message(format!(
            "{} accounts have a held link to their Oblique user: nothing that gives access is \
             pushed to them until the conflict is gone (see ListAccounts' link_conflict). {}{more}",
            links.held,
            links.named.join("; ")
        ))
}

pub(super) fn summary(stats: &RunStats) -> String {
    let kind = |name: &str, c: &ChangeCounts| {
        format!(
            "{name} +{} ~{} -{} ={}",
            c.created, c.updated, c.deleted, c.unchanged
        )
    };
    let mut summary = format!(
        "{}; {}; {}; {}; {} errors",
        kind("accounts", &stats.accounts),
        kind("attributes", &stats.attributes),
        kind("resources", &stats.resources),
        kind("access", &stats.access),
        stats.errors
    );
    if stats.push != ChangeCounts::default() {
        summary.push_str(&format!("; {}", kind("pushed", &stats.push)));
    }
    summary
}
