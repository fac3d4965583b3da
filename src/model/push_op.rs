//! What a push does for one (push-mode resource, member): the push plan's `op` column.

text_enum! {
    pub enum PushOp as "push operation" {
        /// Decided, and not a remote member: add it.
        Add = "add",
        /// A remote member nobody decided on: remove it.
        Remove = "remove",
        /// Decided and a remote member already.
        Keep = "keep",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_reads_back_from_its_word_and_nothing_else_does() {
        for op in PushOp::ALL {
            assert_eq!(PushOp::parse(op.as_str()), Some(*op));
        }
        assert_eq!(PushOp::parse("delete"), None);
        assert_eq!(PushOp::parse("Add"), None);
        assert_eq!(PushOp::parse(""), None);
    }
}
