-- Up Migration

-- The creation time of the stream a checkpoint counts in. A stream deleted and created again
-- (or a database paired with another NATS store) restarts its sequence at 1: a checkpoint of
-- another stream must not be trusted, so the projection is rebuilt instead.
ALTER TABLE projection_checkpoints ADD COLUMN stream_created timestamptz;

-- Down Migration
ALTER TABLE projection_checkpoints DROP COLUMN stream_created;
