//! Applying a staged listing: a few set-based statements per kind of object (one file each),
//! inside the caller's transaction. Unchanged rows are never written, so a sync that finds no
//! change writes nothing. `$1` is always the integration id, `$2` the run id.

use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::engine::access_key::PairKeys;
use crate::engine::first_sync::FirstSyncListing;
use crate::model::LinkUsersBy;
use crate::model::run_stats::{ChangeCounts, RunStats};

mod access;
mod accounts;
mod attributes;
mod difference;
mod first;
mod links;
mod member_names;
mod resources;

pub use difference::copy_out_sql as difference_copy_sql;
pub use links::LinkReport;

/// Every merge statement joins whole sets, often against rows this same transaction just wrote
/// and that have no statistics yet: the planner then guesses a handful of rows and picks nested
/// loops that go quadratic (hours for an initial sync of a million memberships). Hash and merge
/// joins are right for every statement here, and they get the memory to stay off disk.
///
/// JIT is off: these statements are large (the link re-check alone compiles to hundreds of
/// functions) and their estimated cost is high, so PostgreSQL spent up to 2 s per statement
/// compiling them, more than running them took.
const PLANNER_SETTINGS: &str =
    "SET LOCAL enable_nestloop = off; SET LOCAL work_mem = '64MB'; SET LOCAL jit = off";

/// Makes the planner see the staged row counts (autovacuum never analyses temporary tables). A
/// small sample is enough for counts and join sizes; the default one cost most of a second.
const ANALYZE: &str = "SET LOCAL default_statistics_target = 10; \
                       ANALYZE stage_accounts, stage_attributes, stage_resources, stage_access, \
                       stage_problems; \
                       RESET default_statistics_target";

/// Problems seen this run are recorded (counted when they persist); problems not seen again are
/// cleared.
const RECORD_PROBLEMS: &str = "
    INSERT INTO sync_errors (integration_id, object, message)
    SELECT DISTINCT ON (object) $1, object, message FROM stage_problems ORDER BY object
    ON CONFLICT (integration_id, object) DO UPDATE
        SET message = excluded.message, last_seen = now(), count = sync_errors.count + 1";

const CLEAR_PROBLEMS: &str = "
    DELETE FROM sync_errors e
    WHERE e.integration_id = $1
      AND NOT EXISTS (SELECT 1 FROM stage_problems p WHERE p.object = e.object)";

const COUNT_PROBLEMS: &str = "SELECT count(DISTINCT object) FROM stage_problems";

const COUNT_LIVE: &str = "
    SELECT (SELECT count(*) FROM accounts WHERE integration_id = $1 AND deleted_at IS NULL),
           (SELECT count(*) FROM resources WHERE integration_id = $1 AND deleted_at IS NULL)";

const COUNT_STAGED: &str = "
    SELECT (SELECT count(DISTINCT external_id) FROM stage_accounts),
           (SELECT count(DISTINCT external_id) FROM stage_resources),
           (SELECT count(*) FROM stage_accounts)";

/// What the merge found, before the caller decides to commit.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    pub stats: RunStats,
    /// Live objects before the merge, for the mass-deletion guard.
    pub live_accounts_before: i64,
    pub live_resources_before: i64,
    /// Access pairs naming accounts or resources outside the synced ones.
    pub unresolved_access: i64,
    /// The access merge compared pairs (see [`difference_copy_sql`]'s `with_access`).
    pub access_compared: bool,
    /// What re-checking the accounts' links to users changed, and which links are held.
    pub links: LinkReport,
}

/// Applies the staged listing inside `tx`; the caller commits or rolls back.
pub async fn apply(
    tx: &Transaction<'_>,
    integration_id: Uuid,
    run_id: Uuid,
    link_users_by: LinkUsersBy,
) -> Result<Merged, tokio_postgres::Error> {
    let id = &integration_id;
    tx.batch_execute(PLANNER_SETTINGS).await?;
    tx.batch_execute(ANALYZE).await?;
    let live = tx.query_one(COUNT_LIVE, &[id]).await?;
    let staged = tx.query_one(COUNT_STAGED, &[]).await?;
    let mut merged = Merged {
        live_accounts_before: live.get(0),
        live_resources_before: live.get(1),
        ..Default::default()
    };
    merged.stats.resources = resources::merge(tx, integration_id, run_id, staged.get(1)).await?;
    (merged.stats.accounts, merged.links) =
        accounts::merge(tx, integration_id, link_users_by, staged.get(0), false).await?;
    let accounts_listed_once = staged.get::<_, i64>(0) == staged.get::<_, i64>(2);
    merged.stats.attributes = attributes::merge(tx, integration_id, accounts_listed_once).await?;
    let access = access::merge(tx, integration_id).await?;
    merged.stats.access = access.counts;
    merged.unresolved_access = access.unresolved;
    merged.access_compared = access.compared;

    merged.stats.errors = record_problems(tx, integration_id).await?;
    Ok(merged)
}

/// [`apply`], unless the listing was a first sync's (`Staging::take_first_sync`): then the
/// memberships it kept are landed straight into `pulled_access` (see [`first`]).
pub async fn apply_listed(
    tx: &Transaction<'_>,
    integration_id: Uuid,
    run_id: Uuid,
    link_users_by: LinkUsersBy,
    first_sync: Option<(FirstSyncListing, PairKeys)>,
) -> Result<Merged, tokio_postgres::Error> {
    match first_sync {
        None => apply(tx, integration_id, run_id, link_users_by).await,
        Some((listing, pair_keys)) => {
            first::apply(
                tx,
                integration_id,
                run_id,
                link_users_by,
                listing,
                pair_keys,
            )
            .await
        }
    }
}

/// Records this run's unreadable objects as sync errors and clears the ones not seen again;
/// returns how many there are.
async fn record_problems(
    tx: &Transaction<'_>,
    integration_id: Uuid,
) -> Result<i64, tokio_postgres::Error> {
    tx.execute(RECORD_PROBLEMS, &[&integration_id]).await?;
    tx.execute(CLEAR_PROBLEMS, &[&integration_id]).await?;
    Ok(tx.query_one(COUNT_PROBLEMS, &[]).await?.get(0))
}

/// Listed objects that were neither created nor updated are unchanged.
pub(super) fn counts(listed: i64, created: i64, updated: i64, deleted: i64) -> ChangeCounts {
    ChangeCounts {
        created,
        updated,
        deleted,
        unchanged: (listed - created - updated).max(0),
    }
}
