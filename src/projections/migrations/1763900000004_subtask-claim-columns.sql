-- Up Migration

-- What a pull filters and orders on: the subtask's language, model, resource class and
-- priority, copied out of its folded state so the claim query is an index scan.
ALTER TABLE subtasks
  ADD COLUMN language text,
  ADD COLUMN priority integer,
  ADD COLUMN resource_class text,
  ADD COLUMN requested_model text,
  ADD COLUMN timeout_ms integer;
UPDATE subtasks SET
  language = state->'spec'->>'language',
  priority = (state->'spec'->>'priority')::integer,
  resource_class = state->'spec'->>'resourceClass',
  requested_model = state->'spec'->>'requestedModel',
  timeout_ms = (state->'spec'->>'timeoutMs')::integer;
CREATE INDEX subtasks_claimable ON subtasks (priority DESC, updated_at) WHERE status IN ('queued', 'assigned');

ALTER TABLE tasks ADD COLUMN code text;
UPDATE tasks SET code = state->>'code' WHERE status = 'completed';

-- Down Migration
ALTER TABLE tasks DROP COLUMN code;
DROP INDEX subtasks_claimable;
ALTER TABLE subtasks DROP COLUMN language, DROP COLUMN priority, DROP COLUMN resource_class, DROP COLUMN requested_model, DROP COLUMN timeout_ms;
