//! Limits every call meets before anything else looks at it: a cap on calls in progress (beyond
//! it a call is refused at once with RESOURCE_EXHAUSTED, never queued, so an overload cannot turn
//! into a hang) and a deadline (the caller's `grpc-timeout`, capped; a default when it sent none)
//! answered with DEADLINE_EXCEEDED. Streams count only until their response starts: a long-lived
//! subscription does not hold a slot (the per-connection stream limit bounds those).

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use http::{Request, Response};
use tokio::sync::Semaphore;
use tonic::{Status, body::Body};
use tower::{Layer, Service};

/// The server's limits; `Default` is what `oblique serve` uses.
#[derive(Clone, Debug)]
pub struct RequestLimits {
    /// Calls in progress across all connections before new ones are shed.
    pub max_concurrent_requests: usize,
    /// The deadline of a call whose caller set none.
    pub default_deadline: Duration,
    /// No call runs longer than this, whatever deadline its caller asked for.
    pub max_deadline: Duration,
    /// Largest request message accepted, after decompression.
    pub max_message_bytes: usize,
    /// HTTP/2 streams (calls, including subscriptions) one connection may have open.
    pub max_streams_per_connection: u32,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_concurrent_requests: 512,
            default_deadline: Duration::from_secs(30),
            max_deadline: Duration::from_secs(300),
            max_message_bytes: 4 * 1024 * 1024,
            max_streams_per_connection: 1024,
        }
    }
}

impl RequestLimits {
    /// The deadline of one call: what the caller asked for, within [`Self::max_deadline`].
    fn deadline_of<B>(&self, request: &Request<B>) -> Duration {
        let asked = request
            .headers()
            .get("grpc-timeout")
            .and_then(|value| value.to_str().ok())
            .and_then(parse_grpc_timeout);
        asked
            .unwrap_or(self.default_deadline)
            .min(self.max_deadline)
    }
}

/// `grpc-timeout`: at most 8 digits and a unit (H, M, S, m, u, n), as the gRPC spec writes it.
fn parse_grpc_timeout(text: &str) -> Option<Duration> {
    if text.len() < 2 || text.len() > 9 {
        return None;
    }
    let (digits, unit) = text.split_at(text.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.checked_mul(3600)?),
        "M" => Duration::from_secs(amount.checked_mul(60)?),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[derive(Clone)]
pub struct RequestLimitsLayer {
    limits: Arc<RequestLimits>,
    in_progress: Arc<Semaphore>,
}

impl RequestLimitsLayer {
    pub fn new(limits: &RequestLimits) -> Self {
        RequestLimitsLayer {
            in_progress: Arc::new(Semaphore::new(limits.max_concurrent_requests)),
            limits: Arc::new(limits.clone()),
        }
    }
}

impl<S> Layer<S> for RequestLimitsLayer {
    type Service = RequestLimitsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestLimitsService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RequestLimitsService<S> {
    inner: S,
    layer: RequestLimitsLayer,
}

impl<S, B> Service<Request<B>> for RequestLimitsService<S>
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
        let Ok(permit) = self.layer.in_progress.clone().try_acquire_owned() else {
            tracing::warn!(
                path = request.uri().path(),
                limit = self.layer.limits.max_concurrent_requests,
                "shedding a call: too many in progress"
            );
            let status = Status::resource_exhausted("the server is busy; retry with backoff");
            return Box::pin(async move { Ok(status.into_http()) });
        };
        let deadline = self.layer.limits.deadline_of(&request);
        Box::pin(async move {
            let answer = tokio::time::timeout(deadline, inner.call(request)).await;
            drop(permit);
            match answer {
                Ok(response) => response,
                // Dropping the handler's future rolls back whatever transaction it had open.
                Err(_) => Ok(Status::deadline_exceeded(format!(
                    "the call did not finish within its deadline ({deadline:?})"
                ))
                .into_http()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_grpc_timeouts_and_refuses_malformed_ones() {
        assert_eq!(parse_grpc_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(
            parse_grpc_timeout("99999999u"),
            Some(Duration::from_micros(99_999_999))
        );
        for bad in ["", "S", "5", "5s", "123456789S", "-5S", "5.0S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn deadlines_default_and_are_capped() {
        let limits = RequestLimits {
            default_deadline: Duration::from_secs(30),
            max_deadline: Duration::from_secs(60),
            ..RequestLimits::default()
        };
        let with = |timeout: Option<&str>| {
            let mut builder = Request::builder();
            if let Some(timeout) = timeout {
                builder = builder.header("grpc-timeout", timeout);
            }
            limits.deadline_of(&builder.body(()).expect("request"))
        };
        assert_eq!(with(None), Duration::from_secs(30));
        assert_eq!(with(Some("10S")), Duration::from_secs(10));
        assert_eq!(with(Some("2H")), Duration::from_secs(60));
        assert_eq!(with(Some("garbage")), Duration::from_secs(30));
    }
}
