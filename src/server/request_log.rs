//! Logs you can follow one call through: every call is handled inside an `rpc` span carrying its
//! request id (echoed to the caller in the `x-request-id` response metadata), its method, the
//! caller's W3C `traceparent` when sent, and the principal once the auth layer knows it; and it
//! ends with one access line (target `oblique::access`): method, status code, duration and the
//! principal's name, never a token. Oblique's own services log it at INFO; health checks and
//! reflection, which probes and tools call all day, at DEBUG.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{HeaderValue, Request, Response};
use tonic::body::Body;
use tower::{Layer, Service};
use tracing::{Instrument, Span, field};

use super::call_end::{CallWatch, OnCallEnd, code_name};
use super::request_id::{REQUEST_ID_HEADER, request_id, traceparent};
use crate::model::Principal;

/// Calls to these are Oblique's own; the rest (health, reflection) are logged at DEBUG.
const OWN_SERVICES: &str = "/oblique.v1.";

#[derive(Clone, Default)]
pub struct RequestLogLayer;

impl<S> Layer<S> for RequestLogLayer {
    type Service = RequestLogService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestLogService { inner }
    }
}

#[derive(Clone)]
pub struct RequestLogService<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for RequestLogService<S>
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

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone that was polled ready is the one that must serve this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let id = request_id(request.headers());
        let method = request.uri().path().trim_start_matches('/').to_string();
        let span = tracing::info_span!(
            "rpc",
            request_id = %id,
            %method,
            traceparent = field::Empty,
            principal = field::Empty,
        );
        if let Some(traceparent) = traceparent(request.headers()) {
            span.record("traceparent", field::display(traceparent));
        }
        let mut watch = CallWatch::new(AccessLine {
            own_service: request.uri().path().starts_with(OWN_SERVICES),
            method,
            principal: None,
            started: Instant::now(),
            span: span.clone(),
        });
        // Well-formed by construction: visible ASCII or a UUID.
        let echoed = HeaderValue::from_str(&id).ok();
        Box::pin(
            async move {
                let mut response = inner.call(request).await?;
                if let Some(echoed) = echoed {
                    response.headers_mut().insert(REQUEST_ID_HEADER, echoed);
                }
                if let Some(line) = watch.recorder_mut() {
                    // Put there by the auth layer once it let the call in.
                    line.principal = response
                        .extensions()
                        .get::<Principal>()
                        .map(|principal| principal.name.clone());
                }
                Ok(watch.follow(response))
            }
            .instrument(span),
        )
    }
}

/// The access line of one call, written when it ends.
struct AccessLine {
    own_service: bool,
    method: String,
    principal: Option<String>,
    started: Instant,
    span: Span,
}

impl OnCallEnd for AccessLine {
    fn ended(self, code: tonic::Code) {
        let _in_call = self.span.enter();
        let code = code_name(code);
        // Whole microseconds: a readable number of milliseconds.
        let duration_ms = self.started.elapsed().as_micros() as f64 / 1000.0;
        let principal = self.principal.as_deref().unwrap_or("-");
        let method = self.method.as_str();
        if self.own_service {
            tracing::info!(target: "oblique::access", %method, %code, duration_ms, %principal, "call ended");
        } else {
            tracing::debug!(target: "oblique::access", %method, %code, duration_ms, %principal, "call ended");
        }
    }
}
