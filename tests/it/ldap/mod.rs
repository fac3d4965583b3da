//! The `ldap` integration type against a real OpenLDAP slapd: setup checks, what a sync pulls
//! (users, attributes, groups, memberships by member, uniqueMember and memberUid), paging past
//! the server's size limit, renames, deletions and unreadable entries; what a push changes on
//! the server, connector-level, and end to end through the gRPC API (grants, drift, outages).
//!
//! This module holds the shared fixtures; each submodule covers one concern.

mod changes;
mod nested;
mod paging;
mod pull;
mod push;
mod push_end_to_end;
mod setup;
mod tls;

pub(super) use crate::harness::calls::attribute;

pub(super) fn pair(resource: &str, account: &str) -> (String, String) {
    (resource.to_string(), account.to_string())
}

pub(super) const PEOPLE: &str = "
dn: uid=alice,ou=people,{base}
objectClass: inetOrgPerson
uid: alice
cn: Alice Archer
displayName: Alice A.
sn: Archer
givenName: Alice
mail: alice@example.org
title: Zookeeper
title: Accountant
title: Mediator
telephoneNumber: +1 555 0101

dn: uid=bob,ou=people,{base}
objectClass: inetOrgPerson
uid: bob
cn: Bob Baker
sn: Baker
employeeType: contractor

dn: uid=carol,ou=people,{base}
objectClass: inetOrgPerson
uid: carol
cn: Carol Cole
sn: Cole
";
