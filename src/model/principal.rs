//! Who acts: a token's role, and the principal that makes requests and is the actor of the
//! audit events they cause.

use std::fmt;
use std::io::Write;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;

/// The name the audit log gives the service itself (see [`Principal::system`]).
pub const SYSTEM_NAME: &str = "system";

/// What a token may do. Each role may do everything the roles below it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum Role {
    /// The service itself, as the audit log names it for changes nobody asked for directly.
    /// No token has it ([`Role::ALL`] and [`Role::parse`] leave it out), and it ranks below
    /// every token role, so no call's role check could ever pass with it.
    System,
    /// Read and subscribe.
    Viewer,
    /// Also trigger syncs and grant or revoke access.
    Service,
    /// Everything, including changing integrations.
    Admin,
}

impl Role {
    /// The roles a token may have.
    pub const ALL: [Role; 3] = [Role::Admin, Role::Service, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::Viewer => "viewer",
            Role::Service => "service",
            Role::Admin => "admin",
        }
    }

    /// A token role by name.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }

    /// An actor's role as the audit log stores it: a token role, or `system`.
    pub fn parse_actor(text: &str) -> Option<Role> {
        match text {
            "system" => Some(Role::System),
            token_role => Role::parse(token_role),
        }
    }
}

/// The audit log's `actor_role` (its CHECK allows the token roles and `system`).
impl ToSql<Text, Pg> for Role {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.as_str().as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Pg> for Role {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        let name = <String as FromSql<Text, Pg>>::from_sql(value)?;
        Self::parse_actor(&name).ok_or_else(|| format!("unknown actor role {name:?}").into())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The authenticated caller, put into request extensions by the auth layer. It is also the
/// actor of the audit events its requests cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

impl Principal {
    /// Someone with access to the machine and the database, using the `oblique` command.
    pub fn command_line() -> Self {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Principal {
            name: format!("cli:{user}"),
            role: Role::Admin,
        }
    }

    /// The service itself, for changes nobody asked for directly (expiring grants, the first
    /// admin token). Audited as `system`/`system`, as the sync engine's own changes are.
    pub fn system() -> Self {
        Principal {
            name: SYSTEM_NAME.into(),
            role: Role::System,
        }
    }
}
