-- Up Migration

-- An agent's record of checked results, who approved it, and when it was first seen (a key
-- that never changes, to page on). Rows folded before agents carried a record lack it in their
-- state, so the agents projection starts over: its stream is small, and replaying it with the
-- current decider gives every row the record (zeros where nothing was checked).
TRUNCATE agents;
DELETE FROM projection_checkpoints WHERE projection = 'agents';
DELETE FROM projection_quarantine WHERE projection = 'agents';
ALTER TABLE agents
  ADD COLUMN approved_by text,
  ADD COLUMN checked_results integer NOT NULL DEFAULT 0,
  ADD COLUMN failed_results integer NOT NULL DEFAULT 0,
  ADD COLUMN check_streak integer NOT NULL DEFAULT 0,
  ADD COLUMN last_failed_at timestamptz,
  ADD COLUMN first_seen_at timestamptz NOT NULL;
CREATE INDEX agents_first_seen ON agents (first_seen_at, agent_id);
CREATE INDEX agents_status_first_seen ON agents (status, first_seen_at, agent_id);

-- Down Migration
DROP INDEX agents_status_first_seen;
DROP INDEX agents_first_seen;
ALTER TABLE agents DROP COLUMN approved_by, DROP COLUMN checked_results, DROP COLUMN failed_results, DROP COLUMN check_streak,
  DROP COLUMN last_failed_at, DROP COLUMN first_seen_at;
