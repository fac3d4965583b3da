//! The generated LDAP directory as LDIF: base entries, N inetOrgPerson users under
//! `ou=people`, M groupOfNames under `ou=groups`, the memberships spread over the groups as
//! [`DirectorySizes::members`] says.

use std::io::Write;

use super::SUFFIX;
use crate::directory_sizes::DirectorySizes;

/// Attribute rows per account: the connector's `dn`, and the 7 generated attributes besides uid
/// and mail that it copies by default (cn, givenName, sn, title, departmentNumber, employeeType,
/// telephoneNumber).
pub const USER_ATTRIBUTES: u64 = 8;

fn user_dn(i: u64) -> String {
    format!("uid=user{i},ou=people,{SUFFIX}")
}

/// Writes the whole directory as LDIF.
pub fn write_ldif(out: &mut dyn Write, sizes: &DirectorySizes) -> std::io::Result<()> {
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
    for g in 0..sizes.groups {
        write!(
            out,
            "dn: cn=group{g},ou=groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: group{g}\n\
             description: Group {g}\n"
        )?;
        for member in sizes.members(g) {
            writeln!(out, "member: {}", user_dn(member))?;
        }
        writeln!(out)?;
    }
    Ok(())
}
