-- A change Oblique is about to make on a remote system, written before the remote is called and
-- closed after it, in the transaction that records what the call did and audits it. A process
-- that dies in between leaves the intent open; the integration's next run resolves it from its
-- fresh listing (did the change happen?) and audits it then. So every remote change Oblique
-- makes is audited exactly once, crash or not.
CREATE TABLE remote_intents (
    id uuid PRIMARY KEY,
    integration_id uuid NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    -- model::RemoteOp
    operation text NOT NULL
        CHECK (operation IN ('add_member', 'remove_member', 'create_resource')),
    -- add/remove: the member's resource and account; create: the team and the name asked for.
    resource_id uuid REFERENCES resources (id) ON DELETE CASCADE,
    account_id uuid REFERENCES accounts (id) ON DELETE CASCADE,
    team_id uuid REFERENCES teams (id) ON DELETE CASCADE,
    target text NOT NULL,
    -- The audit event the change is recorded with, written as it was decided.
    actor_name text NOT NULL,
    actor_role text NOT NULL,
    audit_action text NOT NULL,
    audit_details jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Until then, the process that wrote it may still be waiting for the remote: a run resolves
    -- only intents past it. A push's intents are past it at once (an integration has one active
    -- run, so a later run's finding one means its writer is gone); a team's, after the longest a
    -- remote call may take.
    resolvable_after timestamptz NOT NULL DEFAULT now(),
    -- The audit event's words are checked where it is written: by audit_events' own CHECKs.
    CHECK (CASE operation
               WHEN 'create_resource' THEN team_id IS NOT NULL AND resource_id IS NULL
               ELSE resource_id IS NOT NULL AND account_id IS NOT NULL
           END)
);
CREATE INDEX remote_intents_integration ON remote_intents (integration_id);

-- Each remote change a push makes is audited (before, only drift corrections were).
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
        'push.add',
        'push.remove',
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
