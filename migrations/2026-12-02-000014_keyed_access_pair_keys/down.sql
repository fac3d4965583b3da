CREATE FUNCTION access_pair_key(resource_external_id text, account_external_id text)
RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ('x' || encode(substring(sha256(convert_to(resource_external_id, 'UTF8') || '\x00'::bytea
                                       || convert_to(account_external_id, 'UTF8'))
                                from 1 for 8), 'hex'))::bit(64)::bigint;

UPDATE pulled_access p SET pair_key = access_pair_key(r.external_id, a.external_id)
FROM resources r, accounts a
WHERE r.id = p.resource_id AND a.id = p.account_id;

DROP FUNCTION access_pair_key(bytea, text, text);
ALTER TABLE integrations DROP COLUMN access_key_secret;
