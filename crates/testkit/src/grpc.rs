//! The gRPC test client: clients of every service that present the same bearer token, and a
//! reader of what they answer.

use oblique::pb::{
    self, access_service_client::AccessServiceClient,
    integration_service_client::IntegrationServiceClient, sync_service_client::SyncServiceClient,
};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};

/// Adds `authorization: Bearer …` to every call (or nothing, for the anonymous client).
#[derive(Clone)]
pub struct Bearer(Option<String>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(token) = &self.0 {
            let value = format!("Bearer {token}").parse().expect("header value");
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }
}

/// A client channel that sends the bearer token with every call.
pub type Authed = InterceptedService<Channel, Bearer>;

/// Clients of every service, all presenting the same token.
#[derive(Clone)]
pub struct Clients {
    pub integrations: IntegrationServiceClient<Authed>,
    pub sync: SyncServiceClient<Authed>,
    pub access: AccessServiceClient<Authed>,
    pub bearer: Bearer,
}

impl Clients {
    pub fn new(channel: Channel, token: Option<String>) -> Self {
        let bearer = Bearer(token);
        Clients {
            integrations: IntegrationServiceClient::with_interceptor(
                channel.clone(),
                bearer.clone(),
            ),
            sync: SyncServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            access: AccessServiceClient::with_interceptor(channel, bearer.clone()),
            bearer,
        }
    }

    /// The same token's clients on another server.
    pub fn on(&self, channel: Channel) -> Self {
        Clients::new(channel, self.bearer.0.clone())
    }
}

/// A string in an audit event's details.
pub fn detail(event: &pb::AuditEvent, key: &str) -> Option<String> {
    match event.details.as_ref()?.fields.get(key)?.kind.as_ref()? {
        prost_types::value::Kind::StringValue(text) => Some(text.clone()),
        _ => None,
    }
}
