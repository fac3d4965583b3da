//! What the load must leave behind: each push-mode role on the remote with exactly the members
//! Oblique decided, and each decision audited exactly once.

use oblique::pb;

use super::fixture::Target;
use crate::harness::Clients;
use crate::harness::calls::detail;
use crate::push::remote_members;

/// Asserts that each push-mode role of each target has, on the remote, the members ListAccess
/// says it has.
pub async fn assert_remote_as_decided(admin: &Clients, targets: &[Target]) {
    for target in targets {
        for resource in &target.pushed {
            assert_eq!(
                remote_members(&target.roles, &short_name(target, resource)).await,
                decided_members(admin, target, resource).await,
                "{} on the remote",
                resource.name
            );
        }
    }
}

/// The role's name without the fixture's prefix, as `remote_members` takes it.
fn short_name(target: &Target, resource: &pb::Resource) -> String {
    let prefix = format!("{}_", target.roles.prefix);
    resource
        .name
        .strip_prefix(&prefix)
        .expect("a fixture role")
        .to_string()
}

/// The remote role names of the users that ListAccess says have access, sorted.
async fn decided_members(admin: &Clients, target: &Target, resource: &pb::Resource) -> Vec<String> {
    let listed = admin
        .access
        .clone()
        .list_access(pb::ListAccessRequest {
            resource_id: resource.id.clone(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("ListAccess")
        .into_inner();
    assert!(listed.next_page_token.is_empty());
    let mut members: Vec<String> = listed
        .entries
        .iter()
        .map(|entry| target.usernames[&entry.user_id].clone())
        .collect();
    members.sort();
    members
}

/// Asserts that the audit log holds one `action` event for each distinct grant of `grants`
/// that `ours` picks, and no other.
pub async fn assert_audited_once(
    admin: &Clients,
    action: &str,
    grants: &[pb::Grant],
    ours: impl Fn(&pb::Grant) -> bool,
) {
    let expected = distinct(grants, ours);
    let mut audited: Vec<String> = all_audit_events(admin, action)
        .await
        .iter()
        .map(|event| detail(event, "grant_id").expect("a grant_id"))
        .collect();
    audited.sort();
    let twice: Vec<_> = audited.windows(2).filter(|w| w[0] == w[1]).collect();
    assert!(twice.is_empty(), "{action} audited twice: {twice:?}");
    let missing: Vec<_> = expected.iter().filter(|id| !audited.contains(id)).collect();
    assert!(missing.is_empty(), "{action} not audited: {missing:?}");
    let unknown: Vec<_> = audited.iter().filter(|id| !expected.contains(id)).collect();
    assert!(
        unknown.is_empty(),
        "{action} audited, never answered: {unknown:?}"
    );
}

/// The ids of the grants that `ours` picks, sorted, each once.
pub fn distinct(grants: &[pb::Grant], ours: impl Fn(&pb::Grant) -> bool) -> Vec<String> {
    let mut ids: Vec<String> = grants
        .iter()
        .filter(|grant| ours(grant))
        .map(|grant| grant.id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Every audit event of `action`.
pub async fn all_audit_events(admin: &Clients, action: &str) -> Vec<pb::AuditEvent> {
    let mut events = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = admin
            .integrations
            .clone()
            .list_audit_events(pb::ListAuditEventsRequest {
                action: action.into(),
                page_size: 1000,
                page_token,
                ..Default::default()
            })
            .await
            .expect("ListAuditEvents")
            .into_inner();
        events.extend(page.events);
        if page.next_page_token.is_empty() {
            return events;
        }
        page_token = page.next_page_token;
    }
}
