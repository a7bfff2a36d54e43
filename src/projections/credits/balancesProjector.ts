import type { PoolClient } from "pg";
import { copyRows, isUniqueViolation, type CopyValue } from "../../adapters/postgres/copyRows.js";
import { storableParams } from "../../adapters/postgres/storableText.js";
import { emptyAccount, heldTotal, type CreditAccount } from "../../domain/credits/account.js";
import { creditAccountDecider } from "../../domain/credits/commands.js";
import { accountAggregate, creditsContext } from "../../domain/credits/context.js";
import { creditEvents, type CreditEvent } from "../../domain/credits/events.js";
import { foldCommit } from "../../domain/decider.js";
import { aggregateIdOf, parseSubject } from "../../domain/events/envelope.js";
import { DuplicateEventError, type ProjectedCommit, type Projector, type Rejection, type SessionOptions } from "../projector.js";

interface AccountRow {
  account: CreditAccount;
  earned: number;
  spent: number;
  count: number;
  lastSeq: number;
  lastEventId: string;
  updatedAt: string;
}

const TRANSACTION_COLUMNS = [
  "event_id", "account_id", "seq", "type", "amount", "hold_id", "reason", "ref",
  "available_after", "held_after", "signer", "occurred_at", "cause_subject", "cause_event_id",
] as const;

/** Accounts a session keeps in memory before writing them out; bounds a rebuild's memory. */
const CACHED_ACCOUNTS = 20_000;

const amountOf = (e: CreditEvent) => (e.type === "credits.adjusted" ? e.data.delta : e.data.amount);

async function loadAccounts(db: PoolClient, ids: string[], into: Map<string, AccountRow>): Promise<void> {
  const rows = await db.query<{
    account_id: string;
    available: number;
    earned_total: number;
    spent_total: number;
    event_count: number;
    last_seq: number;
    last_event_id: string;
    updated_at: Date;
  }>(
    `SELECT account_id, available, earned_total, spent_total, event_count, last_seq, last_event_id, updated_at
     FROM credit_accounts WHERE account_id = ANY($1)`,
    [ids],
  );
  for (const r of rows.rows) {
    into.set(r.account_id, {
      account: { available: Number(r.available), held: {} },
      earned: Number(r.earned_total),
      spent: Number(r.spent_total),
      count: r.event_count,
      lastSeq: Number(r.last_seq),
      lastEventId: r.last_event_id,
      updatedAt: r.updated_at.toISOString(),
    });
  }
  const holds = await db.query<{ account_id: string; hold_id: string; amount: number }>(
    "SELECT account_id, hold_id, amount FROM credit_holds WHERE account_id = ANY($1)",
    [ids],
  );
  for (const h of holds.rows) {
    const row = into.get(h.account_id);
    if (row) row.account = { ...row.account, held: { ...row.account.held, [h.hold_id]: Number(h.amount) } };
  }
  for (const id of ids) {
    if (!into.has(id)) into.set(id, { account: emptyAccount(), earned: 0, spent: 0, count: 0, lastSeq: 0, lastEventId: "", updatedAt: "" });
  }
}

async function alreadyApplied(db: PoolClient, ids: string[]): Promise<Set<string>> {
  const r = await db.query<{ event_id: string }>("SELECT event_id FROM credit_transactions WHERE event_id = ANY($1::uuid[])", [ids]);
  return new Set(r.rows.map((row) => row.event_id));
}

async function writeAccounts(db: PoolClient, rows: (readonly [string, AccountRow])[]): Promise<void> {
  if (rows.length === 0) return;
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
    await db.query(`INSERT INTO credit_holds (account_id, hold_id, amount) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])`, [
      holds.map((h) => h.id),
      holds.map((h) => h.holdId),
      holds.map((h) => h.amount),
    ]);
  }
}

/**
 * A balances session: account states are folded with the domain's own evolve and rules (so the
 * projection and the aggregate never disagree on what an event does), kept in memory while the
 * session lasts, and written out on flush or when the cache is full. History rows are written
 * per batch: with COPY when ids are assumed new, with ON CONFLICT DO NOTHING when careful.
 */
function openBalances(db: PoolClient, { careful }: SessionOptions) {
  const accounts = new Map<string, AccountRow>();
  const dirty = new Set<string>();

  async function flush() {
    await writeAccounts(db, [...dirty].map((id) => [id, accounts.get(id)!] as const));
    dirty.clear();
  }

  async function apply(commits: readonly ProjectedCommit[]): Promise<Rejection[]> {
    const seen = careful ? await alreadyApplied(db, commits.flatMap((c) => c.events.map((e) => e.id))) : new Set<string>();
    const missing = [...new Set(commits.map((c) => aggregateIdOf(c.subject)))].filter((id) => !accounts.has(id));
    if (missing.length > 0) await loadAccounts(db, missing, accounts);
    const rejections: Rejection[] = [];
    const history: CopyValue[][] = [];

    for (const commit of commits) {
      const fresh = careful ? commit.events.filter((e) => !seen.has(e.id)) : commit.events;
      if (fresh.length === 0) continue;
      if (parseSubject(commit.subject)?.aggregate !== accountAggregate.kind) {
        rejections.push({ seq: commit.seq, eventId: fresh[0]!.id, reason: `${commit.subject} is not a credit account's subject` });
        continue;
      }
      const accountId = aggregateIdOf(commit.subject);
      const row = accounts.get(accountId)!;
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
        const data = draft.data as { reason?: string; ref?: string; holdId?: string; cause?: { subject: string; eventId: string } };
        history.push([
          e.id, accountId, commit.seq, draft.type, amountOf(draft), data.holdId ?? null, data.reason ?? null, data.ref ?? null,
          state.available, heldTotal(state), e.signer, e.time, data.cause?.subject ?? null, data.cause?.eventId ?? null,
        ]);
        if (draft.type === "credits.earned") row.earned += draft.data.amount;
        if (draft.type === "credits.spent") row.spent += draft.data.amount;
        row.count += 1;
        row.lastEventId = e.id;
        row.updatedAt = e.time;
        seen.add(e.id);
      }
      row.account = folded.state;
      row.lastSeq = commit.seq;
      dirty.add(accountId);
    }

    if (careful) await insertHistory(db, history);
    else {
      await copyRows(db, "credit_transactions", TRANSACTION_COLUMNS, history).catch((err: unknown) => {
        throw isUniqueViolation(err) ? new DuplicateEventError(`an event id was applied before: ${(err as Error).message}`) : err;
      });
    }
    if (accounts.size > CACHED_ACCOUNTS) {
      await flush();
      accounts.clear();
    }
    return rejections;
  }

  return { apply, flush };
}

async function insertHistory(db: PoolClient, rows: CopyValue[][]): Promise<void> {
  if (rows.length === 0) return;
  const column = (i: number) => rows.map((r) => r[i]);
  await db.query(
    `INSERT INTO credit_transactions (${TRANSACTION_COLUMNS.join(", ")})
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[],
                          $9::bigint[], $10::bigint[], $11::text[], $12::timestamptz[], $13::text[], $14::uuid[])
     ON CONFLICT (event_id) DO NOTHING`,
    storableParams(TRANSACTION_COLUMNS.map((_, i) => column(i))),
  );
}

/** The balances projection: one row per account, its open holds, and the history of applied events. */
export const balancesProjector: Projector = {
  name: "credit_balances",
  // 2: each movement's cause (cause_subject, cause_event_id) is kept.
  version: 2,
  streams: [creditsContext.stream],
  registry: creditEvents,
  tables: ["credit_accounts", "credit_holds", "credit_transactions"],
  open: openBalances,
};
