ALTER TABLE pulled_access DROP COLUMN inherited;
