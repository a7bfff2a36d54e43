-- Up Migration

-- Where each projector has read to, per stream. Written in the same transaction as its rows.
CREATE TABLE projection_checkpoints (
  projection text NOT NULL,
  stream text NOT NULL,
  last_seq bigint NOT NULL CHECK (last_seq >= 0),
  PRIMARY KEY (projection, stream)
);

-- Which version of a projector built the current rows, and when it was last rebuilt.
CREATE TABLE projection_versions (
  projection text PRIMARY KEY,
  version integer NOT NULL,
  rebuilt_at timestamptz
);

-- Commits a projector refused (bad signature, bad schema, broken invariant): never applied.
CREATE TABLE projection_quarantine (
  id bigserial PRIMARY KEY,
  projection text NOT NULL,
  stream text NOT NULL,
  seq bigint NOT NULL,
  event_id text NOT NULL DEFAULT '',
  reason text NOT NULL,
  payload bytea NOT NULL,
  quarantined_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (projection, stream, seq, event_id)
);

-- sha256 of commits whose signatures were verified once. A rebuild that meets the same bytes
-- again at the same position skips the Ed25519 check; any other bytes are verified in full.
CREATE TABLE verified_commits (
  stream text NOT NULL,
  seq bigint NOT NULL,
  digest bytea NOT NULL,
  PRIMARY KEY (stream, seq)
);

-- Down Migration
DROP TABLE verified_commits;
DROP TABLE projection_quarantine;
DROP TABLE projection_versions;
DROP TABLE projection_checkpoints;
