-- Up Migration

-- One row per agent (its public key): the folded registration state and what pulls filter on.
CREATE TABLE agents (
  agent_id text PRIMARY KEY,
  status text NOT NULL,
  name text,
  mode text,
  capabilities jsonb,
  reason text,
  state jsonb NOT NULL,
  last_seq bigint NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX agents_status ON agents (status);

-- Down Migration
DROP TABLE agents;
