//! A listing larger than a page (or than the server's size limit) is brought whole: every
//! account, and every member of a group that has them all.

use crate::conformance::Remote;
use crate::conformance::service::{access, create_request, resources, synced};
use crate::grpc::Clients;

pub async fn pages_past_the_limit(admin: &Clients, remote: &dyn Remote) {
    let (page_config, count) = remote.paging();
    let added = remote.add_accounts("p", count).await.expect("accounts");
    assert_eq!(added.len(), count);
    let members: Vec<String> = (0..count).map(|n| format!("p{n}")).collect();
    let members: Vec<&str> = members.iter().map(String::as_str).collect();
    let everyone = remote
        .add_resource("everyone", &members)
        .await
        .expect("everyone");

    let mut request = create_request(remote, "paging");
    for (key, value) in page_config {
        request.config.insert(key.into(), value);
    }
    let (integration, _) = synced(admin, request).await;
    let fetched = admin
        .integrations
        .clone()
        .get_integration(oblique::pb::GetIntegrationRequest {
            id: integration.id.clone(),
        })
        .await
        .expect("GetIntegration")
        .into_inner();
    assert_eq!(fetched.account_count, count as i64);
    let everyone = &resources(admin, &integration).await[&everyone];
    let with_access = access(admin, &integration, everyone).await;
    assert_eq!(with_access, added.into_iter().collect());
}
