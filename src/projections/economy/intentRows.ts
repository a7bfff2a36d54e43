import type { PoolClient } from "pg";
import { intentAggregate } from "../../domain/economy/context.js";
import type { PaymentIntent } from "../../domain/economy/intent.js";
import type { AppliedCommit, FoldedKind, FoldedRow } from "../foldedRows.js";
import { insertRows, type TypedColumn } from "../insertRows.js";

async function writeIntent(db: PoolClient, row: FoldedRow<PaymentIntent>): Promise<void> {
  const s = row.state;
  // A row is written once the intent was created: its first commit is intent.created, or it is refused.
  if (s.status === "none") return;
  const { intent } = s;
  const settlement = s.status === "settled" ? s.settlement : undefined;
  await db.query(
    `INSERT INTO economy_intents (intent_id, status, account_id, amount_sats, provider, development, payment_hash, bolt11, sats_per_credit,
                                  created_at, expires_at, amount_paid_sats, minted_millicredits, fee_millicredits, paid_at, settled_at,
                                  state, last_seq, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
     ON CONFLICT (intent_id) DO UPDATE SET status = EXCLUDED.status, amount_paid_sats = EXCLUDED.amount_paid_sats,
       minted_millicredits = EXCLUDED.minted_millicredits, fee_millicredits = EXCLUDED.fee_millicredits, paid_at = EXCLUDED.paid_at,
       settled_at = EXCLUDED.settled_at, state = EXCLUDED.state, last_seq = EXCLUDED.last_seq, updated_at = EXCLUDED.updated_at`,
    [
      row.id,
      s.status,
      intent.accountId,
      intent.amountSats,
      intent.provider,
      intent.development,
      intent.paymentHash,
      intent.bolt11,
      intent.satsPerCredit,
      intent.createdAt,
      intent.expiresAt,
      settlement?.amountPaidSats ?? null,
      settlement?.mintedMillicredits ?? null,
      settlement?.feeMillicredits ?? null,
      settlement?.paidAt ?? null,
      settlement?.settledAt ?? null,
      JSON.stringify(s),
      row.lastSeq,
      row.updatedAt,
    ],
  );
}

const EVENT_COLUMNS: readonly TypedColumn[] = [
  ["event_id", "uuid"],
  ["intent_id", "text"],
  ["type", "text"],
  ["signer", "text"],
  ["occurred_at", "timestamptz"],
  ["seq", "bigint"],
];

/** Every event of every intent: who created it (whose provider holds the invoice), and the event a mint points at. */
async function writeEvents(db: PoolClient, applied: readonly AppliedCommit<PaymentIntent>[]): Promise<void> {
  const rows = applied.flatMap(({ id, commit }) => commit.events.map((e) => [e.id, id, e.type, e.signer, e.time, commit.seq]));
  await insertRows(db, "economy_intent_events", EVENT_COLUMNS, rows);
}

export const intentKind: FoldedKind<PaymentIntent> = {
  table: "economy_intents",
  idColumn: "intent_id",
  of: intentAggregate,
  write: writeIntent,
  history: { tables: ["economy_intent_events"], write: writeEvents },
};
