-- The sync engine: leased runs, their stored events, per-object sync errors, pulled access with
-- its history, and UUIDv7 ids for rows the set-based merge creates.

-- UUIDv7 (time-ordered, like the ids the service makes) for rows created by SQL.
CREATE FUNCTION uuid_generate_v7() RETURNS uuid
LANGUAGE sql VOLATILE AS $$
    SELECT encode(
        set_bit(
            set_bit(
                overlay(uuid_send(gen_random_uuid())
                        PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                        FROM 1 FOR 6),
                52, 1),
            53, 1),
        'hex')::uuid
$$;

ALTER TABLE sync_runs
    -- The worker (process and slot) running it, and until when its claim holds without a heartbeat.
    ADD COLUMN claimed_by text,
    ADD COLUMN lease_expires_at timestamptz,
    -- Last sequence number given to one of the run's events.
    ADD COLUMN event_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX sync_runs_queued ON sync_runs (id) WHERE state = 'queued';
CREATE INDEX sync_runs_running_lease ON sync_runs (lease_expires_at) WHERE state = 'running';

CREATE TABLE sync_events (
    run_id uuid NOT NULL REFERENCES sync_runs (id),
    seq bigint NOT NULL,
    -- Copied from the run for filtering, deliberately without a foreign key: emitting an event
    -- must not wait on the integration's row, which DeleteIntegration holds while it cancels
    -- this very run (that wait would deadlock).
    integration_id uuid NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    kind text NOT NULL
        CHECK (kind IN ('state_changed', 'phase_started', 'progress', 'warning', 'phase_finished', 'finished')),
    phase text CHECK (phase IN ('accounts', 'resources', 'access', 'push')),
    processed bigint NOT NULL DEFAULT 0,
    total bigint NOT NULL DEFAULT 0,
    stats jsonb,
    state text NOT NULL,
    message text NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, seq)
);

-- Problems with single remote objects that are still present; an object that syncs cleanly
-- loses its row.
CREATE TABLE sync_errors (
    integration_id uuid NOT NULL REFERENCES integrations (id),
    object text NOT NULL,
    message text NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz NOT NULL DEFAULT now(),
    count bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (integration_id, object)
);

-- Access as pulled from the remote: one row per period an account was a member of a resource.
-- The open row (removed_at IS NULL) is the current state; closed rows are history.
CREATE TABLE pulled_access (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    -- The resource's integration, copied for set-based merges. No foreign key of its own: the
    -- resource's already implies it, and a third check per row was a sixth of an initial sync.
    integration_id uuid NOT NULL,
    resource_id uuid NOT NULL REFERENCES resources (id),
    account_id uuid NOT NULL REFERENCES accounts (id),
    added_at timestamptz NOT NULL DEFAULT now(),
    removed_at timestamptz
);
CREATE UNIQUE INDEX pulled_access_current ON pulled_access (resource_id, account_id)
    WHERE removed_at IS NULL;
CREATE INDEX pulled_access_by_integration ON pulled_access (integration_id) WHERE removed_at IS NULL;
CREATE INDEX pulled_access_by_account ON pulled_access (account_id, resource_id);
CREATE INDEX pulled_access_history ON pulled_access (resource_id, added_at);

-- Users are found by email prefix and username prefix.
CREATE INDEX users_email_prefix ON users (email text_pattern_ops);
CREATE INDEX users_username_prefix ON users (username text_pattern_ops);

-- The last successful pull, shown as each live resource's and account's last_synced_at (kept
-- on the integration so that a sync that finds no change writes no row of synced data).
ALTER TABLE integrations ADD COLUMN last_pulled_at timestamptz;
ALTER TABLE resources DROP COLUMN last_synced_at;
ALTER TABLE accounts DROP COLUMN last_synced_at;
