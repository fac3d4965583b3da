//! Pairs that name their account by a member name (an LDAP group's member DN or memberUid, see
//! `RemoteAccess::by_member_name`) are resolved here, in SQL, against the names the staged
//! accounts were listed with: a connector then needs no index of every user in memory, and
//! the directory's size costs staging rows, not the sync's memory.
//!
//! A name resolves when exactly one staged account has it; a name two accounts share (one
//! username in two branches of a directory) could mean either, so it resolves to neither, and
//! the pair is counted as unresolved. A resolved pair is keyed again as the pair of the
//! account's external id (`access_pair_key`, the twin of `engine::access_key`), so that its
//! open row folds the same whichever name it was listed by.
//!
//! An inherited pair (a member of a member group) that names no account is left out, not
//! counted: the member group's own pair counts it once already.

use tokio_postgres::Transaction;
use uuid::Uuid;

const ANY_BY_NAME: &str = "SELECT EXISTS (SELECT 1 FROM stage_access WHERE by_member_name)";

/// `min = max`: one account has the name (an aggregate a hash can compute, unlike a
/// `count(DISTINCT …)`).
const RESOLVE: &str = "
    UPDATE stage_access sa
    SET account_external_id = n.external_id, by_member_name = false,
        pair_key = access_pair_key(i.access_key_secret, sa.resource_external_id, n.external_id)
    FROM (SELECT name, min(external_id) AS external_id
          FROM stage_accounts, unnest(member_names) AS name
          GROUP BY name HAVING min(external_id) = max(external_id)) n,
         integrations i
    WHERE sa.by_member_name AND n.name = sa.account_external_id AND i.id = $1";

const DROP_UNRESOLVED_INHERITED: &str =
    "DELETE FROM stage_access WHERE by_member_name AND inherited";

/// Resolves the staged pairs given by member name; those left name no single account.
pub(super) async fn resolve(
    tx: &Transaction<'_>,
    integration_id: Uuid,
) -> Result<(), tokio_postgres::Error> {
    if !tx.query_one(ANY_BY_NAME, &[]).await?.get::<_, bool>(0) {
        return Ok(());
    }
    tx.execute(RESOLVE, &[&integration_id]).await?;
    tx.execute(DROP_UNRESOLVED_INHERITED, &[]).await?;
    tx.batch_execute("ANALYZE stage_access").await
}
