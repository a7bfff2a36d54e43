import { bleAmount, planBleSync, type BleRefusal, type BleTransaction } from "../../domain/credits/bleSync.js";
import { creditSubject, type CreditCommand } from "../../domain/credits/commands.js";
import type { EventStore } from "../../adapters/nats/eventStore.js";
import { agentById } from "../../projections/agents/queries.js";
import { creditBalance } from "../../projections/credits/queries.js";
import type { Db } from "../../projections/keyset.js";
import type { HandleCommand } from "../commands.js";
import { movementLookup } from "./movements.js";

export interface BleSyncDeps {
  readonly pool: Db;
  readonly store: Pick<EventStore, "readAggregate">;
  readonly handleCredit: HandleCommand<CreditCommand>;
  readonly now: () => Date;
}

export interface BleSynced {
  /** Transactions applied now. */
  readonly accepted: number;
  /** Transactions synced before (by this device or another): counted once, not again. */
  readonly repeats: number;
  readonly movedMillicredits: number;
}

const payCommand = (txId: string) => `ble-pay:${txId}`;
const earnCommand = (txId: string) => `ble-earn:${txId}`;

/**
 * Offline BLE credit transactions, synced (src/domain/credits/bleSync.ts): each a spend on the
 * requester's account and an earn on the provider's, both named for the transaction, so syncing
 * it again moves nothing and a sync cut short between the two is completed by the next. A
 * device's account is its agent's owner (or the agent itself); an unknown or blacklisted device
 * refuses the batch. Balances are checked for the whole batch before anything is appended.
 */
export function bleSync(deps: BleSyncDeps) {
  return async (txs: readonly BleTransaction[]): Promise<BleSynced | BleRefusal> => {
    const keys = [...new Set(txs.flatMap((t) => [t.requester, t.provider]))];
    const accounts = new Map<string, string | undefined>();
    for (const key of keys) {
      const agent = (await agentById(deps.pool, key))?.state;
      accounts.set(key, agent && agent.status !== "none" && agent.status !== "blacklisted" ? (agent.profile.owner ?? key) : undefined);
    }
    const lookup = movementLookup(deps.store);
    const synced = new Set<string>();
    const available = new Map<string, number>();
    for (const tx of txs) {
      const payer = accounts.get(tx.requester);
      if (payer === undefined) continue;
      if (await lookup.moved(payer, payCommand(tx.txId))) synced.add(tx.txId);
      if (!available.has(payer)) available.set(payer, (await creditBalance(deps.pool, payer))?.available ?? 0);
    }
    const plan = planBleSync(txs, { accountOf: (k) => accounts.get(k), available: (a) => available.get(a) ?? 0, synced: (id) => synced.has(id) });
    if ("refused" in plan) return plan;

    const now = deps.now();
    const earn = (txId: string, earner: string, amount: number) =>
      deps.handleCredit(creditSubject(earner), { kind: "earn", amount, reason: `BLE work for ${txId}`.slice(0, 200), ref: `ble:${txId}` }, { commandId: earnCommand(txId), now });
    for (const move of plan.moves) {
      const tx = txs.find((t) => t.txId === move.txId)!;
      await deps.handleCredit(creditSubject(move.payer), { kind: "spend", amount: move.amount, reason: `BLE work by ${tx.provider}`.slice(0, 200), ref: `ble:${move.txId}` }, { commandId: payCommand(move.txId), now });
      await earn(move.txId, move.earner, move.amount);
    }
    // A sync cut short after the spend: the earn it did not make is made now.
    for (const txId of plan.repeats) {
      const tx = txs.find((t) => t.txId === txId)!;
      const earner = accounts.get(tx.provider)!;
      if (!(await lookup.moved(earner, earnCommand(txId)))) {
        await earn(txId, earner, bleAmount(tx));
      }
    }
    return { accepted: plan.moves.length, repeats: plan.repeats.length, movedMillicredits: plan.moves.reduce((n, m) => n + m.amount, 0) };
  };
}
