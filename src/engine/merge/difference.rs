//! The whole difference a merge made, read back inside its transaction (a dry run's, before it
//! rolls back) as one binary COPY of `sync_run_changes` rows in list order: by kind (in
//! [`RunChangeKind`]'s order), resource name, account username, then external ids.
//!
//! What this transaction changed is told by its start time: rows it created, updated, restored
//! or soft deleted carry `now()` in created_at / updated_at / deleted_at. Access pairs come from
//! `access_changes` (see [`super::access`]), changed attributes from `attribute_changes` (see
//! [`super::attributes`]). Ids are given only for objects that existed before the run
//! (`created_at <> now()`): an id the rolled-back transaction made names nothing.
//!
//! The merge's planner settings still hold (no nested loops): open and closed access rows are
//! found through the changed resources (`access_changed`) with an index, never by scanning every
//! integration's access history, and a first dry run of a million memberships is hashed and
//! sorted within `work_mem`, spilling to disk rather than growing.

use uuid::Uuid;

use crate::db::run_changes::COPY_COLUMNS;
use crate::model::RunChangeKind::{self, *};

/// A change's resource and account columns, for objects that may be new.
const RESOURCE: &str = "CASE WHEN r.created_at <> now() THEN r.id END, r.external_id, r.name";
const ACCOUNT: &str =
    "CASE WHEN a.created_at <> now() THEN a.id END, a.external_id, a.username, a.display_name";
const NO_RESOURCE: &str = "NULL::uuid, NULL::text, NULL::text";
const NO_ACCOUNT: &str = "NULL::uuid, NULL::text, NULL::text, NULL::text";

/// The pairs the merge opened: as it opened them (one row per pair, a direct listing winning).
const ACCESS_ADDED: &str = "
    FROM (SELECT DISTINCT ON (resource_id, account_id) resource_id, account_id, inherited
          FROM access_changes
          WHERE open_id IS NULL AND resource_id IS NOT NULL AND account_id IS NOT NULL
          ORDER BY resource_id, account_id, inherited, new_id) ch
    JOIN resources r ON r.id = ch.resource_id AND r.integration_id = {integration}
    JOIN accounts a ON a.id = ch.account_id AND a.integration_id = {integration}";

/// The open rows the merge closed, or whose inheritance it changed (a row listed both ways
/// stays direct: only rows now holding the listed value changed).
const ACCESS_REMOVED_OR_UPDATED: &str = "
    FROM (SELECT DISTINCT open_id, new_id IS NULL AS removed, inherited
          FROM access_changes WHERE open_id IS NOT NULL) ch
    JOIN pulled_access p ON p.id = ch.open_id
    JOIN resources r ON r.id = p.resource_id AND r.integration_id = {integration}
    JOIN accounts a ON a.id = p.account_id AND a.integration_id = {integration}
    WHERE p.resource_id = ANY (ARRAY(SELECT resource_id FROM access_changed
                                     WHERE resource_id IS NOT NULL))
      AND (ch.removed OR p.inherited = ch.inherited)";

/// Accounts whose own columns or link changed, or that were restored; then those whose
/// attributes alone changed (values written, or removed from a listed account).
const ACCOUNTS_UPDATED: &str = "
    FROM accounts a
    WHERE a.integration_id = {integration} AND a.created_at <> now() AND a.deleted_at IS NULL
      AND a.updated_at = now()
    UNION ALL
    SELECT {rank}, {kind}, {no_resource}, {account}, false
    FROM accounts a
    JOIN (SELECT account_id FROM attribute_changes WHERE attribute_values IS NOT NULL
          UNION
          SELECT ch.account_id FROM attribute_changes ch
          JOIN stage_accounts s ON s.external_id = ch.external_id
          WHERE ch.attribute_values IS NULL) t ON t.account_id = a.id
    WHERE a.integration_id = {integration} AND a.created_at <> now() AND a.deleted_at IS NULL
      AND a.updated_at <> now()";

