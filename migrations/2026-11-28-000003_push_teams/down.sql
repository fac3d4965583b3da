DROP VIEW desired_access;

DROP TABLE propagations;
DROP TABLE grants;
ALTER TABLE resources DROP CONSTRAINT resources_team_id_fkey;
DROP TABLE team_members;
DROP TABLE teams;
