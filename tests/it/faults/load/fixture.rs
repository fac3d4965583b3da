//! The integrations the load runs on: each over remote roles of its own, synced once, with
//! push-mode groups whose first members are adopted.

use std::collections::HashMap;

use oblique::pb::{self, SyncRunState};

use super::{ADOPTED, DECIDED, GROUPS, PUSHED, USERS};
use crate::harness::remote::RemoteRoles;
use crate::harness::{Clients, wait_for_run};

/// One integration under load: its remote roles, its push-mode resources and its users.
pub struct Target {
    pub roles: RemoteRoles,
    pub integration: pb::Integration,
    pub initial_run: String,
    pub pushed: Vec<pb::Resource>,
    /// The users the clients grant access to and make teams of.
    pub users: Vec<String>,
    /// Account usernames (remote role names) by user id.
    pub usernames: HashMap<String, String>,
}

/// Integration `number`: its remote roles made, created and synced, `PUSHED` groups in push
/// mode (adopting their members).
pub async fn target(admin: &Clients, number: usize) -> Target {
    let roles = RemoteRoles::new().await;
    roles
        .sql(&format!(
            "DO $$ BEGIN
               FOR g IN 0..{last_group} LOOP
                 EXECUTE format('CREATE ROLE %I NOLOGIN', '{{p}}_g' || lpad(g::text, 2, '0'));
               END LOOP;
               FOR u IN 0..{last_user} LOOP
                 EXECUTE format('CREATE ROLE %I LOGIN', '{{p}}_u' || lpad(u::text, 3, '0'));
                 EXECUTE format('GRANT %I, %I TO %I',
                   '{{p}}_g' || lpad((u % {GROUPS})::text, 2, '0'),
                   '{{p}}_g' || lpad(((7 * u + 3) % {GROUPS})::text, 2, '0'),
                   '{{p}}_u' || lpad(u::text, 3, '0'));
               END LOOP;
               FOR g IN 0..{last_pushed} LOOP
                 EXECUTE format('CREATE ROLE %I NOLOGIN', '{{p}}_push' || g);
                 FOR u IN 0..{last_adopted} LOOP
                   EXECUTE format('GRANT %I TO %I', '{{p}}_push' || g,
                     '{{p}}_u' || lpad(((u + g) % {DECIDED})::text, 3, '0'));
                 END LOOP;
               END LOOP;
             END $$",
            last_group = GROUPS - 1,
            last_user = USERS - 1,
            last_pushed = PUSHED - 1,
            last_adopted = ADOPTED - 1,
        ))
        .await;
    let created = admin
        .integrations
        .clone()
        .create_integration(roles.create_request(&format!("load {number}")).await)
        .await
        .expect("create")
        .into_inner();
    let initial = created.last_sync_run.clone().expect("initial run");
    let initial = wait_for_run(admin, &initial.id).await;
    assert_eq!(initial.state(), SyncRunState::Succeeded, "{initial:?}");
    let accounts = admin
        .integrations
        .clone()
        .list_accounts(pb::ListAccountsRequest {
            integration_id: created.id.clone(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("ListAccounts")
        .into_inner()
        .accounts;
    assert_eq!(accounts.len(), USERS);
    let mut decided: Vec<_> = accounts.iter().collect();
    decided.sort_by(|a, b| a.username.cmp(&b.username));
    let resources = admin
        .integrations
        .clone()
        .list_resources(pb::ListResourcesRequest {
            integration_id: created.id.clone(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("ListResources")
        .into_inner()
        .resources;
    assert_eq!(resources.len(), GROUPS + PUSHED);
    let mut pushed = Vec::new();
    for group in 0..PUSHED {
        let name = roles.name(&format!("push{group}"));
        let resource = resources
            .iter()
            .find(|r| r.name == name)
            .expect("the push group");
        let switched = admin
            .integrations
            .clone()
            .set_resource_sync_mode(pb::SetResourceSyncModeRequest {
                resource_id: resource.id.clone(),
                sync_mode: pb::SyncMode::Push.into(),
            })
            .await
            .expect("push mode")
            .into_inner();
        pushed.push(switched);
    }
    Target {
        roles,
        integration: created,
        initial_run: initial.id,
        users: decided[..DECIDED]
            .iter()
            .map(|a| a.user_id.clone())
            .collect(),
        usernames: accounts
            .into_iter()
            .map(|a| (a.user_id, a.username))
            .collect(),
        pushed,
    }
}
