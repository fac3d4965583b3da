-- Identity links: how each integration's accounts are linked to Oblique users, and what each
-- account was linked by. Values a remote system controls (an email, a username) decide which
-- user an account belongs to, and so who receives that user's team and grant pushes; the policy
-- is explicit per integration and every sync re-checks it.

-- email: by the lower-cased email, else (no email) by the username; username: by the username
-- only; none: this integration's accounts are linked to no user. Existing integrations keep what
-- they did: ldap accounts linked by email, postgres roles (which have no email) by username.
ALTER TABLE integrations
    ADD COLUMN link_users_by text NOT NULL DEFAULT 'email'
        CHECK (link_users_by IN ('email', 'username', 'none'));
UPDATE integrations SET link_users_by = 'username' WHERE integration_type = 'postgres';
ALTER TABLE integrations ALTER COLUMN link_users_by DROP DEFAULT;

-- link_key: the value the account was linked by ('email:<lower-cased email>' or
-- 'username:<username>'); NULL while unlinked, and for links made before this migration (the
-- next sync adopts those that still match their user). link_conflict: why the link is held (two
-- accounts of the integration claim one value, a value that belonged to another account, a value
-- that changed owner); while set, nothing is pushed to the account that gives it access.
ALTER TABLE accounts ADD COLUMN link_key text, ADD COLUMN link_conflict text;
CREATE INDEX accounts_link_key ON accounts (integration_id, link_key) WHERE link_key IS NOT NULL;
CREATE INDEX accounts_link_conflict ON accounts (integration_id) WHERE link_conflict IS NOT NULL;
