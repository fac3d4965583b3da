-- After attributes (2026-12-03-000018), the accounts' own foreign keys were the largest cost an
-- initial sync paid over the physical floor: the accounts' insert took 0.46 s for 20,000 rows
-- where COPYing them takes 0.15 s (`oblique-bench --mysql`), most of the difference the two
-- checks a row (an index probe and a row lock in users, and again in integrations). Resources
-- pay the integration's check the same way. What the keys guarded holds without them:
-- - the sync's merge is the only writer of accounts and resources, and takes every user id
--   from a row of users it reads in the same transaction, and the integration id from its run;
-- - neither users nor integrations are ever removed (an integration is soft deleted), which
--   the database now enforces as it does for accounts and resources.
-- The tables that people and teams write (team members, grants) keep their keys.
ALTER TABLE accounts
    DROP CONSTRAINT accounts_integration_id_fkey,
    DROP CONSTRAINT accounts_user_id_fkey;
ALTER TABLE resources DROP CONSTRAINT resources_integration_id_fkey;

CREATE OR REPLACE FUNCTION refuse_removal() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never removed (synced rows name them, or they are soft deleted): % refused',
        TG_TABLE_NAME, TG_OP;
END
$$;

CREATE TRIGGER users_never_removed
    BEFORE DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_removal();
CREATE TRIGGER integrations_never_removed
    BEFORE DELETE OR TRUNCATE ON integrations
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_removal();
