-- The whole difference a dry run found, one row per change, kept with the run for
-- ListSyncRunChanges (a real run's changes are in pulled_access' history and the audit log).
-- Written in the transaction that ends the dry run as succeeded: a run that failed or was
-- cancelled has none, and a succeeded one has all of them. `seq` is the list's order (kind,
-- resource name, account name) and the key its pages start after.
CREATE TABLE sync_run_changes (
    run_id uuid NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    seq bigint NOT NULL,
    -- model::RunChangeKind
    kind text NOT NULL
        CHECK (kind IN ('access_added', 'access_removed', 'access_updated',
                        'account_created', 'account_updated', 'account_deleted',
                        'resource_created', 'resource_updated', 'resource_deleted')),
    -- A snapshot, deliberately without foreign keys: the ids are those of objects that existed
    -- before the run (NULL for an object the dry run would have created), and the names are as
    -- the run saw them, whatever happens to the objects later.
    resource_id uuid,
    resource_external_id text,
    resource_name text,
    account_id uuid,
    account_external_id text,
    account_username text,
    account_display_name text,
    -- Access changes: held through a member group only (for ACCESS_UPDATED: from now on).
    inherited boolean NOT NULL DEFAULT false,
    PRIMARY KEY (run_id, seq)
);
