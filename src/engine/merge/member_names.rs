//! Pairs that name their member by a member name (an LDAP group's member DN or memberUid, see
//! `RemoteAccess::by_member_name`) are resolved here, in SQL, against the names the staged
//! accounts and resources were listed with: a connector then needs no index of every user in
//! memory, and the directory's size costs staging rows, not the sync's memory. Staging
//! resolves the account names itself while they fit in its budget (`stage::names`, cheaper:
//! keying a pair here costs ~7 µs); what it leaves, and every name past that budget, is
//! resolved here with the same result.
//!
//! A name resolves when exactly one staged account (or resource) has it; a name two accounts
//! share (one username in two branches of a directory) could mean either, so it resolves to
//! neither, and the pair is counted as unresolved. A resolved pair is keyed again as the pair
//! of the account's external id (`access_pair_key`, the twin of `engine::access_key`), so that
//! its open row folds the same whichever name it was listed by.
//!
//! A pair naming a resource makes that resource a member resource (an LDAP group nested in
//! another, when Oblique expands nested groups): the pair itself is no access, and the
//! accounts the member resource holds directly, at any depth, get the other's access as
//! inherited pairs (a cycle of groups ends where it began; an account that is a direct member
//! stays direct). An inherited pair that names no account is left out, not counted: the pair
//! at its own resource counts it once already.

use tokio_postgres::Transaction;
use uuid::Uuid;

/// Staging leaves pairs by a name it did not resolve in `stage_named_access`.
const ANY_BY_NAME: &str = "
    SELECT EXISTS (SELECT 1 FROM stage_named_access),
           EXISTS (SELECT 1 FROM stage_resources WHERE cardinality(member_names) > 0)";

/// Each name one staged resource has, and the pairs naming it as member: resource nesting.
/// `min = max`: one object has the name (an aggregate a hash can compute, unlike a
/// `count(DISTINCT …)`).
const FIND_NESTING: &str = "
    CREATE TEMP TABLE stage_nesting ON COMMIT DROP AS
    SELECT DISTINCT na.resource_external_id AS parent, n.external_id AS child
    FROM stage_named_access na
    JOIN (SELECT member_name, min(external_id) AS external_id
          FROM stage_resources, unnest(member_names) AS m (member_name)
          GROUP BY member_name HAVING min(external_id) = max(external_id)) n
      ON n.member_name = na.member_name
    WHERE NOT na.inherited";

const DROP_NESTING_PAIRS: &str = "
    DELETE FROM stage_named_access na
    USING (SELECT DISTINCT member_name
           FROM stage_resources, unnest(member_names) AS m (member_name)) n
    WHERE n.member_name = na.member_name";

/// Each pair by name joins the staged pairs: under the one account with that name, keyed as
/// that account's pair, else by its name (`by_member_name`, which names no account) to be
/// counted, unless inherited.
const RESOLVE: &str = "
    INSERT INTO stage_access (id, resource_external_id, account_external_id, pair_key,
                              inherited, by_member_name)
    SELECT gen_random_uuid(), na.resource_external_id,
           coalesce(n.external_id, na.member_name),
           access_pair_key(i.access_key_secret, na.resource_external_id,
                           coalesce(n.external_id, na.member_name)),
           na.inherited, n.external_id IS NULL
    FROM stage_named_access na
    LEFT JOIN (SELECT member_name, min(external_id) AS external_id
               FROM stage_accounts, unnest(member_names) AS m (member_name)
               GROUP BY member_name HAVING min(external_id) = max(external_id)) n
      ON n.member_name = na.member_name
    JOIN integrations i ON i.id = $1
    WHERE n.external_id IS NOT NULL OR NOT na.inherited";

/// The resources each resource holds at any depth (UNION stops at a cycle), and the accounts
/// those hold directly (resolved), as inherited pairs of the outer one unless it holds them
/// directly. The ids are random, not time-ordered: any id will do for a row the merge inserts.
const INHERIT: &str = "
    INSERT INTO stage_access (id, resource_external_id, account_external_id, pair_key,
                              inherited, by_member_name)
    WITH RECURSIVE reach (root, held) AS (
        SELECT parent, child FROM stage_nesting
        UNION
        SELECT r.root, n.child FROM reach r JOIN stage_nesting n ON n.parent = r.held)
    SELECT gen_random_uuid(), x.root, x.account,
           access_pair_key(i.access_key_secret, x.root, x.account), true, false
    FROM (SELECT DISTINCT r.root, d.account_external_id AS account
          FROM reach r
          JOIN stage_access d ON d.resource_external_id = r.held
                             AND NOT d.by_member_name AND NOT d.inherited
          WHERE r.root <> r.held
            AND NOT EXISTS (SELECT 1 FROM stage_access o
                            WHERE o.resource_external_id = r.root
                              AND o.account_external_id = d.account_external_id
                              AND NOT o.by_member_name AND NOT o.inherited)) x,
         integrations i
    WHERE i.id = $1";

/// Resolves the pairs staging left by member name and expands member resources; the pairs
/// left by name name no single account.
pub(super) async fn resolve(
    tx: &Transaction<'_>,
    integration_id: Uuid,
) -> Result<(), tokio_postgres::Error> {
    let any = tx.query_one(ANY_BY_NAME, &[]).await?;
    let (by_name, resources_named): (bool, bool) = (any.get(0), any.get(1));
    if !by_name {
        return Ok(());
    }
    let id = &integration_id;
    tx.batch_execute("ANALYZE stage_named_access").await?;
    let nesting = match resources_named {
        true => tx.execute(FIND_NESTING, &[]).await?,
        false => 0,
    };
    if nesting > 0 {
        tx.execute(DROP_NESTING_PAIRS, &[]).await?;
    }
    tx.execute(RESOLVE, &[id]).await?;
    tx.batch_execute("ANALYZE stage_access").await?;
    if nesting > 0 {
        tx.batch_execute("ANALYZE stage_nesting").await?;
        tx.execute(INHERIT, &[id]).await?;
    }
    Ok(())
}
