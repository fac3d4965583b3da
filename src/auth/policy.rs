//! The least role each `oblique.v1` method needs, as the auth layer checks it: before the request
//! body is even decoded, so that a caller without the role learns nothing from how its request
//! would have been validated. Each handler states the same role again with
//! [`require`](super::require) (defence in depth, and the one line a reader of the handler sees);
//! tests/it/auth_matrix.rs holds both to API.md's table.

use super::Role;

/// The role `path` (`/oblique.v1.Service/Method`) needs. Fails closed: a method named nowhere
/// here (a new RPC nobody decided on yet) needs the admin role.
pub fn needed_role(path: &str) -> Role {
    let method = path.strip_prefix("/oblique.v1.").unwrap_or(path);
    match method {
        "IntegrationService/ListIntegrationTypes"
        | "IntegrationService/GetIntegration"
        | "IntegrationService/ListIntegrations"
        | "IntegrationService/ListResources"
        | "IntegrationService/GetResource"
        | "IntegrationService/ListAccounts"
        | "SyncService/GetSyncRun"
        | "SyncService/ListSyncRuns"
        | "SyncService/ListSyncErrors"
        | "SyncService/ListSyncRunChanges"
        | "SyncService/WatchSyncRun"
        | "SyncService/SubscribeSyncEvents"
        | "UserService/ListUsers"
        | "UserService/GetUser"
        | "TeamService/GetTeam"
        | "TeamService/ListTeams"
        | "AccessService/ListAccess"
        | "AccessService/ListAccessHistory" => Role::Viewer,
        "SyncService/TriggerSync" | "AccessService/GrantAccess" | "AccessService/RevokeAccess" => {
            Role::Service
        }
        _ => Role::Admin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_need_more_than_a_token() {
        let path = |method: &str| format!("/oblique.v1.{method}");
        assert_eq!(
            needed_role(&path("IntegrationService/CreateIntegration")),
            Role::Admin
        );
        assert_eq!(needed_role(&path("SyncService/TriggerSync")), Role::Service);
        assert_eq!(needed_role(&path("SyncService/WatchSyncRun")), Role::Viewer);
        assert_eq!(
            needed_role(&path("IntegrationService/ListAuditEvents")),
            Role::Admin
        );
        // An RPC nobody decided on is closed to all but admins.
        assert_eq!(needed_role(&path("SyncService/SomethingNew")), Role::Admin);
    }
}
