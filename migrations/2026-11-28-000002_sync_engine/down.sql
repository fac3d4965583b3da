ALTER TABLE accounts ADD COLUMN last_synced_at timestamptz;
ALTER TABLE resources ADD COLUMN last_synced_at timestamptz;
ALTER TABLE integrations DROP COLUMN last_pulled_at;
DROP INDEX users_username_prefix;
DROP INDEX users_email_prefix;
DROP TABLE pulled_access;
DROP TABLE sync_errors;
DROP TABLE sync_events;
DROP INDEX sync_runs_running_lease;
DROP INDEX sync_runs_queued;
ALTER TABLE sync_runs
    DROP COLUMN event_seq,
    DROP COLUMN lease_expires_at,
    DROP COLUMN claimed_by;
DROP FUNCTION uuid_generate_v7();
