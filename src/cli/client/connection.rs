//! The connection to the server: one channel (TLS verified for https://), and clients of each
//! service that send the token and the command's request id with every call, so that what a
//! command did can be found in the server's log by that id.

use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::ExposeSecret;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Status};

use super::ClientArgs;
use crate::pb::{
    access_service_client::AccessServiceClient,
    integration_service_client::IntegrationServiceClient, sync_service_client::SyncServiceClient,
};

/// How long the TCP and TLS handshake may take before the command gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The metadata the server reads the caller's request id from (and echoes back).
const REQUEST_ID_HEADER: &str = "x-request-id";

/// Adds `authorization: Bearer …` and `x-request-id` to every call.
#[derive(Clone)]
pub struct CallMetadata {
    authorization: AsciiMetadataValue,
    request_id: AsciiMetadataValue,
}

impl tonic::service::Interceptor for CallMetadata {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let metadata = request.metadata_mut();
        metadata.insert("authorization", self.authorization.clone());
        metadata.insert(REQUEST_ID_HEADER, self.request_id.clone());
        Ok(request)
    }
}

pub type Authed = InterceptedService<Channel, CallMetadata>;

/// Clients of the services the commands call, all on one connection.
pub struct Calls {
    pub integrations: IntegrationServiceClient<Authed>,
    pub sync: SyncServiceClient<Authed>,
    pub access: AccessServiceClient<Authed>,
}

impl Calls {
    /// Connects to `--server` with the resolved token; every call carries `request_id`.
    pub async fn connect(
        args: &ClientArgs,
        data_dir: &std::path::Path,
        request_id: &str,
    ) -> anyhow::Result<Calls> {
        let token = super::token::resolve(data_dir)?;
        let mut authorization: AsciiMetadataValue =
            MetadataValue::try_from(format!("Bearer {}", token.expose_secret()))
                .context("the token holds characters a header cannot carry")?;
        // Kept out of any debug output of the request.
        authorization.set_sensitive(true);
        let metadata = CallMetadata {
            authorization,
            request_id: MetadataValue::try_from(request_id).context("request id")?,
        };
        let channel = connect_channel(args).await?;
        Ok(Calls {
            integrations: IntegrationServiceClient::with_interceptor(
                channel.clone(),
                metadata.clone(),
            ),
            sync: SyncServiceClient::with_interceptor(channel.clone(), metadata.clone()),
            access: AccessServiceClient::with_interceptor(channel, metadata),
        })
    }
}

/// The channel to `--server`, connected now so that an unreachable server is said at once.
async fn connect_channel(args: &ClientArgs) -> anyhow::Result<Channel> {
    let url = args.server.trim_end_matches('/');
    let endpoint = Endpoint::from_shared(url.to_string())
        .with_context(|| format!("--server {url:?} is not a URL"))?
        .connect_timeout(CONNECT_TIMEOUT);
    let endpoint = match url.split_once("://").map(|(scheme, _)| scheme) {
        Some("https") => endpoint
            .tls_config(tls_config(args)?)
            .context("setting up TLS")?,
        Some("http") => {
            if args.ca_cert.is_some() {
                bail!("--ca-cert is for an https:// server; {url} is plain http");
            }
            if !is_loopback(url) {
                // The token would cross the network in clear: allowed (a private network behind
                // a proxy may be meant), but never silently.
                eprintln!(
                    "warning: {url} is not this machine and not https: the token is sent unencrypted"
                );
            }
            endpoint
        }
        _ => bail!("--server must start with http:// or https:// (got {url:?})"),
    };
    endpoint
        .connect()
        .await
        .with_context(|| format!("cannot connect to the server at {url}"))
}

/// The system's roots, or only the CA of `--ca-cert`.
fn tls_config(args: &ClientArgs) -> anyhow::Result<ClientTlsConfig> {
    let config = ClientTlsConfig::new();
    Ok(match &args.ca_cert {
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading --ca-cert {}", path.display()))?;
            config.ca_certificate(Certificate::from_pem(pem))
        }
        None => config.with_native_roots(),
    })
}

/// Whether the URL's host is this machine (127.0.0.0/8, ::1 or localhost).
fn is_loopback(url: &str) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return false;
    };
    let host = uri.host().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_hosts_are_recognised() {
        assert!(is_loopback("http://127.0.0.1:50051"));
        assert!(is_loopback("http://127.3.2.1:1"));
        assert!(is_loopback("http://localhost:50051"));
        assert!(is_loopback("http://[::1]:50051"));
        assert!(!is_loopback("http://10.0.0.5:50051"));
        assert!(!is_loopback("http://oblique.example.org"));
    }
}
