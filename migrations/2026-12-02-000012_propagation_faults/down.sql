-- Nothing to undo: up.sql only made parked removals due again, which the old code reads as it
-- reads any other due retry.
SELECT 1;
