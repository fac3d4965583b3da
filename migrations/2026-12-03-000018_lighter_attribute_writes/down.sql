ALTER TABLE account_attributes
    ADD CONSTRAINT account_attributes_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id);
