-- Removals are retried for ever now: a revocation that earlier used up its attempts (parked at
-- 'infinity') is due again. A row whose user is no longer wanted on the resource is a removal.
UPDATE propagations p SET next_attempt_at = now(), updated_at = now()
WHERE p.next_attempt_at = 'infinity'
  AND NOT EXISTS (SELECT 1 FROM desired_access d
                  WHERE d.resource_id = p.resource_id AND d.user_id = p.user_id);
