//! The step a running sync run is in: one listing per kind of object, then the push.

text_enum! {
    pub enum RunPhase as "run phase" {
        Accounts = "accounts",
        Resources = "resources",
        Access = "access",
        Push = "push",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phase_reads_back_from_its_name_and_nothing_else_does() {
        for &phase in RunPhase::ALL {
            assert_eq!(RunPhase::parse(phase.as_str()), Some(phase));
            let json = serde_json::to_string(&phase).unwrap();
            assert_eq!(json, format!("\"{}\"", phase.as_str()));
            assert_eq!(serde_json::from_str::<RunPhase>(&json).unwrap(), phase);
        }
        assert_eq!(RunPhase::parse("Accounts"), None);
        assert!(serde_json::from_str::<RunPhase>("\"listing\"").is_err());
    }
}
