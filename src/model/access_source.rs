//! Where a piece of access comes from: the remote's own membership, or a decision of Oblique's.

text_enum! {
    pub enum AccessSource as "access source" {
        /// A member on the remote that no decision explains (a pull-mode resource's members).
        Remote = "remote",
        /// A grant made through the API.
        Grant = "grant",
        /// A remote member adopted as a grant when its resource switched to push mode.
        RemoteAdopted = "remote_adopted",
        /// A member of the team the resource was made for.
        Team = "team",
        /// A remote member through a member group only (an LDAP nested group): never pushed.
        RemoteInherited = "remote_inherited",
    }
}
