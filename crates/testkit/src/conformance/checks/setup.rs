//! A setup the remote refuses is refused before anything is saved: wrong credentials are
//! `INVALID_ARGUMENT` naming the credential (never quoting it), a server that does not answer is
//! `UNAVAILABLE`.

use oblique::pb;
use tonic::Code;

use crate::conformance::Remote;
use crate::conformance::service::{create_request, integration_count};
use crate::grpc::Clients;

/// Creating the integration is refused with `code`; answers the message.
async fn refused(admin: &Clients, request: pb::CreateIntegrationRequest, code: Code) -> String {
    let before = integration_count(admin).await;
    let status = admin
        .integrations
        .clone()
        .create_integration(request)
        .await
        .expect_err("the setup is refused");
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(integration_count(admin).await, before, "nothing saved");
    status.message().to_string()
}

pub async fn wrong_credentials_are_refused_and_nothing_saved(admin: &Clients, remote: &dyn Remote) {
    const WRONG: &str = "wrong-Secret-4d1c";
    let field = remote.secret_field();
    let mut request = create_request(remote, "wrong credentials");
    request.credentials.insert(field.into(), WRONG.into());
    let message = refused(admin, request, Code::InvalidArgument).await;
    assert!(
        message.starts_with(&format!("credentials.{field}:")),
        "{message}"
    );
    assert!(!message.contains(WRONG), "{message}");
}

pub async fn an_unreachable_server_is_unavailable(admin: &Clients, remote: &dyn Remote) {
    let mut request = create_request(remote, "unreachable");
    request.config = remote.unreachable_config();
    let message = refused(admin, request, Code::Unavailable).await;
    assert!(!message.is_empty());
}
