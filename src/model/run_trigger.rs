//! Why a sync run was queued.

text_enum! {
    pub enum RunTrigger as "run trigger" {
        /// The integration was just created.
        Created = "created",
        /// Its sync interval passed, or a run whose worker died is retried.
        Scheduled = "scheduled",
        /// Someone called TriggerSync.
        Manual = "manual",
        /// A team's membership changed and push-mode resources follow it.
        Team = "team",
        /// A grant was made, revoked or expired, or a push is due for a retry.
        Grant = "grant",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trigger_reads_back_from_its_name_and_nothing_else_does() {
        for &trigger in RunTrigger::ALL {
            assert_eq!(RunTrigger::parse(trigger.as_str()), Some(trigger));
        }
        assert_eq!(RunTrigger::parse("Manual"), None);
        assert_eq!(RunTrigger::parse("push"), None);
    }
}
