//! The `scim` integration type against a real SCIM 2.0 service (`scim2-server`, one per test):
//! setup checks, what a sync pulls (users with their attributes, groups, memberships, filters),
//! paging past `page_size`, what a push changes on the service (connector-level, and end to end
//! through the gRPC API: grants, drift, teams), answers that are not SCIM, and the same sync and
//! pushes against a second implementation (SCIMMY).
//!
//! This module holds the shared fixtures; each submodule covers one concern.

mod faults;
mod paging;
mod pull;
mod push;
mod push_end_to_end;
mod second_service;
mod setup;

use oblique_testkit::scim::ScimAdmin;
use serde_json::json;

/// The SCIM ids of the people [`people`] creates.
pub(super) struct People {
    pub alice: String,
    pub bob: String,
    pub carol: String,
}

/// alice with every attribute the connector maps (the enterprise extension too), bob with two
/// emails and none primary, carol whose second email is the primary one.
pub(super) async fn people(admin: &ScimAdmin) -> People {
    let alice = admin
        .create_user(
            "alice",
            json!({
                "schemas": [
                    "urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
                ],
                "displayName": "Alice A.",
                "name": {"givenName": "Alice", "familyName": "Archer"},
                "title": "Zookeeper",
                "active": true,
                "externalId": "hr-0001",
                "emails": [{"value": "alice@example.org", "primary": true}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                    "employeeNumber": "0001",
                    "department": "Zoo",
                    "manager": {"value": "boss-17"}
                }
            }),
        )
        .await
        .expect("alice");
    let bob = admin
        .create_user(
            "bob",
            json!({
                "name": {"givenName": "Bob", "familyName": "Baker"},
                "emails": [{"value": "bob@example.org"}, {"value": "bob@home.example"}]
            }),
        )
        .await
        .expect("bob");
    let carol = admin
        .create_user(
            "carol",
            json!({
                "active": false,
                "emails": [
                    {"value": "carol@home.example"},
                    {"value": "carol@example.org", "primary": true}
                ]
            }),
        )
        .await
        .expect("carol");
    People { alice, bob, carol }
}

pub(super) fn pair(resource: &str, account: &str) -> (String, String) {
    (resource.to_string(), account.to_string())
}
