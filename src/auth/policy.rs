//! The least role each `oblique.v1` method needs, as the auth layer checks it: before the request
//! body is even decoded, so that a caller without the role learns nothing from how its request
//! would have been validated. Each handler states the same role again with
//! [`require`](super::require) (defence in depth, and the one line a reader of the handler sees);
//! tests/it/auth_matrix.rs holds both to API.md's table.

use super::Role;

/// The role `path` (`/oblique.v1.Service/Method`) needs. Methods not named need only a token:
/// reading and subscribing.
pub fn needed_role(path: &str) -> Role {
    let method = path.strip_prefix("/oblique.v1.").unwrap_or(path);
    match method {
        "IntegrationService/CreateIntegration"
        | "IntegrationService/UpdateIntegration"
        | "IntegrationService/DeleteIntegration"
        | "IntegrationService/SetResourceSyncMode"
        | "IntegrationService/ListAuditEvents"
        | "SyncService/CancelSyncRun"
        | "TeamService/CreateTeam"
        | "TeamService/AddTeamMember"
        | "TeamService/RemoveTeamMember" => Role::Admin,
        "SyncService/TriggerSync" | "AccessService/GrantAccess" | "AccessService/RevokeAccess" => {
            Role::Service
        }
        _ => Role::Viewer,
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
    }
}
