-- The audit log's actor role is one of the token roles or `system` (the service itself), as
-- `model::Role` reads it: any other word is refused on the way in rather than on the way out.
ALTER TABLE audit_events ADD CONSTRAINT audit_events_actor_role_check
    CHECK (actor_role IN ('admin', 'service', 'viewer', 'system'));
