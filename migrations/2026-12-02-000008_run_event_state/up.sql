-- An event's run state takes the same values as the run's own (sync_runs.state), so that an
-- event always reads back as one of them.
ALTER TABLE sync_events
    ADD CONSTRAINT sync_events_state_check
        CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled'));
