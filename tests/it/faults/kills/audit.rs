//! What the audit log must say after the kills: each remote change a decision caused once,
//! each applied merge once, and no drift (every remote change was one Oblique decided).

use std::collections::{BTreeMap, BTreeSet};

use oblique::pb;

use super::decisions::Pushed;
use crate::harness::Clients;
use crate::harness::calls::detail;

/// Asserts that no run's merge was audited twice (`sync.apply` names its run), and that no
/// push was audited as a correction of drift: nobody but Oblique changed the push-mode groups.
/// Returns how many merges were audited.
pub async fn assert_merges_audited_once_and_no_drift(
    clients: &Clients,
    integration_id: &str,
) -> usize {
    let drift = audit_events(clients, integration_id, "access.drift_corrected").await;
    assert!(drift.is_empty(), "pushes audited as drift: {drift:?}");
    let applied = audit_events(clients, integration_id, "sync.apply").await;
    let mut runs = BTreeSet::new();
    for event in &applied {
        let run = detail(event, "run_id").unwrap_or_else(|| panic!("no run_id: {event:?}"));
        assert!(runs.insert(run), "a run's merge audited twice: {applied:?}");
    }
    applied.len()
}

/// Whether the run's merge was audited, which it is in the transaction that applies it when it
/// changed anything.
pub async fn merge_audited(clients: &Clients, integration_id: &str, run_id: &str) -> bool {
    audit_events(clients, integration_id, "sync.apply")
        .await
        .iter()
        .any(|event| detail(event, "run_id").as_deref() == Some(run_id))
}

/// Asserts that the audit log holds each of the remote changes the test's decisions caused
/// exactly once, as `push.add` / `push.remove` events whose details name the resource and the
/// account by external id (`resource_external_id`, `account_external_id`), and no other push.
pub async fn assert_each_push_audited_once(
    clients: &Clients,
    integration_id: &str,
    expected: &[Pushed],
) {
    let mut audited: BTreeMap<Pushed, usize> = BTreeMap::new();
    for (action, op) in [("push.add", "add"), ("push.remove", "remove")] {
        for event in audit_events(clients, integration_id, action).await {
            let id =
                |key: &str| detail(&event, key).unwrap_or_else(|| panic!("no {key} in {event:?}"));
            let pushed = Pushed {
                resource_external_id: id("resource_external_id"),
                account_external_id: id("account_external_id"),
                op,
            };
            *audited.entry(pushed).or_default() += 1;
        }
    }
    let wanted: BTreeMap<Pushed, usize> = expected.iter().map(|p| (p.clone(), 1)).collect();
    assert_eq!(
        wanted.len(),
        expected.len(),
        "the test named a remote change twice"
    );
    let named: BTreeSet<&Pushed> = wanted.keys().chain(audited.keys()).collect();
    let wrong: Vec<_> = named
        .into_iter()
        .filter(|pushed| wanted.get(*pushed) != audited.get(*pushed))
        .map(|pushed| (pushed, audited.get(pushed).copied().unwrap_or(0)))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} pushes not audited exactly once (push, times audited), e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(20)]
    );
}

/// Every audit event of the integration with `action`, page by page.
async fn audit_events(
    clients: &Clients,
    integration_id: &str,
    action: &str,
) -> Vec<pb::AuditEvent> {
    let mut events = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = clients
            .integrations
            .clone()
            .list_audit_events(pb::ListAuditEventsRequest {
                integration_id: integration_id.into(),
                action: action.into(),
                page_size: 1000,
                page_token,
                ..Default::default()
            })
            .await
            .expect("list audit events")
            .into_inner();
        events.extend(page.events);
        if page.next_page_token.is_empty() {
            return events;
        }
        page_token = page.next_page_token;
    }
}
