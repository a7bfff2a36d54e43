import type { CreditEvent } from "../../domain/credits/events.js";
import { pageOf, type CursorKey, type Db, type Page } from "../keyset.js";

/** The reads of the balances projection (tables credit_accounts and credit_transactions). Amounts are millicredits. */

export interface CreditBalance {
  readonly accountId: string;
  readonly available: number;
  readonly held: number;
  readonly earnedTotal: number;
  readonly spentTotal: number;
  /** The account stream's version these balances are of. */
  readonly version: number;
}

export async function creditBalance(db: Db, accountId: string): Promise<CreditBalance | undefined> {
  const row = (
    await db.query<{ account_id: string; available: number; held: number; earned_total: number; spent_total: number; last_seq: number }>(
      "SELECT account_id, available, held, earned_total, spent_total, last_seq FROM credit_accounts WHERE account_id = $1",
      [accountId],
    )
  ).rows[0];
  return row && { accountId: row.account_id, available: row.available, held: row.held, earnedTotal: row.earned_total, spentTotal: row.spent_total, version: row.last_seq };
}

/** One applied credit event, with the balances it left behind. */
export interface CreditTransaction {
  readonly eventId: string;
  /** The stream sequence of its commit (a commit's several transactions share one). */
  readonly seq: number;
  readonly type: CreditEvent["type"];
  readonly amount: number;
  readonly holdId: string | null;
  readonly reason: string | null;
  readonly ref: string | null;
  readonly availableAfter: number;
  readonly heldAfter: number;
  /** The node key that signed the event. */
  readonly signer: string;
  readonly occurredAt: Date;
  /** The event that made it happen, when the movement names one. */
  readonly cause: { readonly subject: string; readonly eventId: string } | null;
}

interface CreditTransactionRow {
  event_id: string;
  seq: number;
  type: CreditEvent["type"];
  amount: number;
  hold_id: string | null;
  reason: string | null;
  ref: string | null;
  available_after: number;
  held_after: number;
  signer: string;
  occurred_at: Date;
  cause_subject: string | null;
  cause_event_id: string | null;
}
const creditTransaction = (r: CreditTransactionRow): CreditTransaction => ({
  eventId: r.event_id,
  seq: r.seq,
  type: r.type,
  amount: r.amount,
  holdId: r.hold_id,
  reason: r.reason,
  ref: r.ref,
  availableAfter: r.available_after,
  heldAfter: r.held_after,
  signer: r.signer,
  occurredAt: r.occurred_at,
  cause: r.cause_subject !== null && r.cause_event_id !== null ? { subject: r.cause_subject, eventId: r.cause_event_id } : null,
});

/**
 * Newest first by (seq, event_id): one commit's several transactions share a seq, so a page
 * ending inside a commit starts the next one at the same seq, after the last id served.
 * `beforeSeq`: the older form of `before`, transactions before that stream sequence.
 */
export async function creditHistory(db: Db, accountId: string, opts: { before?: CursorKey | undefined; beforeSeq?: number | undefined; limit: number }): Promise<Page<CreditTransaction>> {
  const { rows } = await db.query<CreditTransactionRow>(
    `SELECT event_id, seq, type, amount, hold_id, reason, ref, available_after, held_after, signer, occurred_at, cause_subject, cause_event_id
       FROM credit_transactions
      WHERE account_id = $1 AND ($2::bigint IS NULL OR seq < $2) AND ($3::bigint IS NULL OR (seq, event_id) < ($3::bigint, $4::uuid))
      ORDER BY seq DESC, event_id DESC LIMIT $5`,
    [accountId, opts.beforeSeq ?? null, opts.before?.[0] ?? null, opts.before?.[1] ?? null, opts.limit + 1],
  );
  return pageOf(rows, opts.limit, (r) => [String(r.seq), r.event_id], creditTransaction);
}
