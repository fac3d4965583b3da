DROP TABLE sync_run_changes;
