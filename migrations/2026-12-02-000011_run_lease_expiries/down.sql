ALTER TABLE sync_runs DROP COLUMN lease_expiries;
