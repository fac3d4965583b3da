-- Reopens the rows up.sql closed, and only those. It closed them all at its transaction's start,
-- the instant diesel recorded in the same transaction as this migration's run_on (stored without
-- a time zone, by a session in UTC as diesel's connections are). Rows closed at any other
-- instant, by a sync or by removing an integration, are history and stay closed; so does a row
-- whose resource and account are live again (a newer row may be open for them).
UPDATE pulled_access p SET removed_at = NULL
FROM __diesel_schema_migrations m
WHERE m.version = '20261129000005'
  AND p.removed_at = m.run_on AT TIME ZONE 'UTC'
  AND (EXISTS (SELECT 1 FROM resources r WHERE r.id = p.resource_id AND r.deleted_at IS NOT NULL)
       OR EXISTS (SELECT 1 FROM accounts a WHERE a.id = p.account_id AND a.deleted_at IS NOT NULL));

ALTER TABLE pulled_access DROP COLUMN pair_key;
DROP FUNCTION access_pair_key(text, text);
