//! How pushing one decision (a member of a push-mode resource) went, and a resource's summary of
//! its members' pushes (the worst of them).

text_enum! {
    pub enum PropagationStatus as "propagation status" {
        /// Decided, not pushed yet (or being retried after a change).
        Pending = "pending",
        /// The remote holds what Oblique decided.
        InSync = "in_sync",
        /// The last push failed; it is retried with backoff.
        Error = "error",
    }
}
