-- Which key seals the integrations' credentials, so that a process with another key refuses to
-- start instead of failing every sync with "cannot decrypt". Never the key itself: its public id
-- (a hash prefix, also written into every ciphertext) and a check value (a hash of the key under
-- a label of its own). One row at most; `oblique keys rotate` replaces it.
CREATE TABLE credentials_key_check (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    key_id text NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
    check_value bytea NOT NULL CHECK (length(check_value) = 32),
    recorded_at timestamptz NOT NULL DEFAULT now()
);
