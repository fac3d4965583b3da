DROP TABLE remote_intents;
-- Audit events are append-only: the push events stay, and the old list holds for new rows.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_check
    CHECK (action IN (
        'integration.create',
        'integration.update',
        'integration.delete',
        'sync.trigger',
        'sync.cancel',
        'sync.apply',
        'access.grant',
        'access.revoke',
        'access.expire',
        'access.adopt',
        'access.drift_corrected',
        'resource.sync_mode',
        'resource.restore',
        'resource.soft_delete',
        'team.create',
        'team.add_member',
        'team.remove_member',
        'team.resource_create',
        'team.resource_skipped',
        'team.resource_failed',
        'token.create',
        'token.revoke',
        'keys.rotate'
    )) NOT VALID;
