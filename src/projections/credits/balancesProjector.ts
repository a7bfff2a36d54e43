import type { PoolClient } from "pg";
import { emptyAccount, heldTotal, type CreditAccount } from "../../domain/credits/account.js";
import { creditAccountDecider } from "../../domain/credits/commands.js";
import { creditEvents, type CreditEvent } from "../../domain/credits/events.js";
import { foldCommit } from "../../domain/decider.js";
import type { Projector, Rejection } from "../projector.js";

interface AccountRow {
  account: CreditAccount;
  earned: number;
  spent: number;
  count: number;
  lastSeq: number;
  lastEventId: string;
  updatedAt: string;
}

interface TransactionRow {
  eventId: string;
  accountId: string;
  seq: number;
  type: string;
  amount: number;
  holdId: string | null;
  reason: string | null;
  ref: string | null;
  availableAfter: number;
  heldAfter: number;
  signer: string;
  time: string;
}

const accountOf = (subject: string) => subject.slice("ec.credits.".length);

function amountOf(e: CreditEvent): number {
  return e.type === "credits.adjusted" ? e.data.delta : e.data.amount;
}

async function loadAccounts(db: PoolClient, ids: string[]): Promise<Map<string, AccountRow>> {
  const accounts = new Map<string, AccountRow>();
  const rows = await db.query<{
    account_id: string;
    available: string;
    earned_total: string;
    spent_total: string;
    event_count: number;
    last_seq: string;
    last_event_id: string;
    updated_at: Date;
  }>(
    `SELECT account_id, available, earned_total, spent_total, event_count, last_seq, last_event_id, updated_at
     FROM credit_accounts WHERE account_id = ANY($1)`,
    [ids],
  );
  for (const r of rows.rows) {
    accounts.set(r.account_id, {
      account: { available: Number(r.available), held: {} },
      earned: Number(r.earned_total),
      spent: Number(r.spent_total),
      count: r.event_count,
      lastSeq: Number(r.last_seq),
      lastEventId: r.last_event_id,
      updatedAt: r.updated_at.toISOString(),
    });
  }
  const holds = await db.query<{ account_id: string; hold_id: string; amount: string }>(
    "SELECT account_id, hold_id, amount FROM credit_holds WHERE account_id = ANY($1)",
    [ids],
  );
  for (const h of holds.rows) {
    const row = accounts.get(h.account_id);
    if (row) row.account = { ...row.account, held: { ...row.account.held, [h.hold_id]: Number(h.amount) } };
  }
  return accounts;
}

/**
 * The balances projection: one row per account (available, held, totals), its open holds, and
 * every applied event as a history row. State is folded with the domain's own evolve and rules,
 * so the projection and the aggregate can never disagree on what an event does.
 */
