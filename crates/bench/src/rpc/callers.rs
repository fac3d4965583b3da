//! The callers of `--rpc`: each its own HTTP/2 connection, calling `GetIntegration` on ids
//! taken in turn, back to back until the time is up, every call's latency recorded.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use oblique::pb::GetIntegrationRequest;
use oblique::pb::integration_service_client::IntegrationServiceClient;
use secrecy::{ExposeSecret, SecretString};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use uuid::Uuid;

use super::RpcLoad;

/// What the callers did, together.
pub struct Calls {
    pub ok: u64,
    pub failed: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Every successful call's latency, sorted.
    pub latencies: Vec<Duration>,
}

impl Calls {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency below which `fraction` of the calls ended.
    pub fn percentile(&self, fraction: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() as f64 * fraction).ceil() as usize).max(1) - 1;
        self.latencies[index.min(self.latencies.len() - 1)]
    }
}

struct CallerTally {
    ok: u64,
    failed: u64,
    first_error: Option<String>,
    latencies: Vec<Duration>,
}

pub async fn call(
    address: SocketAddr,
    token: &SecretString,
    ids: &[Uuid],
    load: RpcLoad,
) -> anyhow::Result<Calls> {
    let bearer: MetadataValue<_> = format!("Bearer {}", token.expose_secret()).parse()?;
    let mut channels = Vec::with_capacity(load.callers);
    for _ in 0..load.callers {
        channels.push(
            Channel::from_shared(format!("http://{address}"))?
                .connect()
                .await?,
        );
    }
    // Every connection is made, and has made one call, before the clock starts.
    let started = Instant::now() + Duration::from_millis(500);
    let deadline = started + load.duration;
    let mut tasks = Vec::new();
    for (index, channel) in channels.into_iter().enumerate() {
        let bearer = bearer.clone();
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        tasks.push(tokio::spawn(async move {
            let mut client = IntegrationServiceClient::new(channel);
            let mut tally = CallerTally {
                ok: 0,
                failed: 0,
                first_error: None,
                latencies: Vec::with_capacity(100_000),
            };
            let mut next = index;
            // One untimed call first: the connection's first stream and the token's look-up.
            let mut warm_up = tonic::Request::new(GetIntegrationRequest {
                id: ids[next].clone(),
            });
            warm_up
                .metadata_mut()
                .insert("authorization", bearer.clone());
            let _ = client.get_integration(warm_up).await;
            tokio::time::sleep_until(started.into()).await;
            while Instant::now() < deadline {
                next = (next + 7) % ids.len();
                let mut request = tonic::Request::new(GetIntegrationRequest {
                    id: ids[next].clone(),
                });
                request
                    .metadata_mut()
                    .insert("authorization", bearer.clone());
                let began = Instant::now();
                match client.get_integration(request).await {
                    Ok(_) => {
                        tally.ok += 1;
                        tally.latencies.push(began.elapsed());
                    }
                    Err(status) => {
                        tally.failed += 1;
                        tally.first_error.get_or_insert_with(|| status.to_string());
                    }
                }
            }
            tally
        }));
    }
    let mut calls = Calls {
        ok: 0,
        failed: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for task in tasks {
        let tally = task.await?;
        calls.ok += tally.ok;
        calls.failed += tally.failed;
        calls.first_error = calls.first_error.or(tally.first_error);
        calls.latencies.extend(tally.latencies);
    }
    calls.elapsed = Instant::now().saturating_duration_since(started);
    calls.latencies.sort_unstable();
    Ok(calls)
}
