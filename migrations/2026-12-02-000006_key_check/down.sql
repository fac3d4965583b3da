DROP TABLE credentials_key_check;
