-- An audit event records one of the actions the service knows (model::AuditAction); a word
-- nothing writes would never be found by the filters that look for it.
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
    ));

-- A resource is one of the kinds the connectors list and create (model::ResourceType).
ALTER TABLE resources ADD CONSTRAINT resources_resource_type_check
    CHECK (resource_type IN ('role', 'group'));
