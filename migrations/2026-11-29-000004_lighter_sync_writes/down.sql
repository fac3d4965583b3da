CREATE INDEX users_username ON users (username);

DROP TRIGGER resources_never_removed ON resources;
DROP TRIGGER accounts_never_removed ON accounts;
DROP FUNCTION refuse_removal();

ALTER TABLE pulled_access
    ADD CONSTRAINT pulled_access_resource_id_fkey FOREIGN KEY (resource_id) REFERENCES resources (id),
    ADD CONSTRAINT pulled_access_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id);
