import type { HeartbeatStore } from "../../adapters/agents/heartbeats.js";
import type { LightningProvider } from "../../adapters/lightning/provider.js";
import type { EventStore } from "../../adapters/nats/eventStore.js";
import type { Db } from "../../projections/keyset.js";
import type { CommandHandlers } from "../commandHandlers.js";

/** What the economy's use cases run on: the node's handlers and projections, its key, its Lightning provider. */
export interface EconomyDeps {
  readonly pool: Db;
  /** Where a movement made long ago is looked for when the projection does not show it. */
  readonly store: Pick<EventStore, "readAggregate">;
  readonly handlers: Pick<CommandHandlers, "price" | "epoch" | "intent" | "policy" | "account">;
  readonly lightning: LightningProvider;
  /**
   * This node's public key: the coordinator it speaks for (its proposals' and votes' subject and
   * signer). Its credit account is coordinatorAccountOf(key), so every coordinator computes the
   * same issuance allocations from a policy's list of coordinators.
   */
  readonly nodeKey: string;
  readonly now: () => Date;
  /** Agents' heartbeats, to count only live agents as capacity; none: every approved agent counts. */
  readonly heartbeats?: HeartbeatStore;
  readonly heartbeatIntervalMs: number;
  /** How long an invoice is payable (the domain's INTENT_TTL_MS unless set). */
  readonly intentTtlMs: number;
  /** The custody policy line whose coordinators close issuance epochs. */
  readonly treasuryPolicyId: string;
}
