ALTER TABLE resources DROP CONSTRAINT resources_resource_type_check;
ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_check;
