-- Up Migration

-- The agents whose try left a subtask without a result: a pull sorts those subtasks after all
-- others for them (someone else first). A column, since reading it out of the state json on
-- every queued row of every pull parses each row's whole state.
ALTER TABLE subtasks ADD COLUMN tried_by text[] NOT NULL DEFAULT '{}';
UPDATE subtasks SET tried_by = ARRAY(SELECT json_array_elements_text(state->'triedBy')) WHERE state->'triedBy' IS NOT NULL;

-- Down Migration
ALTER TABLE subtasks DROP COLUMN tried_by;
