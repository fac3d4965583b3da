//! What a run changed, per kind of object; stored as JSON on the run and sent with events.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChangeCounts {
    pub created: i64,
    pub updated: i64,
    pub deleted: i64,
    pub unchanged: i64,
}

impl ChangeCounts {
    pub fn changed(&self) -> i64 {
        self.created + self.updated + self.deleted
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunStats {
    pub accounts: ChangeCounts,
    pub attributes: ChangeCounts,
    pub resources: ChangeCounts,
    pub access: ChangeCounts,
    /// Members pushed to push-mode resources: created = added, deleted = removed, unchanged =
    /// already as decided.
    pub push: ChangeCounts,
    /// Objects that could not be read (recorded as sync errors), and pushes that failed.
    pub errors: i64,
}

impl RunStats {
    pub fn changed(&self) -> i64 {
        self.accounts.changed()
            + self.attributes.changed()
            + self.resources.changed()
            + self.access.changed()
    }
}
