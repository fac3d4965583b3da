//! A change Oblique makes on a remote system, as its intent records it (`remote_intents`).

text_enum! {
    pub enum RemoteOp as "remote operation" {
        /// A push adds a member to a resource.
        AddMember = "add_member",
        /// A push removes a member from a resource.
        RemoveMember = "remove_member",
        /// A new team gets its resource.
        CreateResource = "create_resource",
    }
}
