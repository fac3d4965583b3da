-- Removals are retried for ever now: a revocation that earlier used up its attempts (parked at
-- 'infinity') is due again. A row whose user is no longer wanted on the resource is a removal.
UPDATE propagations p SET next_attempt_at = now(), updated_at = now()
WHERE p.next_attempt_at = 'infinity'
  AND NOT EXISTS (SELECT 1 FROM desired_access d
                  WHERE d.resource_id = p.resource_id AND d.user_id = p.user_id);

-- Every change to a propagation row gets a new version, unique for all time (a row deleted and
-- made again never reuses one), so that the push can change a row only if it is still the one
-- its plan saw: a decision made while pushing (a revocation, say) is never overwritten.
CREATE SEQUENCE propagation_versions;
ALTER TABLE propagations ADD COLUMN version bigint NOT NULL DEFAULT nextval('propagation_versions');
ALTER SEQUENCE propagation_versions OWNED BY propagations.version;
CREATE FUNCTION propagations_next_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := nextval('propagation_versions');
    RETURN NEW;
END $$;
CREATE TRIGGER propagations_version BEFORE UPDATE ON propagations
    FOR EACH ROW EXECUTE FUNCTION propagations_next_version();