export const balancesProjector: Projector = {
  name: "credit_balances",
  version: 1,
  streams: ["EC_CREDITS"],
  registry: creditEvents,
  tables: ["credit_accounts", "credit_holds", "credit_transactions"],
  async applyBatch(commits, db) {
    const ids = commits.flatMap((c) => c.events.map((e) => e.id));
    const seen = new Set(
      (await db.query<{ event_id: string }>("SELECT event_id FROM credit_transactions WHERE event_id = ANY($1::uuid[])", [ids])).rows.map(
        (r) => r.event_id,
      ),
    );
    const accounts = await loadAccounts(db, [...new Set(commits.map((c) => accountOf(c.subject)))]);
    const rejections: Rejection[] = [];
    const transactions: TransactionRow[] = [];
    const touched = new Set<string>();

    for (const commit of commits) {
      const fresh = commit.events.filter((e) => !seen.has(e.id));
      if (fresh.length === 0) continue;
      const accountId = accountOf(commit.subject);
      const row = accounts.get(accountId) ?? {
        account: emptyAccount(),
        earned: 0,
        spent: 0,
        count: 0,
        lastSeq: 0,
        lastEventId: "",
        updatedAt: "",
      };
      const drafts = fresh.map((e) => ({ type: e.type, data: e.data }) as CreditEvent);
      const folded = foldCommit(creditAccountDecider, row.account, drafts);
      if (!folded.ok) {
        rejections.push({ seq: commit.seq, eventId: fresh[folded.index]!.id, reason: `${folded.code}: ${folded.message}` });
        continue;
      }
      let state = row.account;
      for (const [i, draft] of drafts.entries()) {
        state = creditAccountDecider.evolve(state, draft);
        const e = fresh[i]!;
        const data = draft.data as { reason?: string; ref?: string; holdId?: string };
        transactions.push({
          eventId: e.id,
          accountId,
          seq: commit.seq,
          type: draft.type,
          amount: amountOf(draft),
          holdId: data.holdId ?? null,
          reason: data.reason ?? null,
          ref: data.ref ?? null,
          availableAfter: state.available,
          heldAfter: heldTotal(state),
          signer: e.signer,
          time: e.time,
        });
        if (draft.type === "credits.earned") row.earned += draft.data.amount;
        if (draft.type === "credits.spent") row.spent += draft.data.amount;
        row.count += 1;
        row.lastEventId = e.id;
        row.updatedAt = e.time;
        seen.add(e.id);
      }
      row.account = folded.state;
      row.lastSeq = commit.seq;
      accounts.set(accountId, row);
      touched.add(accountId);
    }

    if (transactions.length > 0) await writeTransactions(db, transactions);
    if (touched.size > 0) await writeAccounts(db, [...touched].map((id) => [id, accounts.get(id)!] as const));
    return rejections;
  },
};

async function writeTransactions(db: PoolClient, rows: TransactionRow[]): Promise<void> {
  await db.query(
    `INSERT INTO credit_transactions
       (event_id, account_id, seq, type, amount, hold_id, reason, ref, available_after, held_after, signer, occurred_at)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[],
                          $9::bigint[], $10::bigint[], $11::text[], $12::timestamptz[])
     ON CONFLICT (event_id) DO NOTHING`,
    [
      rows.map((r) => r.eventId),
      rows.map((r) => r.accountId),
      rows.map((r) => r.seq),
      rows.map((r) => r.type),
      rows.map((r) => r.amount),
      rows.map((r) => r.holdId),
      rows.map((r) => r.reason),
      rows.map((r) => r.ref),
      rows.map((r) => r.availableAfter),
      rows.map((r) => r.heldAfter),
      rows.map((r) => r.signer),
      rows.map((r) => r.time),
    ],
  );
}

async function writeAccounts(db: PoolClient, rows: (readonly [string, AccountRow])[]): Promise<void> {
  await db.query(
    `INSERT INTO credit_accounts
       (account_id, available, held, earned_total, spent_total, event_count, last_seq, last_event_id, updated_at)
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::int[], $7::bigint[],
                          $8::uuid[], $9::timestamptz[])
     ON CONFLICT (account_id) DO UPDATE SET
       available = EXCLUDED.available, held = EXCLUDED.held, earned_total = EXCLUDED.earned_total,
       spent_total = EXCLUDED.spent_total, event_count = EXCLUDED.event_count, last_seq = EXCLUDED.last_seq,
       last_event_id = EXCLUDED.last_event_id, updated_at = EXCLUDED.updated_at`,
    [
      rows.map(([id]) => id),
      rows.map(([, r]) => r.account.available),
      rows.map(([, r]) => heldTotal(r.account)),
      rows.map(([, r]) => r.earned),
      rows.map(([, r]) => r.spent),
      rows.map(([, r]) => r.count),
      rows.map(([, r]) => r.lastSeq),
      rows.map(([, r]) => r.lastEventId),
      rows.map(([, r]) => r.updatedAt),
    ],
  );
  const ids = rows.map(([id]) => id);
  await db.query("DELETE FROM credit_holds WHERE account_id = ANY($1)", [ids]);
  const holds = rows.flatMap(([id, r]) => Object.entries(r.account.held).map(([holdId, amount]) => ({ id, holdId, amount })));
  if (holds.length > 0) {
    await db.query(
      `INSERT INTO credit_holds (account_id, hold_id, amount) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])`,
      [holds.map((h) => h.id), holds.map((h) => h.holdId), holds.map((h) => h.amount)],
    );
  }
}
