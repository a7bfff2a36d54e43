-- Up Migration

-- The economy projection (EC_ECONOMY). Each aggregate kind has its folded row (state jsonb, as
-- the other projections keep theirs) and the rows its events add: a history or a tally, keyed by
-- event id or by what the domain allows once, so a commit applied twice adds nothing.

-- Price proposals: one folded row per coordinator, its latest proposal per resource class (what
-- the network price is the median of), and every proposal made.
CREATE TABLE economy_price_coordinators (
  coordinator_id text PRIMARY KEY,
  state jsonb NOT NULL,
  last_seq bigint NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE economy_price_latest (
  coordinator_id text NOT NULL,
  resource_class text NOT NULL,
  sats_per_unit integer NOT NULL,
  queued bigint NOT NULL,
  agents bigint NOT NULL,
  capacity bigint NOT NULL,
  proposed_at timestamptz NOT NULL,
  event_id uuid NOT NULL,
  seq bigint NOT NULL,
  PRIMARY KEY (coordinator_id, resource_class)
);
CREATE INDEX economy_price_latest_current ON economy_price_latest (resource_class, proposed_at);
CREATE TABLE economy_price_proposals (
  event_id uuid PRIMARY KEY,
  coordinator_id text NOT NULL,
  resource_class text NOT NULL,
  sats_per_unit integer NOT NULL,
  queued bigint NOT NULL,
  agents bigint NOT NULL,
  capacity bigint NOT NULL,
  proposed_at timestamptz NOT NULL,
  seq bigint NOT NULL
);
CREATE INDEX economy_price_proposals_recent ON economy_price_proposals (proposed_at, event_id);
CREATE INDEX economy_price_proposals_class ON economy_price_proposals (resource_class, proposed_at, event_id);
CREATE INDEX economy_price_proposals_coordinator ON economy_price_proposals (coordinator_id, proposed_at, event_id);

-- Issuance epochs: the folded votes, each distinct record voted for, each vote, and the final
-- record's allocations.
CREATE TABLE economy_epochs (
  epoch_id text PRIMARY KEY,
  status text NOT NULL,
  vote_count integer NOT NULL,
  record_count integer NOT NULL,
  final_record_hash text,
  final_signers text[],
  issued_millicredits bigint,
  load_index_micros integer,
  state jsonb NOT NULL,
  last_seq bigint NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX economy_epochs_final ON economy_epochs (epoch_id) WHERE status = 'final';
CREATE TABLE economy_epoch_records (
  epoch_id text NOT NULL,
  record_hash text NOT NULL,
  record jsonb NOT NULL,
  first_voted_at timestamptz NOT NULL,
  PRIMARY KEY (epoch_id, record_hash)
);
CREATE TABLE economy_epoch_votes (
  epoch_id text NOT NULL,
  coordinator_id text NOT NULL,
  record_hash text NOT NULL,
  event_id uuid NOT NULL UNIQUE,
  voted_at timestamptz NOT NULL,
  seq bigint NOT NULL,
  PRIMARY KEY (epoch_id, coordinator_id)
);
CREATE TABLE economy_epoch_allocations (
  epoch_id text NOT NULL,
  role text NOT NULL,
  account_id text NOT NULL,
  millicredits bigint NOT NULL,
  PRIMARY KEY (epoch_id, role, account_id)
);

-- Lightning payment intents: the folded state with its columns, and every event of each (the
-- signer of intent.created is the coordinator whose provider made the invoice).
CREATE TABLE economy_intents (
  intent_id text PRIMARY KEY,
  status text NOT NULL,
  account_id text NOT NULL,
  amount_sats bigint NOT NULL,
  provider text NOT NULL,
  development boolean NOT NULL,
  payment_hash text NOT NULL,
  bolt11 text NOT NULL,
  sats_per_credit integer NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  amount_paid_sats bigint,
  minted_millicredits bigint,
  fee_millicredits bigint,
  paid_at timestamptz,
  settled_at timestamptz,
  state jsonb NOT NULL,
  last_seq bigint NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX economy_intents_open ON economy_intents (expires_at, intent_id) WHERE status = 'open';
CREATE INDEX economy_intents_settled ON economy_intents (settled_at, intent_id) WHERE status = 'settled';
CREATE INDEX economy_intents_account ON economy_intents (account_id, created_at, intent_id);
CREATE TABLE economy_intent_events (
  event_id uuid PRIMARY KEY,
  intent_id text NOT NULL,
  type text NOT NULL,
  signer text NOT NULL,
  occurred_at timestamptz NOT NULL,
  seq bigint NOT NULL
);
CREATE INDEX economy_intent_events_intent ON economy_intent_events (intent_id, seq);
CREATE INDEX economy_intent_events_created_by ON economy_intent_events (signer, intent_id) WHERE type = 'intent.created';

-- Treasury custody policies: each line's folded state (the version in force and the one put to
-- its custodians), and every proposal and activation.
CREATE TABLE economy_policies (
  policy_id text PRIMARY KEY,
  active_version integer,
  active_document_hash text,
  activated_at timestamptz,
  pending_version integer,
  pending_document_hash text,
  state jsonb NOT NULL,
  last_seq bigint NOT NULL,
  updated_at timestamptz NOT NULL,
  first_at timestamptz NOT NULL
);
CREATE INDEX economy_policies_first ON economy_policies (first_at, policy_id);
CREATE TABLE economy_policy_proposals (
  event_id uuid PRIMARY KEY,
  policy_id text NOT NULL,
  version integer NOT NULL,
  document_hash text NOT NULL,
  policy jsonb NOT NULL,
  proposed_at timestamptz NOT NULL,
  signer text NOT NULL,
  seq bigint NOT NULL
);
CREATE INDEX economy_policy_proposals_policy ON economy_policy_proposals (policy_id, seq);
CREATE TABLE economy_policy_activations (
  event_id uuid PRIMARY KEY,
  policy_id text NOT NULL,
  version integer NOT NULL,
  document_hash text NOT NULL,
  signatures jsonb NOT NULL,
  activated_at timestamptz NOT NULL,
  signer text NOT NULL,
  seq bigint NOT NULL
);
CREATE INDEX economy_policy_activations_policy ON economy_policy_activations (policy_id, seq);

-- An epoch's contributions are the hour's work earnings (src/app/economy/issuance.ts): read by
-- event time, which no other index of the balances projection's history has.
CREATE INDEX credit_transactions_earned_at ON credit_transactions (occurred_at) WHERE type = 'credits.earned';

-- Down Migration
DROP INDEX credit_transactions_earned_at;
DROP TABLE economy_policy_activations;
DROP TABLE economy_policy_proposals;
DROP TABLE economy_policies;
DROP TABLE economy_intent_events;
DROP TABLE economy_intents;
DROP TABLE economy_epoch_allocations;
DROP TABLE economy_epoch_votes;
DROP TABLE economy_epoch_records;
DROP TABLE economy_epochs;
DROP TABLE economy_price_proposals;
DROP TABLE economy_price_latest;
DROP TABLE economy_price_coordinators;
