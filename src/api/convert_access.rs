//! Rows of users, access, grants and sync errors to messages.

use uuid::Uuid;

use super::convert::{account, optional_timestamp, timestamp};
use super::convert_values::propagation_status;
use crate::domain::access::{AccessRow, HistoryRow};
use crate::domain::grants::GrantView;
use crate::domain::runs::SyncErrorRow;
use crate::domain::users::{LinkedAccount, UserRow};
use crate::model::AccessSource;
use crate::pb;

/// A user with the given accounts (ListUsers passes none).
pub fn user(row: UserRow, accounts: Vec<LinkedAccount>) -> pb::User {
    pb::User {
        id: row.id.to_string(),
        email: row.email.unwrap_or_default(),
        username: row.username,
        display_name: row.display_name,
        accounts: accounts
            .into_iter()
            .map(|linked| account(linked.account, linked.last_pulled_at))
            .collect(),
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
    }
}

/// An effective-access row. Pulled access is the remote's own state, so in sync by definition;
/// a past decision has no propagation status (UNSPECIFIED): its pushing is not kept.
pub fn access_entry(row: AccessRow) -> pb::AccessEntry {
    pb::AccessEntry {
        resource_id: row.resource_id.to_string(),
        user_id: optional_id(row.user_id),
        account_id: optional_id(row.account_id),
        source: access_source(row.source).into(),
        propagation_status: row
            .status
            .map_or(pb::PropagationStatus::Unspecified, propagation_status)
            .into(),
        propagation_error: row.error.unwrap_or_default(),
        propagation_attempts: row.attempts,
        grant_id: optional_id(row.grant_id),
        since: Some(timestamp(row.since)),
        username: row.username.unwrap_or_default(),
        user_display_name: row.user_display_name.unwrap_or_default(),
        account_username: row.account_username.unwrap_or_default(),
        account_display_name: row.account_display_name.unwrap_or_default(),
    }
}

/// A grant with the state of pushing its membership. With no `propagations` row, an active
/// grant on a resource still pushed to is PENDING (the engine has not looked at it yet); any
/// other grant has nothing being pushed for it (UNSPECIFIED).
pub fn grant(view: GrantView) -> pb::Grant {
    let row = view.grant;
    let status = match view.propagation_status {
        Some(status) => propagation_status(status),
        None if view.pushed && row.is_active() => pb::PropagationStatus::Pending,
        None => pb::PropagationStatus::Unspecified,
    };
    pb::Grant {
        id: row.id.to_string(),
        resource_id: row.resource_id.to_string(),
        user_id: row.user_id.to_string(),
        reason: row.reason,
        granted_by: row.granted_by,
        granted_at: Some(timestamp(row.granted_at)),
        expires_at: optional_timestamp(row.expires_at),
        revoked_at: optional_timestamp(row.revoked_at),
        revoked_by: row.revoked_by.unwrap_or_default(),
        revoke_reason: row.revoke_reason.unwrap_or_default(),
        propagation_status: status.into(),
        propagation_error: view.propagation_error.unwrap_or_default(),
        propagation_attempts: view.propagation_attempts.unwrap_or(0),
        source: access_source(row.source).into(),
    }
}

pub fn history_entry(row: HistoryRow, grant: pb::Grant) -> pb::AccessHistoryEntry {
    pb::AccessHistoryEntry {
        action: row.action.to_string(),
        at: Some(timestamp(row.at)),
        grant: Some(grant),
    }
}

