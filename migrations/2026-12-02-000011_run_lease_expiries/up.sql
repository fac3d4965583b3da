-- How many times the worker of this run, or of the runs it retries, died (its lease expired):
-- the reaper gives a run up after three, so that a run that kills its process (out of memory,
-- say) is not retried in a crash loop.
ALTER TABLE sync_runs ADD COLUMN lease_expiries integer NOT NULL DEFAULT 0
    CHECK (lease_expiries >= 0);
