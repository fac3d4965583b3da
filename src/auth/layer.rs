//! A tower layer that authenticates every call to Oblique's own services. Token look-up needs the
//! database, which is why this is an async layer rather than a tonic interceptor. Health and
//! reflection pass through untouched.
//!
//! Unauthenticated callers must not be able to starve the pool the rest of the service needs:
//! a token that is not of our shape is refused before any connection is taken, a token seen a
//! moment ago is answered from [`TokenCache`], and look-ups that do need the database take at
//! most a share of the pool at once.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use http::{Request, Response};
use secrecy::SecretString;
use tokio::sync::Semaphore;
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use super::cache::{TokenCache, TokenKey};
use super::{Principal, Role, policy, token};
use crate::db::Pool;
use crate::error::AppError;

/// Only these services need a token.
const PROTECTED_PREFIX: &str = "/oblique.v1.";

#[derive(Clone)]
pub struct AuthLayer {
    authenticator: Arc<Authenticator>,
}

impl AuthLayer {
    pub fn new(pool: Pool) -> Self {
        // A quarter of the pool: callers with unknown tokens can never take all of it.
        let lookups = (pool.status().max_size / 4).max(1);
        AuthLayer {
            authenticator: Arc::new(Authenticator {
                pool,
                cache: TokenCache::default(),
                lookups: Semaphore::new(lookups),
            }),
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            authenticator: self.authenticator.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    authenticator: Arc<Authenticator>,
}

/// What every connection's [`AuthService`] shares.
struct Authenticator {
    pool: Pool,
    cache: TokenCache,
    /// Token look-ups that may hold a pool connection at once.
    lookups: Semaphore,
}

impl<S, B> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone that was polled ready is the one that must serve this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let authenticator = self.authenticator.clone();
        Box::pin(async move {
            if !request.uri().path().starts_with(PROTECTED_PREFIX) {
                return inner.call(request).await;
            }
            let presented = bearer_token(&request);
            let needed = policy::needed_role(request.uri().path());
            let authorized = authenticator
                .authenticate(presented)
                .await
                .and_then(|principal| authorize(principal, needed));
            match authorized {
                Ok(principal) => {
                    tracing::debug!(token = %principal.name, role = %principal.role, path = request.uri().path(), "authenticated");
                    // The call's span (the request log's, around this layer) names the caller
                    // from here on, and its access line reads the caller off the response.
                    tracing::Span::current()
                        .record("principal", tracing::field::display(&principal.name));
                    request.extensions_mut().insert(principal.clone());
                    let mut response = inner.call(request).await?;
                    response.extensions_mut().insert(principal);
                    Ok(response)
                }
                Err(error) => Ok(Status::from(error).into_http()),
            }
        })
    }
}

/// The token of `authorization: Bearer <token>`.
fn bearer_token<B>(request: &Request<B>) -> Result<SecretString, AppError> {
    let header = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .ok_or_else(|| AppError::Unauthenticated("missing authorization: Bearer <token>".into()))?;
    header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| SecretString::from(token.trim().to_string()))
        .ok_or_else(|| AppError::Unauthenticated("authorization must be \"Bearer <token>\"".into()))
}

/// The principal, if its role is at least `needed`: checked before the body is decoded.
fn authorize(principal: Principal, needed: Role) -> Result<Principal, AppError> {
    if principal.role < needed {
        return Err(AppError::PermissionDenied(format!(
            "this call needs the {needed} role; token {:?} has {}",
            principal.name, principal.role
        )));
    }
    Ok(principal)
}

impl Authenticator {
    async fn authenticate(
        &self,
        presented: Result<SecretString, AppError>,
    ) -> Result<Principal, AppError> {
        let presented = presented?;
        if !token::is_well_formed(&presented) {
            return Err(token::refused());
        }
        let key = TokenKey::of(&presented);
        if let Some(principal) = self.cache.get(&key) {
            return Ok(principal);
        }
        let _permit = self
            .lookups
            .acquire()
            .await
            .map_err(|_| AppError::Unavailable("authentication is shutting down".into()))?;
        let mut conn = self.pool.get().await?;
        let principal = token::authenticate(&mut conn, &presented).await?;
        self.cache.insert(key, principal.clone());
        Ok(principal)
    }
}
