-- pulled_access is by far the largest table (a row per membership period). Its foreign keys to
-- resources and accounts cost an index probe and a row lock per inserted row: about half of an
-- initial sync. What they guarded holds without them: the sync's merge is the only writer and
-- takes both ids from live rows it joins in the same transaction, and accounts and resources
-- are never removed, only soft deleted, which the database itself now enforces.
ALTER TABLE pulled_access
    DROP CONSTRAINT pulled_access_resource_id_fkey,
    DROP CONSTRAINT pulled_access_account_id_fkey;

CREATE FUNCTION refuse_removal() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are soft deleted (deleted_at), never removed: % refused',
        TG_TABLE_NAME, TG_OP;
END
$$;

CREATE TRIGGER accounts_never_removed
    BEFORE DELETE OR TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_removal();
CREATE TRIGGER resources_never_removed
    BEFORE DELETE OR TRUNCATE ON resources
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_removal();

-- Equality on username is served by users_username_prefix (text_pattern_ops supports `=`):
-- a second index on the same column only slowed every new user down.
DROP INDEX users_username;
