-- A pull compares the listed access with the open pulled_access rows. Resolving a million listed
-- pairs by external id and joining them with a million stored rows was most of a no-change sync.
-- Each row now carries its pair's key, made from the two external ids, so that a resource's
-- listed pairs and its open rows can be compared by count and XOR of keys first; only the
-- resources whose fold differs are compared pair by pair. The sync computes the same key in
-- Rust while staging (src/sync/access_key.rs); this function is its twin for SQL, and a test
-- holds the two equal.
CREATE FUNCTION access_pair_key(resource_external_id text, account_external_id text)
RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ('x' || encode(substring(sha256(convert_to(resource_external_id, 'UTF8') || '\x00'::bytea
                                       || convert_to(account_external_id, 'UTF8'))
                                from 1 for 8), 'hex'))::bit(64)::bigint;

ALTER TABLE pulled_access ADD COLUMN pair_key bigint;

UPDATE pulled_access p SET pair_key = access_pair_key(r.external_id, a.external_id)
FROM resources r, accounts a
WHERE r.id = p.resource_id AND a.id = p.account_id;

ALTER TABLE pulled_access ALTER COLUMN pair_key SET NOT NULL;

-- The comparison trusts that open rows name live resources and accounts (the sync closes the rows
-- of what it soft deletes). Rows an older version left open are closed here once.
UPDATE pulled_access p SET removed_at = now()
WHERE p.removed_at IS NULL
  AND (EXISTS (SELECT 1 FROM resources r WHERE r.id = p.resource_id AND r.deleted_at IS NOT NULL)
       OR EXISTS (SELECT 1 FROM accounts a WHERE a.id = p.account_id AND a.deleted_at IS NOT NULL));
