//! Who is calling: bearer tokens, their roles, and the layer that checks them.

pub mod cache;
pub mod layer;
pub mod policy;
pub mod token;

use std::fmt;

use tonic::Request;

use crate::error::AppError;

/// What a token may do. Each role may do everything the roles below it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
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
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The authenticated caller, put into request extensions by [`layer::AuthLayer`]. It is also the
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
            name: "system".into(),
            role: Role::System,
        }
    }
}

/// The caller of `request`, if its role is at least `needed`. Every handler starts with this.
pub fn require<T>(request: &Request<T>, needed: Role) -> Result<Principal, AppError> {
    let principal = request
        .extensions()
        .get::<Principal>()
        .cloned()
        // The layer refuses unauthenticated calls before they get here; this guards a handler
        // mounted without it.
        .ok_or_else(|| AppError::Unauthenticated("missing bearer token".into()))?;
    if principal.role < needed {
        return Err(AppError::PermissionDenied(format!(
            "this call needs the {needed} role; token {:?} has {}",
            principal.name, principal.role
        )));
    }
    Ok(principal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_as(role: Role) -> Request<()> {
        let mut request = Request::new(());
        request.extensions_mut().insert(Principal {
            name: "t".into(),
            role,
        });
        request
    }

    #[test]
    fn roles_include_the_ones_below() {
        assert!(require(&request_as(Role::Admin), Role::Service).is_ok());
        assert!(require(&request_as(Role::Service), Role::Viewer).is_ok());
        assert!(matches!(
            require(&request_as(Role::Service), Role::Admin),
            Err(AppError::PermissionDenied(_))
        ));
        assert!(matches!(
            require(&Request::new(()), Role::Viewer),
            Err(AppError::Unauthenticated(_))
        ));
    }

    #[test]
    fn the_system_role_passes_no_check_and_no_token_can_have_it() {
        for needed in Role::ALL {
            assert!(matches!(
                require(&request_as(Role::System), needed),
                Err(AppError::PermissionDenied(_))
            ));
        }
        assert_eq!(Role::parse("system"), None);
        assert!(!Role::ALL.contains(&Role::System));
    }
}
