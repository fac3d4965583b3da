//! One load client: its own HTTP/2 connection, the three roles' tokens on it, and a loop of
//! calls drawn at random (seeded by the client's number) until the load ends.

use std::sync::Arc;
use std::time::Instant;

use oblique::pb::{self, team_service_client::TeamServiceClient};
use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use tonic::Status;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::figures::{Call, Tally};
use super::fixture::Target;
use crate::harness::{Bearer, Clients};

/// The mix: about three reads for each write. Grants and revocations are most of the writes,
/// so that pushes keep the sync workers busy; TriggerSync adds full syncs on top.
const MIX: &[(Call, u32)] = &[
    (Call::GetIntegration, 10),
    (Call::ListIntegrations, 6),
    (Call::ListResources, 8),
    (Call::ListAccounts, 5),
    (Call::ListAccess, 10),
    (Call::GetSyncRun, 8),
    (Call::ListSyncRuns, 8),
    (Call::ListAuditEvents, 5),
    (Call::GrantAccess, 12),
    (Call::RevokeAccess, 10),
    (Call::TriggerSync, 3),
    (Call::UpdateIntegration, 2),
    (Call::CreateTeam, 1),
];

/// The tokens of the three roles the clients call with.
pub struct Tokens {
    pub admin: String,
    pub service: String,
    pub viewer: String,
}

struct Client {
    number: usize,
    viewer: Clients,
    service: Clients,
    admin: Clients,
    teams: TeamServiceClient<InterceptedService<Channel, Bearer>>,
    rng: StdRng,
    /// The newest run this client saw of each target, for GetSyncRun.
    runs: Vec<String>,
    teams_made: usize,
    tally: Tally,
}

/// Calls the server on `channel` until `until`; what it saw.
pub async fn run(
    number: usize,
    channel: Channel,
    tokens: Arc<Tokens>,
    targets: Arc<Vec<Target>>,
    until: Instant,
) -> Tally {
    let admin = Clients::new(channel.clone(), Some(tokens.admin.clone()));
    let mut client = Client {
        number,
        viewer: Clients::new(channel.clone(), Some(tokens.viewer.clone())),
        service: Clients::new(channel.clone(), Some(tokens.service.clone())),
        teams: TeamServiceClient::with_interceptor(channel, admin.bearer.clone()),
        admin,
        rng: StdRng::seed_from_u64(number as u64),
        runs: targets.iter().map(|t| t.initial_run.clone()).collect(),
        teams_made: 0,
        tally: Tally::default(),
    };
    let mix = WeightedIndex::new(MIX.iter().map(|(_, weight)| weight)).expect("weights");
    while Instant::now() < until {
        let index = client.rng.gen_range(0..targets.len());
        let call = MIX[mix.sample(&mut client.rng)].0;
        client.call(call, index, &targets[index]).await;
    }
    client.tally
}

/// Times `future` and records its answer under `call`.
macro_rules! timed {
    ($tally:expr, $call:expr, $future:expr) => {{
        let started = Instant::now();
        let result: Result<_, Status> = $future.await.map(tonic::Response::into_inner);
        $tally.record($call, started.elapsed(), result)
    }};
}

