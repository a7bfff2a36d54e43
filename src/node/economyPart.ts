import type { HeartbeatStore } from "../adapters/agents/heartbeats.js";
import type { LightningProvider } from "../adapters/lightning/provider.js";
import type { CommandHandlers } from "../app/commandHandlers.js";
import type { EconomyDeps } from "../app/economy/deps.js";
import { economy, type Economy } from "../app/economy/economy.js";
import { startEconomyLoops } from "../app/economy/economyLoops.js";
import type { Db } from "../projections/keyset.js";
import type { NodeConfig } from "./config.js";

export interface EconomyPart {
  readonly economy: Economy;
  stop(): Promise<void>;
}

/**
 * The node's economy on its Lightning provider (read by startNode from the environment,
 * EC_LIGHTNING_PROVIDER and the provider's variables, before anything starts; a test passes its
 * own): the use cases the control plane serves, and the background work (price proposals, the
 * intent poller, issuance votes).
 */
export async function startEconomyPart(opts: {
  config: NodeConfig;
  pool: Db;
  store: EconomyDeps["store"];
  handlers: CommandHandlers;
  heartbeats: HeartbeatStore;
  nodeKey: string;
  now: () => Date;
  lightning: LightningProvider;
  log: (line: string) => void;
  onError: (what: string) => (err: unknown) => void;
}): Promise<EconomyPart> {
  const { lightning } = opts;
  opts.log(`lightning: ${lightning.label}`);
  const cases = economy({
    pool: opts.pool,
    store: opts.store,
    handlers: opts.handlers,
    lightning,
    nodeKey: opts.nodeKey,
    now: opts.now,
    heartbeats: opts.heartbeats,
    heartbeatIntervalMs: opts.config.heartbeatMs,
    intentTtlMs: opts.config.intentTtlMs,
    treasuryPolicyId: opts.config.treasuryPolicyId,
  });
  const loops = startEconomyLoops({
    economy: cases,
    now: opts.now,
    priceIntervalMs: opts.config.priceIntervalMs,
    intentPollMs: opts.config.intentPollMs,
    epochVoting: opts.config.epochVoting,
    log: opts.log,
    onError: opts.onError,
  });
  return { economy: cases, stop: () => loops.stop() };
}
