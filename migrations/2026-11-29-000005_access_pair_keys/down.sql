ALTER TABLE pulled_access DROP COLUMN pair_key;
DROP FUNCTION access_pair_key(text, text);
