//! The generated LDAP directory: how big it is and its LDIF. Kept apart from the run so that the
//! shape of the data (which users belong to which groups, what a complete sync must land) can be
//! read, and unit-tested, without a server.
//!
//! Base entries, N inetOrgPerson users under `ou=people`, M groupOfNames under `ou=groups`, the
//! memberships spread evenly over the groups.

use std::io::Write;

use super::SUFFIX;
use crate::Landed;

/// How big the generated directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LdapSizes {
    pub users: u64,
    pub groups: u64,
    pub memberships: u64,
}

impl LdapSizes {
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.users > 0 && self.groups > 0,
            "--ldap-users and --ldap-groups must be at least 1"
        );
        anyhow::ensure!(
            self.memberships >= self.groups,
            "--ldap-memberships {} is fewer than --ldap-groups {}: each group needs a member",
            self.memberships,
            self.groups
        );
        anyhow::ensure!(
            self.memberships.div_ceil(self.groups) <= self.users,
            "--ldap-memberships {} is too many: a group can have at most {} members",
            self.memberships,
            self.users
        );
        Ok(())
    }

    /// What a complete sync of the generated directory lands.
    pub fn expected(&self) -> Landed {
        Landed {
            accounts: self.users as i64,
            attributes: (self.users * USER_ATTRIBUTES) as i64,
            resources: self.groups as i64,
            access: self.memberships as i64,
            users: self.users as i64,
        }
    }

    /// Member slots per group (the last ones of some groups stay empty).
    fn slots(&self) -> u64 {
        self.memberships.div_ceil(self.groups)
    }

    /// The members (user indexes) of group `g`: slots `s` with `s * groups + g < memberships`,
    /// slot `s` being user `(g + s * stride) mod users`, distinct since the stride is coprime
    /// with the user count and there are at most `users` slots.
    fn members(&self, g: u64, stride: u64) -> impl Iterator<Item = u64> + '_ {
        (0..self.slots())
            .filter(move |s| s * self.groups + g < self.memberships)
            .map(move |s| (g + s * stride) % self.users)
    }

    fn stride(&self) -> u64 {
        let mut stride = 7919;
        while gcd(stride, self.users) != 1 {
            stride += 1;
        }
        stride
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Attribute rows per account: the connector's `dn`, and the 7 generated attributes besides uid
/// and mail that it copies by default (cn, givenName, sn, title, departmentNumber, employeeType,
/// telephoneNumber).
const USER_ATTRIBUTES: u64 = 8;

fn user_dn(i: u64) -> String {
    format!("uid=user{i},ou=people,{SUFFIX}")
}

/// Writes the whole directory as LDIF.
pub fn write_ldif(out: &mut dyn Write, sizes: &LdapSizes) -> std::io::Result<()> {
    write!(
        out,
        "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\n\
         o: Example\n\n\
         dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n\n"
    )?;
    for i in 0..sizes.users {
        write!(
            out,
            "dn: {}\nobjectClass: inetOrgPerson\nuid: user{i}\ncn: User {i}\n\
             givenName: User\nsn: Number{i}\nmail: user{i}@example.org\n\
             title: Engineer {}\ndepartmentNumber: D{}\nemployeeType: staff\n\
             telephoneNumber: +1 555 {i:07}\n\n",
            user_dn(i),
            i % 10,
            i % 50
        )?;
    }
    let stride = sizes.stride();
    for g in 0..sizes.groups {
        write!(
            out,
            "dn: cn=group{g},ou=groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: group{g}\n\
             description: Group {g}\n"
        )?;
        for member in sizes.members(g, stride) {
            writeln!(out, "member: {}", user_dn(member))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::LdapSizes;

    #[test]
    fn spreads_memberships_evenly_and_uniquely() {
        let sizes = LdapSizes {
            users: 20,
            groups: 3,
            memberships: 10,
        };
        sizes.check().unwrap();
        let stride = sizes.stride();
        let mut total = 0;
        for g in 0..sizes.groups {
            let mut members: Vec<u64> = sizes.members(g, stride).collect();
            assert!(!members.is_empty());
            assert!(members.len() >= 3 && members.len() <= 4);
            total += members.len();
            members.sort();
            members.dedup();
            assert_eq!(members.len(), sizes.members(g, stride).count());
        }
        assert_eq!(total, 10);
    }
}
