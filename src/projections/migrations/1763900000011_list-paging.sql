-- Up Migration

-- Keys the paged lists walk: GET /tasks newest first, with or without a status; GET /escalate
-- walks subtasks_queue (status, updated_at), and GET /agents its own (migration 10).
CREATE INDEX tasks_recent ON tasks (updated_at, task_id);
CREATE INDEX tasks_status_recent ON tasks (status, updated_at, task_id);

-- Down Migration
DROP INDEX tasks_status_recent;
DROP INDEX tasks_recent;