impl Client {
    async fn call(&mut self, call: Call, index: usize, target: &Target) {
        let id = target.integration.id.clone();
        let tally = &mut self.tally;
        match call {
            Call::GetIntegration => {
                let request = pb::GetIntegrationRequest { id };
                timed!(
                    tally,
                    call,
                    self.viewer.integrations.get_integration(request)
                );
            }
            Call::ListIntegrations => {
                let request = pb::ListIntegrationsRequest::default();
                timed!(
                    tally,
                    call,
                    self.viewer.integrations.list_integrations(request)
                );
            }
            Call::ListResources => {
                let request = pb::ListResourcesRequest {
                    integration_id: id,
                    ..Default::default()
                };
                timed!(
                    tally,
                    call,
                    self.viewer.integrations.list_resources(request)
                );
            }
            Call::ListAccounts => {
                let request = pb::ListAccountsRequest {
                    integration_id: id,
                    ..Default::default()
                };
                timed!(tally, call, self.viewer.integrations.list_accounts(request));
            }
            Call::ListAccess => {
                let resource = target.pushed.choose(&mut self.rng).expect("pushed");
                self.list_access(resource).await;
            }
            Call::GetSyncRun => {
                let request = pb::GetSyncRunRequest {
                    id: self.runs[index].clone(),
                };
                timed!(tally, call, self.viewer.sync.get_sync_run(request));
            }
            Call::ListSyncRuns => {
                let request = pb::ListSyncRunsRequest {
                    integration_id: id,
                    page_size: 20,
                    ..Default::default()
                };
                let listed = timed!(tally, call, self.viewer.sync.list_sync_runs(request));
                if let Some(newest) = listed.and_then(|listed| listed.runs.into_iter().next()) {
                    self.runs[index] = newest.id;
                }
            }
            Call::ListAuditEvents => {
                let request = pb::ListAuditEventsRequest {
                    integration_id: id,
                    ..Default::default()
                };
                timed!(
                    tally,
                    call,
                    self.admin.integrations.list_audit_events(request)
                );
            }
            Call::GrantAccess => {
                let request = pb::GrantAccessRequest {
                    resource_id: target
                        .pushed
                        .choose(&mut self.rng)
                        .expect("pushed")
                        .id
                        .clone(),
                    user_id: target.users.choose(&mut self.rng).expect("users").clone(),
                    reason: format!("load client {}", self.number),
                    expires_at: None,
                };
                let granted = timed!(tally, call, self.service.access.grant_access(request));
                tally.granted.extend(granted);
            }
            Call::RevokeAccess => {
                // A caller revokes what it sees: a grant ListAccess shows now (another client
                // may revoke the same one meanwhile; the second revocation answers it as is).
                let resource = target.pushed.choose(&mut self.rng).expect("pushed");
                let entries = self.list_access(resource).await.unwrap_or_default();
                let Some(entry) = entries.choose(&mut self.rng) else {
                    return;
                };
                let request = pb::RevokeAccessRequest {
                    grant_id: entry.grant_id.clone(),
                    reason: format!("load client {}", self.number),
                };
                let tally = &mut self.tally;
                let revoked = timed!(tally, call, self.service.access.revoke_access(request));
                tally.revoked.extend(revoked);
            }
            Call::TriggerSync => {
                let request = pb::TriggerSyncRequest {
                    integration_id: id,
                    ..Default::default()
                };
                if let Some(run) = timed!(tally, call, self.service.sync.trigger_sync(request)) {
                    self.runs[index] = run.id;
                }
            }
            Call::UpdateIntegration => {
                // A field no run depends on: the interval stays an hour or so.
                let request = pb::UpdateIntegrationRequest {
                    integration: Some(pb::Integration {
                        id,
                        sync_interval_seconds: 3600 + self.rng.gen_range(0..60),
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["sync_interval_seconds".into()],
                    }),
                };
                timed!(
                    tally,
                    call,
                    self.admin.integrations.update_integration(request)
                );
            }
            Call::CreateTeam => {
                self.teams_made += 1;
                let request = pb::CreateTeamRequest {
                    name: format!("load {} team {}", self.number, self.teams_made),
                    member_user_ids: target
                        .users
                        .choose_multiple(&mut self.rng, 2)
                        .cloned()
                        .collect(),
                };
                timed!(tally, call, self.teams.create_team(request));
            }
        }
    }

    /// ListAccess of a push-mode resource (recorded as such); its entries that carry a grant.
    async fn list_access(&mut self, resource: &pb::Resource) -> Option<Vec<pb::AccessEntry>> {
        let request = pb::ListAccessRequest {
            resource_id: resource.id.clone(),
            ..Default::default()
        };
        let tally = &mut self.tally;
        let listed = timed!(
            tally,
            Call::ListAccess,
            self.viewer.access.list_access(request)
        )?;
        let entries = listed.entries.into_iter();
        Some(entries.filter(|entry| !entry.grant_id.is_empty()).collect())
    }
}
