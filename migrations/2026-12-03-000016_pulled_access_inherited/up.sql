-- A pulled member that holds the resource only through a member group (an LDAP nested group,
-- with expand_nested_groups): shown as inherited, and never compared with what is pushed.
ALTER TABLE pulled_access ADD COLUMN inherited boolean NOT NULL DEFAULT false;
