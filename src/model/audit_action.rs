//! What an audit event records. Each action is written by one use case (or the engine), and the
//! audit log's CHECK allows only these words.

text_enum! {
    pub enum AuditAction as "audit action" {
        IntegrationCreate = "integration.create",
        IntegrationUpdate = "integration.update",
        IntegrationDelete = "integration.delete",
        /// A person asked for a sync.
        SyncTrigger = "sync.trigger",
        /// A person cancelled a run.
        SyncCancel = "sync.cancel",
        /// A run's merge changed something (or met errors).
        SyncApply = "sync.apply",
        AccessGrant = "access.grant",
        AccessRevoke = "access.revoke",
        /// A grant's expiry passed.
        AccessExpire = "access.expire",
        /// Remote members became grants when their resource switched to push mode.
        AccessAdopt = "access.adopt",
        /// A push put the remote back as decided after someone changed it by hand.
        AccessDriftCorrected = "access.drift_corrected",
        /// A push added a member on the remote, as decided.
        PushAdd = "push.add",
        /// A push removed a member from the remote, as decided.
        PushRemove = "push.remove",
        ResourceSyncMode = "resource.sync_mode",
        /// A resource that had gone from the remote is listed again.
        ResourceRestore = "resource.restore",
        /// A resource is gone from the remote.
        ResourceSoftDelete = "resource.soft_delete",
        TeamCreate = "team.create",
        TeamAddMember = "team.add_member",
        TeamRemoveMember = "team.remove_member",
        /// A resource was created on the remote for a team.
        TeamResourceCreate = "team.resource_create",
        /// A team got no resource in an integration that creates them: a name was taken.
        TeamResourceSkipped = "team.resource_skipped",
        /// Creating a team's resource failed.
        TeamResourceFailed = "team.resource_failed",
        TokenCreate = "token.create",
        TokenRevoke = "token.revoke",
        KeysRotate = "keys.rotate",
    }
}
