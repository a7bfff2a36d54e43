-- Up Migration

-- One row per credit account: the balances projection. Amounts are millicredits.
CREATE TABLE credit_accounts (
  account_id text PRIMARY KEY,
  available bigint NOT NULL CHECK (available >= 0),
  held bigint NOT NULL CHECK (held >= 0),
  earned_total bigint NOT NULL,
  spent_total bigint NOT NULL,
  event_count integer NOT NULL,
  last_seq bigint NOT NULL,
  last_event_id uuid NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE TABLE credit_holds (
  account_id text NOT NULL,
  hold_id text NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  PRIMARY KEY (account_id, hold_id)
);

-- Every applied credit event, with the balance it left behind: the account history.
CREATE TABLE credit_transactions (
  event_id uuid PRIMARY KEY,
  account_id text NOT NULL,
  seq bigint NOT NULL,
  type text NOT NULL,
  amount bigint NOT NULL,
  hold_id text,
  reason text,
  ref text,
  available_after bigint NOT NULL,
  held_after bigint NOT NULL,
  signer text NOT NULL,
  occurred_at timestamptz NOT NULL
);
CREATE INDEX credit_transactions_account ON credit_transactions (account_id, seq);

-- Down Migration
DROP TABLE credit_transactions;
DROP TABLE credit_holds;
DROP TABLE credit_accounts;