/// `COPY (…) TO STDOUT` of the run's difference as `sync_run_changes` rows ([`COPY_COLUMNS`]).
/// `with_access`: the access merge compared pairs (made `access_changes`); without, no access
/// changed. COPY takes no parameters, so the ids and words are written into the statement:
/// UUIDs and the model's fixed words, nothing a caller or a remote system chose.
pub fn copy_out_sql(integration_id: Uuid, run_id: Uuid, with_access: bool) -> String {
    let integration = format!("'{integration_id}'::uuid");
    let fill = |template: &str, kind: RunChangeKind| {
        template
            .replace("{integration}", &integration)
            .replace("{rank}", &rank(kind).to_string())
            .replace("{kind}", &word(kind))
            .replace("{no_resource}", NO_RESOURCE)
            .replace("{account}", ACCOUNT)
    };
    let mut branches = Vec::new();
    if with_access {
        branches.push(format!(
            "SELECT {}, {}, {RESOURCE}, {ACCOUNT}, ch.inherited {}",
            rank(AccessAdded),
            word(AccessAdded),
            fill(ACCESS_ADDED, AccessAdded)
        ));
        branches.push(format!(
            "SELECT CASE WHEN ch.removed THEN {} ELSE {} END,
                    CASE WHEN ch.removed THEN {} ELSE {} END,
                    {RESOURCE}, {ACCOUNT}, p.inherited {}",
            rank(AccessRemoved),
            rank(AccessUpdated),
            word(AccessRemoved),
            word(AccessUpdated),
            fill(ACCESS_REMOVED_OR_UPDATED, AccessRemoved)
        ));
    }
    let accounts = |kind, filter: &str| {
        format!(
            "SELECT {}, {}, {NO_RESOURCE}, {ACCOUNT}, false FROM accounts a
             WHERE a.integration_id = {integration} AND {filter}",
            rank(kind),
            word(kind)
        )
    };
    let resources = |kind, filter: &str| {
        format!(
            "SELECT {}, {}, {RESOURCE}, {NO_ACCOUNT}, false FROM resources r
             WHERE r.integration_id = {integration} AND {filter}",
            rank(kind),
            word(kind)
        )
    };
    branches.push(accounts(AccountCreated, "a.created_at = now()"));
    branches.push(format!(
        "SELECT {}, {}, {NO_RESOURCE}, {ACCOUNT}, false {}",
        rank(AccountUpdated),
        word(AccountUpdated),
        fill(ACCOUNTS_UPDATED, AccountUpdated)
    ));
    branches.push(accounts(AccountDeleted, "a.deleted_at = now()"));
    branches.push(resources(ResourceCreated, "r.created_at = now()"));
    branches.push(resources(
        ResourceUpdated,
        "r.created_at <> now() AND r.deleted_at IS NULL AND r.updated_at = now()",
    ));
    branches.push(resources(ResourceDeleted, "r.deleted_at = now()"));

    // Sorted as it is numbered, so the rows arrive in `seq` order without a second sort.
    let order = "rank, resource_name, account_username, resource_external_id, account_external_id";
    format!(
        "COPY (
             SELECT {COPY_COLUMNS} FROM (
                 SELECT '{run_id}'::uuid AS run_id, row_number() OVER (ORDER BY {order}) AS seq,
                        d.*
                 FROM ({}) AS d (rank, kind, resource_id, resource_external_id, resource_name,
                                 account_id, account_external_id, account_username,
                                 account_display_name, inherited)
                 ORDER BY {order}) numbered
         ) TO STDOUT (FORMAT binary)",
        branches.join("\n UNION ALL\n")
    )
}

/// Where the kind sorts: its place in [`RunChangeKind::ALL`].
fn rank(kind: RunChangeKind) -> usize {
    RunChangeKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(RunChangeKind::ALL.len())
}

/// The kind's word as a text literal.
fn word(kind: RunChangeKind) -> String {
    format!("'{}'::text", kind.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_written_and_sorted_in_the_models_order() {
        let sql = copy_out_sql(Uuid::nil(), Uuid::max(), true);
        for &kind in RunChangeKind::ALL {
            assert!(
                sql.contains(&format!("'{}'::text", kind.as_str())),
                "{kind}"
            );
        }
        assert_eq!(rank(AccessAdded), 0);
        assert_eq!(rank(ResourceDeleted), 8);
        assert!(!sql.contains('{'), "a placeholder was left: {sql}");
        let without_access = copy_out_sql(Uuid::nil(), Uuid::max(), false);
        assert!(!without_access.contains("access_changes"));
    }
}
