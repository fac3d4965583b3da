//! Counts and times every gRPC call: `grpc_server_handled_total{grpc_service, grpc_method,
//! grpc_code}` once the call ends, and `grpc_server_handling_seconds` from its arrival to its
//! last message. The code is read where gRPC puts it: the response headers when the call failed
//! before answering (trailers-only), else the trailers at the end of the body. A call whose
//! caller went away before the end counts as `CANCELLED`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body::Frame;
use tonic::body::Body;
use tower::{Layer, Service};

use super::{GrpcCall, GrpcHandled, Metrics};

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
        let mut call = CallInProgress {
            metrics: self.metrics.clone(),
            call: grpc_call(request.uri().path()),
            started: Instant::now(),
            ended: false,
        };
        Box::pin(async move {
            let response = inner.call(request).await?;
            if let Some(code) = status_code(response.headers()) {
                call.end(code);
                return Ok(response);
            }
            let (parts, body) = response.into_parts();
            let body = Body::new(TimedBody { inner: body, call });
            Ok(Response::from_parts(parts, body))
        })
    }
}

/// `/oblique.v1.SyncService/TriggerSync` → service `oblique.v1.SyncService`, method `TriggerSync`.
fn grpc_call(path: &str) -> GrpcCall {
    let (service, method) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or(("unknown", "unknown"));
    GrpcCall {
        grpc_service: service.to_string(),
        grpc_method: method.to_string(),
    }
}

fn status_code(headers: &HeaderMap) -> Option<&'static str> {
    let code = headers
        .get("grpc-status")?
        .to_str()
        .ok()?
        .parse::<i32>()
        .ok()?;
    Some(code_name(tonic::Code::from_i32(code)))
}

/// The name the gRPC spec gives a status code.
fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// One call, recorded once when it ends (or is dropped unfinished).
struct CallInProgress {
    metrics: Arc<Metrics>,
    call: GrpcCall,
    started: Instant,
    ended: bool,
}

impl CallInProgress {
    fn end(&mut self, code: &str) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let handled = GrpcHandled {
            grpc_service: self.call.grpc_service.clone(),
            grpc_method: self.call.grpc_method.clone(),
            grpc_code: code.to_string(),
        };
        self.metrics.grpc_handled.get_or_create(&handled).inc();
        self.metrics
            .grpc_seconds
            .get_or_create(&self.call)
            .observe(self.started.elapsed().as_secs_f64());
    }
}

impl Drop for CallInProgress {
    fn drop(&mut self) {
        self.end("CANCELLED");
    }
}

/// The response body, passed through; its trailers end the call.
struct TimedBody {
    inner: Body,
    call: CallInProgress,
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(status_code) {
                    self.call.end(code);
                }
            }
            Poll::Ready(Some(Err(_))) => self.call.end("UNKNOWN"),
            Poll::Ready(None) => self.call.end("UNKNOWN"),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
