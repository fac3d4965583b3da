//! What one change in a dry run's difference is: a membership added, removed or changed between
//! direct and inherited, or an account or resource created, updated or soft deleted. Listed in
//! this order (ListSyncRunChanges).

text_enum! {
    pub enum RunChangeKind as "run change kind" {
        AccessAdded = "access_added",
        AccessRemoved = "access_removed",
        /// Held directly before and now through a member group only, or the other way round.
        AccessUpdated = "access_updated",
        AccountCreated = "account_created",
        /// Its username, email or display name, its attributes or its link to an Oblique user
        /// changed, or it re-appeared after being soft deleted.
        AccountUpdated = "account_updated",
        AccountDeleted = "account_deleted",
        ResourceCreated = "resource_created",
        /// Its type, name or description changed, or it re-appeared after being soft deleted.
        ResourceUpdated = "resource_updated",
        ResourceDeleted = "resource_deleted",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name_and_nothing_else_does() {
        for &kind in RunChangeKind::ALL {
            assert_eq!(RunChangeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(RunChangeKind::ALL.len(), 9);
        assert_eq!(RunChangeKind::parse("ACCESS_ADDED"), None);
    }
}
