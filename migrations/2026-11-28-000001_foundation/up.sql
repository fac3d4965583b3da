-- Foundation: tokens, integrations with their resources and accounts, users, sync runs and the
-- append-only audit log. Ids are UUIDv7 made by the service, so id order is creation order and
-- keyset pagination needs no extra column.

CREATE TABLE api_tokens (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (name <> '' AND length(name) <= 100),
    role text NOT NULL CHECK (role IN ('admin', 'service', 'viewer')),
    -- SHA-256 of the token's secret part; the token itself is never stored.
    secret_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);
-- A name is reusable once its token is revoked.
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE integrations (
    id uuid PRIMARY KEY,
    integration_type text NOT NULL,
    name text NOT NULL CHECK (name <> '' AND length(name) <= 200),
    config jsonb NOT NULL DEFAULT '{}',
    -- AES-256-GCM: 12-byte nonce followed by the ciphertext of the credentials as JSON.
    credentials_ciphertext bytea,
    create_resources_for_new_teams boolean NOT NULL DEFAULT false,
    sync_interval_seconds integer NOT NULL DEFAULT 3600 CHECK (sync_interval_seconds > 0),
    max_deletion_percent integer NOT NULL DEFAULT 20
        CHECK (max_deletion_percent BETWEEN 0 AND 100),
    -- Idempotency key of the CreateIntegration call that made it.
    create_request_id text UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE UNIQUE INDEX integrations_active_name ON integrations (name) WHERE deleted_at IS NULL;

CREATE TABLE users (
    id uuid PRIMARY KEY,
    -- Lower-cased; accounts with an email link to the user by it.
    email text,
    username text NOT NULL,
    display_name text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_username ON users (username);

CREATE TABLE accounts (
    id uuid PRIMARY KEY,
    integration_id uuid NOT NULL REFERENCES integrations (id),
    user_id uuid REFERENCES users (id),
    external_id text NOT NULL,
    username text NOT NULL,
    email text,
    display_name text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    last_synced_at timestamptz,
    deleted_at timestamptz,
    UNIQUE (integration_id, external_id)
);
CREATE INDEX accounts_user ON accounts (user_id);

CREATE TABLE account_attributes (
    account_id uuid NOT NULL REFERENCES accounts (id),
    name text NOT NULL,
    -- Multi-valued attributes keep every value in the remote system's order.
    attribute_values text[] NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE resources (
    id uuid PRIMARY KEY,
    integration_id uuid NOT NULL REFERENCES integrations (id),
    external_id text NOT NULL,
    resource_type text NOT NULL,
    name text NOT NULL,
    description text NOT NULL DEFAULT '',
    sync_mode text NOT NULL DEFAULT 'pull' CHECK (sync_mode IN ('pull', 'push')),
    propagation_status text NOT NULL DEFAULT 'in_sync'
        CHECK (propagation_status IN ('in_sync', 'pending', 'error')),
    propagation_error text,
    -- Set when Oblique created the resource for a team.
    team_id uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    last_synced_at timestamptz,
    deleted_at timestamptz,
    UNIQUE (integration_id, external_id)
);

CREATE TABLE sync_runs (
    id uuid PRIMARY KEY,
    integration_id uuid NOT NULL REFERENCES integrations (id),
    trigger text NOT NULL CHECK (trigger IN ('created', 'scheduled', 'manual', 'team', 'grant')),
    state text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    phase text CHECK (phase IN ('accounts', 'resources', 'access', 'push')),
    stats jsonb NOT NULL DEFAULT '{}',
    error text,
    dry_run boolean NOT NULL DEFAULT false,
    allow_mass_deletion boolean NOT NULL DEFAULT false,
    requested_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz
);
-- At most one active run per integration, whichever replica enqueues it.
CREATE UNIQUE INDEX sync_runs_one_active ON sync_runs (integration_id)
    WHERE state IN ('queued', 'running');
CREATE INDEX sync_runs_by_integration ON sync_runs (integration_id, id);

CREATE TABLE audit_events (
    id uuid PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor_name text NOT NULL,
    actor_role text NOT NULL,
    action text NOT NULL,
    integration_id uuid REFERENCES integrations (id),
    resource_id uuid REFERENCES resources (id),
    details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_by_integration ON audit_events (integration_id, id);
CREATE INDEX audit_events_by_resource ON audit_events (resource_id, id);
CREATE INDEX audit_events_by_actor ON audit_events (actor_name, id);

-- The audit log is append-only: the database itself refuses to change or remove an event.
CREATE FUNCTION audit_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
