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

/** An account as operators list them. */
export interface AccountSummary {
  readonly accountId: string;
  readonly available: number;
  readonly held: number;
  readonly earnedTotal: number;
  readonly spentTotal: number;
  readonly updatedAt: Date;
}

/** Every account by id, a page at a time (the key: the last id served, and an empty second part). */
export async function creditAccounts(db: Db, opts: { after?: CursorKey | undefined; limit: number }): Promise<Page<AccountSummary>> {
  const { rows } = await db.query<{ account_id: string; available: string; held: string; earned_total: string; spent_total: string; updated_at: Date }>(
    `SELECT account_id, available, held, earned_total, spent_total, updated_at FROM credit_accounts
      WHERE ($1::text IS NULL OR account_id > $1) ORDER BY account_id LIMIT $2`,
    [opts.after?.[0] ?? null, opts.limit + 1],
  );
  return pageOf(rows, opts.limit, (r) => [r.account_id, ""], (r) => ({
    accountId: r.account_id,
    available: Number(r.available),
    held: Number(r.held),
    earnedTotal: Number(r.earned_total),
    spentTotal: Number(r.spent_total),
    updatedAt: r.updated_at,
  }));
}

/** An open hold a task gave (id `task:<taskId>`), when it was taken. */
export interface TaskHold {
  readonly accountId: string;
  readonly holdId: string;
  readonly taskId: string;
  readonly heldAt: Date;
}

/**
 * Open task holds taken before `before` whose task the tasks projection does not hold: left by
 * a node that died between a hold and its task's submission (or whose task is still on its way
 * to the projection: the caller checks the stream before it acts).
 */
export async function taskHoldsWithoutTask(db: Db, before: Date, limit = 500): Promise<TaskHold[]> {
  const { rows } = await db.query<{ account_id: string; hold_id: string; held_at: Date }>(
    `SELECT h.account_id, h.hold_id, t.occurred_at AS held_at
       FROM credit_holds h
       JOIN credit_transactions t ON t.account_id = h.account_id AND t.hold_id = h.hold_id AND t.type = 'credits.held'
      WHERE starts_with(h.hold_id, 'task:') AND t.occurred_at < $1
        AND NOT EXISTS (SELECT 1 FROM tasks WHERE task_id = substr(h.hold_id, 6))
      ORDER BY t.occurred_at LIMIT $2`,
    [before, limit],
  );
  return rows.map((r) => ({ accountId: r.account_id, holdId: r.hold_id, taskId: r.hold_id.slice(5), heldAt: r.held_at }));
}