fn optional_id(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

fn access_source(source: AccessSource) -> pb::AccessSource {
    match source {
        AccessSource::Remote => pb::AccessSource::Remote,
        AccessSource::Grant => pb::AccessSource::Grant,
        AccessSource::RemoteAdopted => pb::AccessSource::RemoteAdopted,
        AccessSource::Team => pb::AccessSource::Team,
        AccessSource::RemoteInherited => pb::AccessSource::RemoteInherited,
    }
}

pub fn sync_error(row: SyncErrorRow) -> pb::SyncError {
    pb::SyncError {
        object: row.object,
        message: row.message,
        first_seen: Some(timestamp(row.first_seen)),
        last_seen: Some(timestamp(row.last_seen)),
        count: row.count,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use crate::model::PropagationStatus;

    use super::*;

    fn access_row(source: &str, status: Option<&str>) -> AccessRow {
        AccessRow {
            key: String::new(),
            resource_id: Uuid::now_v7(),
            account_id: Some(Uuid::now_v7()),
            user_id: None,
            source: AccessSource::parse(source).unwrap(),
            status: status.map(|s| PropagationStatus::parse(s).unwrap()),
            error: None,
            attempts: 0,
            grant_id: None,
            since: Utc::now(),
            username: None,
            user_display_name: None,
            account_username: Some("alice".into()),
            account_display_name: Some("Alice A.".into()),
        }
    }

    #[test]
    fn pulled_access_is_remote_and_in_sync() {
        let row = access_row("remote", Some("in_sync"));
        let since = row.since;
        let entry = access_entry(row);
        assert_eq!(entry.source(), pb::AccessSource::Remote);
        assert_eq!(entry.propagation_status(), pb::PropagationStatus::InSync);
        assert_eq!(entry.user_id, "");
        assert_eq!(entry.since, Some(timestamp(since)));
        assert_eq!(
            (entry.username.as_str(), entry.account_username.as_str()),
            ("", "alice")
        );
    }

    #[test]
    fn sources_and_statuses_map_to_their_enums() {
        let cases = [
            ("grant", pb::AccessSource::Grant),
            ("remote_adopted", pb::AccessSource::RemoteAdopted),
            ("team", pb::AccessSource::Team),
            ("remote", pb::AccessSource::Remote),
        ];
        for (source, expected) in cases {
            assert_eq!(access_entry(access_row(source, None)).source(), expected);
        }
        let statuses = [
            (Some("pending"), pb::PropagationStatus::Pending),
            (Some("error"), pb::PropagationStatus::Error),
            (Some("in_sync"), pb::PropagationStatus::InSync),
            (None, pb::PropagationStatus::Unspecified),
        ];
        for (status, expected) in statuses {
            let entry = access_entry(access_row("grant", status));
            assert_eq!(entry.propagation_status(), expected);
        }
    }

    fn grant_view(pushed: bool, status: Option<&str>, revoked: bool) -> GrantView {
        let now = Utc::now();
        GrantView {
            grant: crate::domain::grants::GrantRow {
                id: Uuid::now_v7(),
                resource_id: Uuid::now_v7(),
                user_id: Uuid::now_v7(),
                source: AccessSource::RemoteAdopted,
                reason: "why".into(),
                granted_by: "alice".into(),
                granted_at: now,
                expires_at: None,
                revoked_at: revoked.then_some(now),
                revoked_by: revoked.then(|| "bob".into()),
                revoke_reason: revoked.then(|| "done".into()),
                deleted_at: None,
            },
            propagation_status: status.map(|s| PropagationStatus::parse(s).unwrap()),
            propagation_error: status.map(|_| "refused".into()),
            propagation_attempts: status.map(|_| 3),
            pushed,
        }
    }

    #[test]
    fn grants_carry_their_propagation() {
        let pushed = grant(grant_view(true, Some("error"), false));
        assert_eq!(pushed.source(), pb::AccessSource::RemoteAdopted);
        assert_eq!(pushed.propagation_status(), pb::PropagationStatus::Error);
        assert_eq!(pushed.propagation_error, "refused");
        assert_eq!(pushed.propagation_attempts, 3);
        assert!(pushed.revoked_at.is_none());
        assert_eq!(pushed.revoked_by, "");
        let unseen = grant(grant_view(true, None, false));
        assert_eq!(unseen.propagation_status(), pb::PropagationStatus::Pending);
        let not_pushed = grant(grant_view(false, None, false));
        assert_eq!(
            not_pushed.propagation_status(),
            pb::PropagationStatus::Unspecified
        );
        let revoked = grant(grant_view(true, None, true));
        assert_eq!(
            revoked.propagation_status(),
            pb::PropagationStatus::Unspecified
        );
        assert_eq!(revoked.revoked_by, "bob");
        assert_eq!(revoked.revoke_reason, "done");
    }
}
