//! What a push must do: one step per (push-mode resource, user or remote member), with what the
//! last push of each did.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Uuid as SqlUuid};
use uuid::Uuid;

use crate::model::{PropagationStatus, PushOp};

/// Every operation the push-mode resources of an integration need, with what the last push of
/// each did. `op`: add (desired, not a remote member), remove (a remote member not desired),
/// keep (both).
///
/// A desired user is added by one account (the first whose link is not held), but is a member
/// through any of their accounts whose link is not held: a user with two accounts in the
/// integration keeps both, and gets no second one added. An account with a held link counts
/// only as the one chosen for its user.
pub(super) const PLAN: &str = "
    WITH push_resources AS (
        SELECT id, external_id, name FROM resources
        WHERE integration_id = $1 AND deleted_at IS NULL AND sync_mode = 'push'
    ), desired AS (
        SELECT DISTINCT d.resource_id, d.user_id,
               (SELECT a.id FROM accounts a
                WHERE a.integration_id = $1 AND a.user_id = d.user_id AND a.deleted_at IS NULL
                ORDER BY a.link_conflict IS NOT NULL, a.id LIMIT 1) AS account_id
        FROM desired_access d JOIN push_resources r ON r.id = d.resource_id
    ), actual AS (
        SELECT p.resource_id, p.account_id, a.user_id, a.link_conflict IS NULL AS linked
        FROM pulled_access p
        JOIN push_resources r ON r.id = p.resource_id
        JOIN accounts a ON a.id = p.account_id
        -- A member through a member group only is not on the group itself: pushing compares
        -- with the group's own member values.
        WHERE p.removed_at IS NULL AND NOT p.inherited
    ), kept AS (
        SELECT x.resource_id, d.user_id, x.account_id FROM actual x
        JOIN desired d ON d.resource_id = x.resource_id
                      AND (d.account_id = x.account_id OR (x.linked AND d.user_id = x.user_id))
    ), plan AS (
        SELECT 'add' AS op, d.resource_id, d.user_id, d.account_id FROM desired d
        WHERE d.account_id IS NULL
           OR NOT EXISTS (SELECT 1 FROM kept k
                          WHERE k.resource_id = d.resource_id AND k.user_id = d.user_id)
        UNION ALL
        SELECT 'remove', x.resource_id, x.user_id, x.account_id FROM actual x
        WHERE NOT EXISTS (SELECT 1 FROM kept k
                          WHERE k.resource_id = x.resource_id AND k.account_id = x.account_id)
        UNION ALL
        SELECT 'keep', k.resource_id, k.user_id, k.account_id FROM kept k
    )
    SELECT plan.op, plan.resource_id, r.external_id AS resource_external_id,
           r.name AS resource_name, plan.user_id, plan.account_id,
           a.external_id AS account_external_id, a.username, a.link_conflict,
           pr.status AS last_status, pr.version, COALESCE(pr.attempts, 0) AS attempts,
           COALESCE(pr.next_attempt_at <= now(), true) AS due
    FROM plan
    JOIN push_resources r ON r.id = plan.resource_id
    LEFT JOIN accounts a ON a.id = plan.account_id
    LEFT JOIN propagations pr ON pr.resource_id = plan.resource_id AND pr.user_id = plan.user_id
    ORDER BY plan.resource_id, plan.op, a.username";

#[derive(Debug, QueryableByName)]
pub(super) struct Step {
    /// Read strictly: a word the plan does not make is an error, never some other operation.
    #[diesel(sql_type = Text)]
    pub(super) op: PushOp,
    #[diesel(sql_type = SqlUuid)]
    pub(super) resource_id: Uuid,
    #[diesel(sql_type = Text)]
    pub(super) resource_external_id: String,
    #[diesel(sql_type = Text)]
    pub(super) resource_name: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub(super) user_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub(super) account_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub(super) account_external_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub(super) username: Option<String>,
    /// Set when the account's link to the user is held: nothing that gives access goes to it.
    #[diesel(sql_type = Nullable<Text>)]
    pub(super) link_conflict: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub(super) last_status: Option<PropagationStatus>,
    /// The version of the propagation row the plan was made from (`None`: no row).
    #[diesel(sql_type = Nullable<BigInt>)]
    pub(super) version: Option<i64>,
    #[diesel(sql_type = Integer)]
    pub(super) attempts: i32,
    #[diesel(sql_type = Bool)]
    pub(super) due: bool,
}
