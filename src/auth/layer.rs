//! A tower layer that authenticates every call to Oblique's own services. Token look-up needs the
//! database, which is why this is an async layer rather than a tonic interceptor. Health and
//! reflection pass through untouched.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use http::{Request, Response};
use secrecy::SecretString;
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use super::token;
use crate::db::Pool;
use crate::error::AppError;

/// Only these services need a token.
const PROTECTED_PREFIX: &str = "/oblique.v1.";

#[derive(Clone)]
pub struct AuthLayer {
    pool: Pool,
}

impl AuthLayer {
    pub fn new(pool: Pool) -> Self {
        AuthLayer { pool }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            pool: self.pool.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    pool: Pool,
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
        let pool = self.pool.clone();
        Box::pin(async move {
            if !request.uri().path().starts_with(PROTECTED_PREFIX) {
                return inner.call(request).await;
            }
            let presented = bearer_token(&request);
            match authenticate(&pool, presented).await {
                Ok(principal) => {
                    tracing::debug!(token = %principal.name, role = %principal.role, path = request.uri().path(), "authenticated");
                    request.extensions_mut().insert(principal);
                    inner.call(request).await
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

async fn authenticate(
    pool: &Pool,
    presented: Result<SecretString, AppError>,
) -> Result<super::Principal, AppError> {
    let presented = presented?;
    let mut conn = pool.get().await?;
    token::authenticate(&mut conn, &presented).await
}
