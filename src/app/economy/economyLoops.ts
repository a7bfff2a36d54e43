import { DomainRuleViolation } from "../../domain/decider.js";
import { epochEnd } from "../../domain/economy/epochId.js";
import { isRefusal } from "../commands.js";
import type { Economy } from "./economy.js";
import { lastEndedEpoch } from "./issuance.js";
import { every } from "../every.js";

/**
 * How long after an hour ends this node votes on it: its projections have the hour's last
 * earnings and proposals by then, so it computes the record the others compute.
 */
export const VOTE_GRACE_MS = 2 * 60_000;
/** How often the voter looks whether the newest ended epoch waits for this node's vote. */
export const VOTE_CHECK_MS = 60_000;

export interface EconomyLoopOptions {
  readonly economy: Economy;
  readonly now: () => Date;
  /** How often this node proposes its price (PRICE_PROPOSAL_INTERVAL_MS by default). */
  readonly priceIntervalMs: number;
  /** How often open intents are asked about, settled and expired without anyone calling confirm. */
  readonly intentPollMs: number;
  /** Whether this node votes on each ended epoch by itself (the route votes either way). */
  readonly epochVoting: boolean;
  readonly log: (line: string) => void;
  readonly onError: (what: string) => (err: unknown) => void;
}

/**
 * The economy's background work on a node: proposing its price on an interval, polling open
 * intents (a paid one is settled and minted without anyone calling confirm), and voting on each
 * ended issuance epoch once the grace has passed. A vote the policy does not allow (no policy
 * in force, this node not approved, voted already) is not an error: the voter waits for the next hour.
 */
export function startEconomyLoops(opts: EconomyLoopOptions): { stop(): Promise<void> } {
  const { economy } = opts;
  const loops = [
    every(opts.priceIntervalMs, () => economy.prices.propose(), opts.onError("price proposal")),
    every(opts.intentPollMs, async () => {
      const done = await economy.payments.poll();
      for (const id of done.settled) opts.log(`payment intent ${id} settled by its provider; credits minted`);
    }, opts.onError("payment intent poller")),
  ];
  if (opts.epochVoting) {
    let lastTried = "";
    loops.push(
      every(VOTE_CHECK_MS, async () => {
        const now = opts.now();
        const epochId = lastEndedEpoch(now);
        if (epochId === lastTried || now.getTime() < epochEnd(epochId).getTime() + VOTE_GRACE_MS) return;
        lastTried = epochId;
        if (await economy.issuance.voted(epochId)) return;
        try {
          const vote = await economy.issuance.vote(epochId);
          if (!isRefusal(vote)) opts.log(`issuance: voted on epoch ${epochId} for record ${vote.recordHash.slice(0, 12)}${vote.final ? " (final)" : ""}`);
        } catch (err) {
          if (!(err instanceof DomainRuleViolation)) throw err;
        }
      }, opts.onError("issuance vote")),
    );
  }
  return { stop: async () => void (await Promise.all(loops.map((l) => l.stop()))) };
}
