DROP TRIGGER integrations_never_removed ON integrations;
DROP TRIGGER users_never_removed ON users;

CREATE OR REPLACE FUNCTION refuse_removal() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are soft deleted (deleted_at), never removed: % refused',
        TG_TABLE_NAME, TG_OP;
END
$$;

ALTER TABLE resources
    ADD CONSTRAINT resources_integration_id_fkey FOREIGN KEY (integration_id) REFERENCES integrations (id);
ALTER TABLE accounts
    ADD CONSTRAINT accounts_integration_id_fkey FOREIGN KEY (integration_id) REFERENCES integrations (id),
    ADD CONSTRAINT accounts_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id);
