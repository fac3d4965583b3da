//! `link_users_by`: which value of an integration's accounts links them to Oblique users.
//!
//! The value comes from the remote system, so whoever controls it there decides whose account
//! an entry becomes (and so who receives that user's team and grant pushes). Each integration
//! says which value it is trusted for; `none` trusts it for nothing.

use std::fmt;
use std::io::Write;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum LinkUsersBy {
    /// The lower-cased email; an account without one links by its username.
    Email,
    /// The username only.
    Username,
    /// Accounts are linked to no user: nothing decided for a user is pushed to them.
    None,
}

impl LinkUsersBy {
    pub const ALL: [LinkUsersBy; 3] =
        [LinkUsersBy::Email, LinkUsersBy::Username, LinkUsersBy::None];

    /// The name in the API and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkUsersBy::Email => "email",
            LinkUsersBy::Username => "username",
            LinkUsersBy::None => "none",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|policy| policy.as_str() == name)
    }
}

impl fmt::Display for LinkUsersBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ToSql<Text, Pg> for LinkUsersBy {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.as_str().as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Pg> for LinkUsersBy {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        let name = <String as FromSql<Text, Pg>>::from_sql(value)?;
        // The column's CHECK allows only these: anything else is a broken database, not a default.
        Self::parse(&name).ok_or_else(|| format!("unknown link_users_by {name:?}").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_policy_reads_back_from_its_name() {
        for policy in LinkUsersBy::ALL {
            assert_eq!(LinkUsersBy::parse(policy.as_str()), Some(policy));
        }
        assert_eq!(LinkUsersBy::parse("Email"), None);
        assert_eq!(LinkUsersBy::parse(""), None);
    }
}
