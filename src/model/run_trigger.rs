//! Why a sync run was queued.

use diesel::expression::AsExpression;
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};

use super::text_column::text_column;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    AsExpression,
    diesel::deserialize::FromSqlRow,
    Serialize,
    Deserialize,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    /// The integration was just created.
    Created,
    /// Its sync interval passed, or a run whose worker died is retried.
    Scheduled,
    /// Someone called TriggerSync.
    Manual,
    /// A team's membership changed and push-mode resources follow it.
    Team,
    /// A grant was made, revoked or expired, or a push is due for a retry.
    Grant,
}

impl RunTrigger {
    pub const ALL: [RunTrigger; 5] = [
        RunTrigger::Created,
        RunTrigger::Scheduled,
        RunTrigger::Manual,
        RunTrigger::Team,
        RunTrigger::Grant,
    ];

    /// The name in the database and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            RunTrigger::Created => "created",
            RunTrigger::Scheduled => "scheduled",
            RunTrigger::Manual => "manual",
            RunTrigger::Team => "team",
            RunTrigger::Grant => "grant",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|trigger| trigger.as_str() == name)
    }
}

text_column!(RunTrigger, "run trigger");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trigger_reads_back_from_its_name_and_nothing_else_does() {
        for trigger in RunTrigger::ALL {
            assert_eq!(RunTrigger::parse(trigger.as_str()), Some(trigger));
        }
        assert_eq!(RunTrigger::parse("Manual"), None);
        assert_eq!(RunTrigger::parse("push"), None);
    }
}
