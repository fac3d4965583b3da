//! The leak test's round with a `scim` integration.

use oblique::pb;
use oblique_testkit::scim::ScimServer;
use tonic::Code;

use super::SENTINEL;
use super::calls::{Seen, finished, sync_then_delete, update};
use crate::harness::Clients;

/// The same for a `scim` integration, whose bearer token is a sentinel too (the service accepts
/// two): a wrong one refused, creation and its sync, new credentials and a sync on them,
/// deletion.
pub(super) async fn scim_round(admin: &Clients, seen: &mut Seen) {
    let (token, rotated) = (format!("{SENTINEL}-scim-1"), format!("{SENTINEL}-scim-2"));
    let tokens = [token.clone(), rotated.clone()];
    let server =
        tokio::task::spawn_blocking(move || ScimServer::start_accepting(&[&tokens[0], &tokens[1]]))
            .await
            .expect("starting scim2-server")
            .unwrap_or_else(|error| panic!("{error:#}"));
    let ann = server
        .admin()
        .create_user("ann", serde_json::json!({}))
        .await;
    ann.expect("seeding the service");
    let config: std::collections::HashMap<String, String> = [
        ("base_url".to_string(), server.base_url()),
        ("allow_plaintext".to_string(), "true".to_string()),
    ]
    .into();
    let request = |token: &str| pb::CreateIntegrationRequest {
        r#type: "scim".into(),
        name: format!("leak-scim-{}", uuid::Uuid::new_v4().simple()),
        config: config.clone(),
        credentials: [("bearer_token".to_string(), token.to_string())].into(),
        ..Default::default()
    };
    let mut integrations = admin.integrations.clone();
    let wrong = integrations
        .create_integration(request(&format!("{SENTINEL}-wrong")))
        .await;
    seen.refused("scim create, wrong token", wrong, Code::InvalidArgument);
    let created = integrations.create_integration(request(&token)).await;
    let created = seen.ok("scim create", created);
    let run = created.last_sync_run.clone().expect("initial run");
    finished(admin, seen, &run.id, pb::SyncRunState::Succeeded).await;
    let updated = update(admin, &created, None, ("bearer_token", &rotated)).await;
    seen.ok("scim update credentials", updated);
    sync_then_delete(admin, seen, &created, "scim").await;
}
