//! A resource's sync mode: who is the source of truth for its members.

text_enum! {
    pub enum SyncMode as "sync mode" {
        /// The integration is: Oblique mirrors the remote and never writes to it (the default).
        Pull = "pull",
        /// Oblique is: it pushes its decisions and corrects drift.
        Push = "push",
    }
}
