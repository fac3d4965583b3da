//! The merge of a first sync (see [`crate::engine::first_sync`]): nothing is stored yet, so
//! there is no difference to compute. Resources, accounts (with their users and links) and
//! problems go through the normal statements, which are cheap on an empty integration;
//! attributes are inserted without comparing, under the account ids they were staged with; the
//! memberships kept while listing are COPYed straight into `pulled_access`, resource by
//! resource. Pairs that did not resolve were staged and are counted, as the normal merge counts
//! them.
//!
//! Checked inside this transaction: the integration still has no account and no resource
//! (else this is an ordinary merge, and the kept pairs are staged for it), and every resource
//! and account landed with the id the kept pairs name (a resource another transaction made
//! meanwhile under the same external id keeps its own id: then too the pairs are staged and
//! merged the normal way).

use bytes::Bytes;
use futures::SinkExt;
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::{ANALYZE, COUNT_STAGED, Merged, PLANNER_SETTINGS, counts};
use super::{access, accounts, attributes, member_names, record_problems, resources};
use crate::engine::access_key::PairKeys;
use crate::engine::copy_rows::CopyRows;
use crate::engine::first_sync::{FirstSyncListing, IS_FIRST_SYNC};
use crate::model::LinkUsersBy;
use crate::model::run_stats::ChangeCounts;

/// Attributes of accounts listed once (staging kept each account's names unique), once every
/// account landed with the id staged beside its attributes: no join, rows in the order of the
/// primary key (ids are made in listing order).
const INSERT_ATTRIBUTES: &str = "
    INSERT INTO account_attributes (account_id, name, attribute_values)
    SELECT account_id, name, attribute_values FROM stage_attributes";

/// Staged resources and accounts whose id is not the one their row has.
const LANDED_ELSEWHERE: &str = "
    SELECT (SELECT count(*) FROM stage_resources s
            WHERE NOT EXISTS (SELECT 1 FROM resources r WHERE r.id = s.id))
         + (SELECT count(*) FROM stage_accounts s
            WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.id))";

const COPY_PULLED_ACCESS: &str = "COPY pulled_access (id, integration_id, resource_id, \
     account_id, pair_key, inherited) FROM STDIN BINARY";

const COPY_STAGE_ACCESS: &str = "COPY stage_access (id, resource_external_id, \
     account_external_id, pair_key, inherited) FROM STDIN BINARY";

/// Staged pairs are the ones that named objects outside the listing.
const COUNT_UNRESOLVED: &str = "
    SELECT count(*) FROM (
        SELECT DISTINCT resource_external_id, account_external_id FROM stage_access) unresolved";

/// Encoded rows are sent once this many bytes wait.
const SEND_AT: usize = 64 * 1024;

pub(super) async fn apply(
    tx: &Transaction<'_>,
    integration_id: Uuid,
    run_id: Uuid,
    policy: LinkUsersBy,
    mut listing: FirstSyncListing,
    pair_keys: PairKeys,
) -> Result<Merged, tokio_postgres::Error> {
    let id = &integration_id;
    let pairs = listing.sort_members();
    let first: bool = tx.query_one(IS_FIRST_SYNC, &[id]).await?.get(0);
    if !first {
        stage_pairs(tx, &listing, &pair_keys).await?;
        return super::apply(tx, integration_id, run_id, policy).await;
    }
    tx.batch_execute(PLANNER_SETTINGS).await?;
    tx.batch_execute(ANALYZE).await?;
    let staged = tx.query_one(COUNT_STAGED, &[]).await?;
    let mut merged = Merged::default();
    merged.stats.resources = resources::merge(tx, integration_id, run_id, staged.get(1)).await?;
    (merged.stats.accounts, merged.links) =
        accounts::merge(tx, integration_id, policy, staged.get(0), true).await?;
    let accounts_listed_once = staged.get::<_, i64>(0) == staged.get::<_, i64>(2);
    let elsewhere: i64 = tx.query_one(LANDED_ELSEWHERE, &[]).await?.get(0);
    merged.stats.attributes = if accounts_listed_once && elsewhere == 0 {
        let created = tx.execute(INSERT_ATTRIBUTES, &[]).await? as i64;
        counts(created, created, 0, 0)
    } else {
        attributes::merge(tx, integration_id, accounts_listed_once).await?
    };
    if elsewhere > 0 {
        stage_pairs(tx, &listing, &pair_keys).await?;
        let access = access::merge(tx, integration_id).await?;
        merged.stats.access = access.counts;
        merged.unresolved_access = access.unresolved;
    } else {
        land_pairs(tx, integration_id, &listing, &pair_keys).await?;
        // The listing resolved every name it could; this drops the inherited pairs it could
        // not, as the normal merge does.
        member_names::resolve(tx, integration_id).await?;
        let pairs = pairs as i64;
        merged.stats.access = ChangeCounts {
            created: pairs,
            ..ChangeCounts::default()
        };
        merged.unresolved_access = tx.query_one(COUNT_UNRESOLVED, &[]).await?.get(0);
    }
    merged.stats.errors = record_problems(tx, integration_id).await?;
    Ok(merged)
}

/// The kept pairs, COPYed into `pulled_access` in the order of its keys.
async fn land_pairs(
    tx: &Transaction<'_>,
    integration_id: Uuid,
    listing: &FirstSyncListing,
    pair_keys: &PairKeys,
) -> Result<(), tokio_postgres::Error> {
    copy_pairs(tx, COPY_PULLED_ACCESS, listing, |rows, resource, member| {
        listing.pulled_access_row(rows, &integration_id, pair_keys, resource, member)
    })
    .await
}

/// The kept pairs, staged as the normal merge expects them.
async fn stage_pairs(
    tx: &Transaction<'_>,
    listing: &FirstSyncListing,
    pair_keys: &PairKeys,
) -> Result<(), tokio_postgres::Error> {
    copy_pairs(tx, COPY_STAGE_ACCESS, listing, |rows, resource, member| {
        listing.stage_access_row(rows, pair_keys, resource, member)
    })
    .await?;
    tx.batch_execute("ANALYZE stage_access").await
}

/// One COPY of every kept pair, each encoded by `row`, sent in chunks of SEND_AT bytes so that
/// the server stores one chunk while the next is encoded.
async fn copy_pairs(
    tx: &Transaction<'_>,
    statement: &str,
    listing: &FirstSyncListing,
    mut row: impl FnMut(&mut CopyRows, usize, u32),
) -> Result<(), tokio_postgres::Error> {
    let sink = tx.copy_in::<_, Bytes>(statement).await?;
    futures::pin_mut!(sink);
    let mut rows = CopyRows::new();
    for (resource, member) in listing.pairs() {
        row(&mut rows, resource, member);
        if rows.len() >= SEND_AT {
            sink.send(rows.take()).await?;
        }
    }
    sink.send(rows.finish()).await?;
    sink.as_mut().finish().await?;
    Ok(())
}
