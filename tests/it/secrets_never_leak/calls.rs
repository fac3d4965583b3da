//! The calls the leak test makes, each keeping what the server answered in [`Seen`].

use std::time::Instant;

use oblique::pb;
use tonic::Code;

use crate::harness::{Clients, PATIENCE, wait_for_run};

/// Everything the test saw from the server: each response and each error, as `Debug` text.
#[derive(Default)]
pub(super) struct Seen(pub(super) Vec<String>);

impl Seen {
    pub(super) fn ok<T: std::fmt::Debug>(
        &mut self,
        what: &str,
        result: Result<tonic::Response<T>, tonic::Status>,
    ) -> T {
        let value = result
            .unwrap_or_else(|status| panic!("{what}: {status:?}"))
            .into_inner();
        self.0.push(format!("{what}: {value:?}"));
        value
    }

    #[track_caller]
    pub(super) fn refused<T: std::fmt::Debug>(
        &mut self,
        what: &str,
        result: Result<T, tonic::Status>,
        code: Code,
    ) {
        let status = crate::harness::expect_code(result, code);
        self.0.push(format!("{what}: {status:?}"));
    }
}

/// Waits for the run to end in `state`, keeping what the API said about it.
pub(super) async fn finished(
    admin: &Clients,
    seen: &mut Seen,
    run_id: &str,
    state: pb::SyncRunState,
) {
    let run = wait_for_run(admin, run_id).await;
    seen.0.push(format!("run: {run:?}"));
    assert_eq!(run.state(), state, "{run:?}");
}

/// A manual run of its own: waits for any run the scheduler started to end first.
pub(super) async fn trigger_when_idle(
    admin: &Clients,
    seen: &mut Seen,
    integration: &pb::Integration,
) -> pb::SyncRun {
    loop {
        let run = admin
            .sync
            .clone()
            .trigger_sync(pb::TriggerSyncRequest {
                integration_id: integration.id.clone(),
                ..Default::default()
            })
            .await;
        let run = seen.ok("trigger", run);
        if run.trigger() == pb::SyncTrigger::Manual {
            return run;
        }
        wait_for_run(admin, &run.id).await;
    }
}

/// UpdateIntegration with a new `secret` in the credentials' `field`, and with a new config
/// when given.
pub(super) async fn update(
    admin: &Clients,
    integration: &pb::Integration,
    config: Option<std::collections::HashMap<String, String>>,
    (field, secret): (&str, &str),
) -> Result<tonic::Response<pb::Integration>, tonic::Status> {
    let mut paths = vec!["credentials".to_string()];
    let mut changed = pb::Integration {
        id: integration.id.clone(),
        credentials: [(field.to_string(), secret.to_string())].into(),
        ..Default::default()
    };
    if let Some(config) = config {
        paths.push("config".into());
        changed.config = config;
    }
    admin
        .integrations
        .clone()
        .update_integration(pb::UpdateIntegrationRequest {
            integration: Some(changed),
            update_mask: Some(prost_types::FieldMask { paths }),
        })
        .await
}

/// Grants the user of the remote role `username` the resource.
pub(super) async fn grant(
    admin: &Clients,
    seen: &mut Seen,
    integration: &pb::Integration,
    resource: &pb::Resource,
    username: &str,
) {
    let accounts = admin
        .integrations
        .clone()
        .list_accounts(pb::ListAccountsRequest {
            integration_id: integration.id.clone(),
            ..Default::default()
        })
        .await;
    let account = seen
        .ok("accounts", accounts)
        .accounts
        .into_iter()
        .find(|a| a.username == username)
        .unwrap_or_else(|| panic!("no account {username}"));
    let granted = admin
        .access
        .clone()
        .grant_access(pb::GrantAccessRequest {
            resource_id: resource.id.clone(),
            user_id: account.user_id,
            reason: "leak test".into(),
            expires_at: None,
        })
        .await;
    seen.ok("grant", granted);
}

/// Every event of the run, as WatchSyncRun replays them.
pub(super) async fn watch(admin: &Clients, seen: &mut Seen, run_id: &str) {
    let watched = admin
        .sync
        .clone()
        .watch_sync_run(pb::WatchSyncRunRequest {
            run_id: run_id.into(),
        })
        .await;
    let mut stream = seen.ok("watch", watched);
    let deadline = Instant::now() + PATIENCE;
    while let Some(event) = stream.message().await.expect("event") {
        seen.0.push(format!("event: {event:?}"));
        assert!(Instant::now() < deadline, "the replay never ended");
    }
}

/// The end of a type's round: a sync on the integration's new credentials, then its removal.
pub(super) async fn sync_then_delete(
    admin: &Clients,
    seen: &mut Seen,
    integration: &pb::Integration,
    what: &str,
) {
    let run = trigger_when_idle(admin, seen, integration).await;
    finished(admin, seen, &run.id, pb::SyncRunState::Succeeded).await;
    let deleted = admin
        .integrations
        .clone()
        .delete_integration(pb::DeleteIntegrationRequest {
            id: integration.id.clone(),
            force: false,
        })
        .await;
    seen.ok(&format!("{what} delete"), deleted);
}
