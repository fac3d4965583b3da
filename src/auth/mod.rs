//! Who is calling: bearer tokens, their roles, and the layer that checks them.

pub mod cache;
pub mod layer;
pub mod policy;
pub mod token;

use tonic::Request;

use crate::error::AppError;

pub use crate::model::{Principal, Role};

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
