DROP TRIGGER propagations_version ON propagations;
DROP FUNCTION propagations_next_version();
-- Drops the sequence too (it is owned by the column).
ALTER TABLE propagations DROP COLUMN version;
-- Nothing else to undo: up.sql also made parked removals due again, which the old code reads as
-- it reads any other due retry.
