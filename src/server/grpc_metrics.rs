//! Counts and times every gRPC call: `grpc_server_handled_total{grpc_service, grpc_method,
//! grpc_code}` once the call ends ([`super::call_end`] says when and with which code), and
//! `grpc_server_handling_seconds` from its arrival to its last message.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use tonic::body::Body;
use tower::{Layer, Service};

use super::call_end::{CallWatch, OnCallEnd, code_name, service_and_method};
use crate::metrics::{GrpcCall, GrpcHandled, Metrics};

#[derive(Clone)]
pub struct GrpcMetricsLayer {
    metrics: Arc<Metrics>,
}

impl GrpcMetricsLayer {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        GrpcMetricsLayer { metrics }
    }
}

impl<S> Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetricsService {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct GrpcMetricsService<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S, B> Service<Request<B>> for GrpcMetricsService<S>
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
        let (service, method) = service_and_method(request.uri().path());
        let watch = CallWatch::new(CountedCall {
            metrics: self.metrics.clone(),
            call: GrpcCall {
                grpc_service: service.to_string(),
                grpc_method: method.to_string(),
            },
            started: Instant::now(),
        });
        Box::pin(async move { Ok(watch.follow(inner.call(request).await?)) })
    }
}

/// One call, recorded when it ends.
struct CountedCall {
    metrics: Arc<Metrics>,
    call: GrpcCall,
    started: Instant,
}

impl OnCallEnd for CountedCall {
    fn ended(self, code: tonic::Code) {
        let handled = GrpcHandled {
            grpc_service: self.call.grpc_service.clone(),
            grpc_method: self.call.grpc_method.clone(),
            grpc_code: code_name(code).to_string(),
        };
        self.metrics.grpc_handled.get_or_create(&handled).inc();
        self.metrics
            .grpc_seconds
            .get_or_create(&self.call)
            .observe(self.started.elapsed().as_secs_f64());
    }
}
