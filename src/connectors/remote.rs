//! What connectors read from remote systems, in the engine's terms.

use futures::stream::BoxStream;

use super::ConnectorError;
use crate::model::ResourceType;

/// A user as the remote system knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteAccount {
    /// Stable across renames (an LDAP entryUUID, a PostgreSQL role oid …).
    pub external_id: String,
    pub username: String,
    pub email: Option<String>,
    pub display_name: String,
    /// Name → values, multi-valued ones in the remote's order.
    pub attributes: Vec<(String, Vec<String>)>,
    /// Other names the access listing may give this account by (see
    /// [`RemoteAccess::by_member_name`]): an LDAP user's DN and username, normalised. The
    /// engine resolves them in staging, so a connector keeps no index of every user.
    pub member_names: Vec<String>,
}

/// A group, role, repository … that accounts can be members of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteResource {
    pub external_id: String,
    pub resource_type: ResourceType,
    pub name: String,
    pub description: String,
    /// The names other resources' access may give this one by as a member (an LDAP group's
    /// DN, when nested groups are expanded by Oblique): its members then have the other's
    /// access too, inherited. The engine computes that closure in staging.
    pub member_names: Vec<String>,
}

/// An account's membership of a resource, by their external ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteAccess {
    pub resource_external_id: String,
    /// The account's external id or, when `by_member_name`, one of its `member_names`.
    pub account_external_id: String,
    /// The account is named by a member name (an LDAP group's member DN), which the engine
    /// resolves to the account listed with that name. A name no listed account has, or more
    /// than one has, resolves to none: the pair is counted as unresolved.
    pub by_member_name: bool,
    /// Held through membership of a member group (an LDAP nested group), not given on the
    /// resource itself: shown as such, and never pushed.
    pub inherited: bool,
}

/// One remote object that could not be read (a missing username, a value that is not UTF-8…).
/// It is recorded as a sync error and skipped; the rest of the listing goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectProblem {
    /// The object's external id when it is known: a known object is not soft deleted for being
    /// unreadable this time.
    pub external_id: Option<String>,
    /// How a person finds the object, e.g. `account:uid=jdoe,ou=people,dc=example,dc=org`.
    pub object: String,
    pub message: String,
}

/// Each listed item: the object, or why it could not be read.
pub type Listed<T> = Result<T, ObjectProblem>;

/// A listing: pages of objects, so any directory size fits in bounded memory. An `Err` page
/// means the system is unreachable or refused us: the run fails and nothing is applied.
pub type PageStream<'a, T> = BoxStream<'a, Result<Vec<Listed<T>>, ConnectorError>>;
