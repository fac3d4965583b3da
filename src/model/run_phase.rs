//! The step a running sync run is in: one listing per kind of object, then the push.

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
pub enum RunPhase {
    Accounts,
    Resources,
    Access,
    Push,
}

impl RunPhase {
    pub const ALL: [RunPhase; 4] = [
        RunPhase::Accounts,
        RunPhase::Resources,
        RunPhase::Access,
        RunPhase::Push,
    ];

    /// The name in the database and in events.
    pub fn as_str(self) -> &'static str {
        match self {
            RunPhase::Accounts => "accounts",
            RunPhase::Resources => "resources",
            RunPhase::Access => "access",
            RunPhase::Push => "push",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|phase| phase.as_str() == name)
    }
}

text_column!(RunPhase, "run phase");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phase_reads_back_from_its_name_and_nothing_else_does() {
        for phase in RunPhase::ALL {
            assert_eq!(RunPhase::parse(phase.as_str()), Some(phase));
            let json = serde_json::to_string(&phase).unwrap();
            assert_eq!(json, format!("\"{}\"", phase.as_str()));
        }
        assert_eq!(RunPhase::parse("Accounts"), None);
        assert!(serde_json::from_str::<RunPhase>("\"listing\"").is_err());
    }
}
