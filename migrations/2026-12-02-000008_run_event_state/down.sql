ALTER TABLE sync_events DROP CONSTRAINT sync_events_state_check;
