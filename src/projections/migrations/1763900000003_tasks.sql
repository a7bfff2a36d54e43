-- Up Migration

-- One row per task: its folded state (the domain's own evolve) and the columns reads filter on.
CREATE TABLE tasks (
  task_id text PRIMARY KEY,
  status text NOT NULL,
  submitter text,
  language text,
  prompt text,
  subtask_count integer NOT NULL DEFAULT 0,
  finished_count integer NOT NULL DEFAULT 0,
  output text,
  reason text,
  state jsonb NOT NULL,
  last_seq bigint NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX tasks_submitter ON tasks (submitter, updated_at DESC);

CREATE TABLE subtasks (
  subtask_id text PRIMARY KEY,
  task_id text,
  index integer,
  status text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  agent_id text,
  lease_expires_at timestamptz,
  state jsonb NOT NULL,
  last_seq bigint NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX subtasks_queue ON subtasks (status, updated_at);
CREATE INDEX subtasks_task ON subtasks (task_id, index);

-- Down Migration
DROP TABLE subtasks;
DROP TABLE tasks;
