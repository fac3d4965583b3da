//! What kind of object a resource is on its remote system: the word each connector type uses
//! for the things access is granted to.

text_enum! {
    pub enum ResourceType as "resource type" {
        /// A PostgreSQL role that other roles are members of.
        Role = "role",
        /// A directory group (LDAP `groupOfNames` / `groupOfUniqueNames`).
        Group = "group",
    }
}
