-- Up Migration

-- The account that owns an agent: a pull counts the open leases of all its keys together.
ALTER TABLE agents ADD COLUMN owner text;
UPDATE agents SET owner = state->'profile'->>'owner' WHERE state->'profile'->>'owner' IS NOT NULL;
CREATE INDEX agents_owner ON agents (owner) WHERE owner IS NOT NULL;

-- Down Migration
DROP INDEX agents_owner;
ALTER TABLE agents DROP COLUMN owner;
