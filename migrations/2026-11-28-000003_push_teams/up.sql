-- Push mode: access decisions made in Oblique (grants), teams, and the state of pushing each
-- decision to the remote system.

CREATE TABLE teams (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (name <> '' AND length(name) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX teams_name ON teams (lower(name));

-- One row per period a user was a member of a team; the open row is the current membership.
CREATE TABLE team_members (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    team_id uuid NOT NULL REFERENCES teams (id),
    user_id uuid NOT NULL REFERENCES users (id),
    added_at timestamptz NOT NULL DEFAULT now(),
    removed_at timestamptz
);
CREATE UNIQUE INDEX team_members_current ON team_members (team_id, user_id) WHERE removed_at IS NULL;
CREATE INDEX team_members_by_user ON team_members (user_id);

ALTER TABLE resources
    ADD CONSTRAINT resources_team_id_fkey FOREIGN KEY (team_id) REFERENCES teams (id);

-- Access decisions. A grant is active until revoked; `deleted_at` marks grants of a removed
-- integration (kept, like its resources, so that history still resolves).
CREATE TABLE grants (
    id uuid PRIMARY KEY,
    resource_id uuid NOT NULL REFERENCES resources (id),
    user_id uuid NOT NULL REFERENCES users (id),
    source text NOT NULL CHECK (source IN ('grant', 'remote_adopted')),
    reason text NOT NULL DEFAULT '',
    granted_by text NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz,
    revoked_by text,
    revoke_reason text,
    deleted_at timestamptz
);
CREATE UNIQUE INDEX grants_active ON grants (resource_id, user_id) WHERE revoked_at IS NULL;
CREATE INDEX grants_by_user ON grants (user_id, granted_at);
CREATE INDEX grants_by_resource ON grants (resource_id, granted_at);
CREATE INDEX grants_expiring ON grants (expires_at) WHERE revoked_at IS NULL AND expires_at IS NOT NULL;

-- What pushing a push-mode resource's membership of one user last did: PENDING until the remote
-- matches, IN_SYNC after, ERROR (with attempts and the next retry) when the remote refused.
CREATE TABLE propagations (
    resource_id uuid NOT NULL REFERENCES resources (id),
    user_id uuid NOT NULL REFERENCES users (id),
    integration_id uuid NOT NULL REFERENCES integrations (id),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'in_sync', 'error')),
    error text,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (resource_id, user_id)
);
CREATE INDEX propagations_due ON propagations (next_attempt_at) WHERE status <> 'in_sync';
CREATE INDEX propagations_by_integration ON propagations (integration_id);

-- Who should be a member of each push-mode resource, and why: active grants, and the members
-- of the team a resource was made for. A user may appear twice (a grant and a team).
CREATE VIEW desired_access AS
SELECT g.resource_id, g.user_id, g.source, g.id AS grant_id, g.granted_at AS since
FROM grants g
WHERE g.revoked_at IS NULL AND g.deleted_at IS NULL
  AND (g.expires_at IS NULL OR g.expires_at > now())
UNION ALL
SELECT r.id, tm.user_id, 'team', NULL, tm.added_at
FROM resources r
JOIN team_members tm ON tm.team_id = r.team_id AND tm.removed_at IS NULL
WHERE r.deleted_at IS NULL;
