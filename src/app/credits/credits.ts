import { creditSubject, type CreditCommand } from "../../domain/credits/commands.js";
import { creditAccounts, creditBalance, creditHistory, type AccountSummary, type CreditBalance, type CreditTransaction } from "../../projections/credits/queries.js";
import type { CursorKey, Db, Page } from "../../projections/keyset.js";
import { refusal, type HandleCommand, type Refusal } from "../commands.js";

export interface CreditsDeps {
  readonly pool: Db;
  readonly handleCredit: HandleCommand<CreditCommand>;
  readonly now: () => Date;
}

/** What a command appended: its events' ids, the stream version it produced, and whether it was a repeat of one taken before. */
export interface CommandTaken {
  readonly eventIds: string[];
  readonly version: number;
  readonly duplicate: boolean;
}

/**
 * Credit accounts: balances and history read from the projection, commands appended as signed
 * events on the account's stream. With an idempotency key a command retried is taken once.
 */
export function credits(deps: CreditsDeps) {
  async function command(accountId: string, command: CreditCommand, idempotencyKey?: string): Promise<CommandTaken> {
    const done = await deps.handleCredit(creditSubject(accountId), command, { now: deps.now(), ...(idempotencyKey ? { commandId: idempotencyKey } : {}) });
    return { eventIds: done.events.map((e) => e.id), version: done.version, duplicate: done.duplicate };
  }
  return {
    async balance(accountId: string): Promise<CreditBalance | Refusal<"unknown_account">> {
      return (await creditBalance(deps.pool, accountId)) ?? refusal("unknown_account", `no credit events for ${accountId} yet`);
    },
    accounts: (opts: { after?: CursorKey | undefined; limit: number }): Promise<Page<AccountSummary>> => creditAccounts(deps.pool, opts),
    history: (accountId: string, opts: { before?: CursorKey | undefined; beforeSeq?: number | undefined; limit: number }): Promise<Page<CreditTransaction>> =>
      creditHistory(deps.pool, accountId, opts),
    command,
    /** Credits out of nothing, for a test network or a demo: an earn with its reason. */
    faucet: (accountId: string, grant: { amount: number; reason: string }, idempotencyKey?: string) => command(accountId, { kind: "earn", amount: grant.amount, reason: grant.reason }, idempotencyKey),
  };
}
