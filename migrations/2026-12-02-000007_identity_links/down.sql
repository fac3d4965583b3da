DROP INDEX accounts_link_conflict;
DROP INDEX accounts_link_key;
ALTER TABLE accounts DROP COLUMN link_conflict, DROP COLUMN link_key;
ALTER TABLE integrations DROP COLUMN link_users_by;
