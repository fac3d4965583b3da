-- Pair keys are keyed per integration (issue 13, defect 11). The merge compares a resource's
-- listed pairs with its open rows by count and XOR of their keys; with keys anyone can compute,
-- whoever controls a remote could choose external ids whose keys fold like the stored rows and
-- so hide members from Oblique. Each integration gets a random secret that never leaves this
-- database, and a pair's key is the first 64 bits of SHA-256(secret || resource id || NUL ||
-- account id): without the secret, steering a fold is guessing 64 bits.
-- 64 bytes (four random UUIDs, 488 random bits): one SHA-256 block, which the sync hashes once
-- per integration and resumes for each pair.
ALTER TABLE integrations ADD COLUMN access_key_secret bytea NOT NULL
    DEFAULT (uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())
             || uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()))
    CONSTRAINT integrations_access_key_secret_length CHECK (length(access_key_secret) = 64);

-- The twin of src/engine/access_key.rs (a test holds the two equal).
CREATE FUNCTION access_pair_key(secret bytea, resource_external_id text, account_external_id text)
RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ('x' || encode(substring(sha256(secret || convert_to(resource_external_id, 'UTF8')
                                       || '\x00'::bytea
                                       || convert_to(account_external_id, 'UTF8'))
                                from 1 for 8), 'hex'))::bit(64)::bigint;

UPDATE pulled_access p
SET pair_key = access_pair_key(i.access_key_secret, r.external_id, a.external_id)
FROM integrations i, resources r, accounts a
WHERE i.id = p.integration_id AND r.id = p.resource_id AND a.id = p.account_id;

DROP FUNCTION access_pair_key(text, text);
