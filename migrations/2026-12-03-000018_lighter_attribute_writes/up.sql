-- account_attributes is the second largest table a sync writes (five rows an account in the
-- benchmark). Its foreign key to accounts cost an index probe and a row lock per inserted row:
-- four fifths of an initial sync's attribute writes (4.6 s against 0.8 s without it, for
-- 500,000 rows). As for pulled_access (2026-11-29-000004), what it guarded holds without it:
-- the sync's merge is the only writer of attributes and takes each account id from a live row
-- of the same transaction (a first sync checks that every account landed with the id it
-- staged), and accounts are never removed, which the database enforces (refuse_removal).
ALTER TABLE account_attributes DROP CONSTRAINT account_attributes_account_id_fkey;
