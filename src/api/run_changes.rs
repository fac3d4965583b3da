//! ListSyncRunChanges' pieces at the edge: a recorded change to its message, and the key its
//! pages start after (the change's number in the run's list).

use uuid::Uuid;

use super::paging::PageKey;
use crate::domain::runs::{RunChangeKind, RunChangeRow};
use crate::pb;

/// A dry run's changes are numbered 1, 2, … in list order.
impl PageKey for i64 {
    fn encode(&self) -> String {
        self.to_string()
    }
    fn decode(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

pub fn run_change(row: RunChangeRow) -> pb::SyncRunChange {
    let id = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
    pb::SyncRunChange {
        kind: change_kind(row.kind).into(),
        resource_id: id(row.resource_id),
        resource_external_id: row.resource_external_id.unwrap_or_default(),
        resource_name: row.resource_name.unwrap_or_default(),
        account_id: id(row.account_id),
        account_external_id: row.account_external_id.unwrap_or_default(),
        account_username: row.account_username.unwrap_or_default(),
        account_display_name: row.account_display_name.unwrap_or_default(),
        inherited: row.inherited,
    }
}

fn change_kind(kind: RunChangeKind) -> pb::SyncRunChangeKind {
    use pb::SyncRunChangeKind as Pb;
    match kind {
        RunChangeKind::AccessAdded => Pb::AccessAdded,
        RunChangeKind::AccessRemoved => Pb::AccessRemoved,
        RunChangeKind::AccessUpdated => Pb::AccessUpdated,
        RunChangeKind::AccountCreated => Pb::AccountCreated,
        RunChangeKind::AccountUpdated => Pb::AccountUpdated,
        RunChangeKind::AccountDeleted => Pb::AccountDeleted,
        RunChangeKind::ResourceCreated => Pb::ResourceCreated,
        RunChangeKind::ResourceUpdated => Pb::ResourceUpdated,
        RunChangeKind::ResourceDeleted => Pb::ResourceDeleted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_message_kind() {
        let mapped: std::collections::BTreeSet<i32> = RunChangeKind::ALL
            .iter()
            .map(|&kind| change_kind(kind) as i32)
            .collect();
        assert_eq!(mapped.len(), RunChangeKind::ALL.len());
        assert!(!mapped.contains(&(pb::SyncRunChangeKind::Unspecified as i32)));
    }

    #[test]
    fn change_numbers_round_trip_and_nothing_else_reads_as_one() {
        assert_eq!(i64::decode(&42i64.encode()), Some(42));
        assert_eq!(i64::decode("4x"), None);
    }
}
