//! When a gRPC call ends, and with which status, for the layers that record calls (metrics, the
//! access log). The code is read where gRPC puts it: the response headers when the call failed
//! before answering (trailers-only), else the trailers at the end of the body. A call whose
//! caller went away before the end (its future or body dropped) ends `CANCELLED`.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Response};
use http_body::Frame;
use tonic::Code;
use tonic::body::Body;

/// What a layer does once, when its call ends.
pub trait OnCallEnd: Send + Unpin + 'static {
    fn ended(self, code: Code);
}

/// Calls its [`OnCallEnd`] exactly once: at the status, or with `CANCELLED` when dropped first.
/// Made when the call arrives, so that a call dropped before it answers is recorded too.
pub struct CallWatch<E: OnCallEnd>(Option<E>);

impl<E: OnCallEnd> CallWatch<E> {
    pub fn new(on_end: E) -> Self {
        CallWatch(Some(on_end))
    }

    /// The response, passed on: ended now if its head carries the status, else once its body
    /// yields the trailers.
    pub fn follow(mut self, response: Response<Body>) -> Response<Body> {
        if let Some(code) = status_code(response.headers()) {
            self.end(code);
            return response;
        }
        let (parts, body) = response.into_parts();
        Response::from_parts(
            parts,
            Body::new(WatchedBody {
                inner: body,
                watch: self,
            }),
        )
    }

    /// The recorder, to tell it more before the call ends (nothing once it has ended).
    pub fn recorder_mut(&mut self) -> Option<&mut E> {
        self.0.as_mut()
    }

    fn end(&mut self, code: Code) {
        if let Some(on_end) = self.0.take() {
            on_end.ended(code);
        }
    }
}

impl<E: OnCallEnd> Drop for CallWatch<E> {
    fn drop(&mut self) {
        self.end(Code::Cancelled);
    }
}

/// `/oblique.v1.SyncService/TriggerSync` → (`oblique.v1.SyncService`, `TriggerSync`).
pub fn service_and_method(path: &str) -> (&str, &str) {
    path.trim_start_matches('/')
        .split_once('/')
        .unwrap_or(("unknown", "unknown"))
}

fn status_code(headers: &HeaderMap) -> Option<Code> {
    let code = headers
        .get("grpc-status")?
        .to_str()
        .ok()?
        .parse::<i32>()
        .ok()?;
    Some(Code::from_i32(code))
}

/// The name the gRPC spec gives a status code (`OK`, `NOT_FOUND` …).
pub fn code_name(code: Code) -> &'static str {
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

/// The response body, passed through; its trailers end the call.
struct WatchedBody<E: OnCallEnd> {
    inner: Body,
    watch: CallWatch<E>,
}

impl<E: OnCallEnd> http_body::Body for WatchedBody<E> {
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
                    self.watch.end(code);
                }
            }
            // A body that fails or ends without a status: the caller sees no status either.
            Poll::Ready(Some(Err(_))) | Poll::Ready(None) => self.watch.end(Code::Unknown),
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
