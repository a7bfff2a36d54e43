import { afterEach, describe, expect, it, vi } from "vitest";
import type { Economy } from "../../src/app/economy/economy.js";
import { startEconomyLoops, VOTE_GRACE_MS } from "../../src/app/economy/economyLoops.js";
import { refusal } from "../../src/app/commands.js";
import { DomainRuleViolation } from "../../src/domain/decider.js";
import { epochEnd } from "../../src/domain/economy/epochId.js";

/** The loops on an economy whose use cases only count their calls. */
function fakeEconomy(vote: (epochId?: string) => Promise<unknown>, voted = false) {
  const calls = { propose: 0, poll: 0, votes: [] as (string | undefined)[] };
  const economy = {
    prices: { propose: async () => void calls.propose++ },
    payments: { poll: async () => (calls.poll++, { settled: [], expired: [] }) },
    issuance: {
      voted: async () => voted,
      vote: async (epochId?: string) => {
        calls.votes.push(epochId);
        return vote(epochId);
      },
    },
  } as unknown as Economy;
  return { economy, calls };
}

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

const EPOCH = "2026-12-04T09";
const start = (economy: Economy, now: Date, epochVoting = true) => {
  const errors: unknown[] = [];
  const loops = startEconomyLoops({ economy, now: () => now, priceIntervalMs: 60_000, intentPollMs: 60_000, epochVoting, log: () => undefined, onError: () => (err) => errors.push(err) });
  stop = loops.stop;
  return errors;
};

describe("the economy's background work", () => {
  it("proposes the price and polls intents at once, and votes on the ended epoch once its grace has passed", async () => {
    const { economy, calls } = fakeEconomy(async () => ({ recordHash: "ab".repeat(32), final: false }));
    start(economy, new Date(epochEnd(EPOCH).getTime() + VOTE_GRACE_MS + 1));
    await vi.waitFor(() => expect(calls).toMatchObject({ propose: 1, poll: 1, votes: [EPOCH] }));
  });

  it("does not vote within the grace, nor when this node voted already, nor when voting is off", async () => {
    const early = fakeEconomy(async () => ({}));
    start(early.economy, new Date(epochEnd(EPOCH).getTime() + VOTE_GRACE_MS - 1));
    await vi.waitFor(() => expect(early.calls.poll).toBe(1));
    await stop!();
    expect(early.calls.votes).toEqual([]);

    const done = fakeEconomy(async () => ({}), true);
    start(done.economy, new Date(epochEnd(EPOCH).getTime() + VOTE_GRACE_MS + 1));
    await vi.waitFor(() => expect(done.calls.poll).toBe(1));
    await stop!();
    expect(done.calls.votes).toEqual([]);

    const off = fakeEconomy(async () => ({}));
    start(off.economy, new Date(epochEnd(EPOCH).getTime() + VOTE_GRACE_MS + 1), false);
    await vi.waitFor(() => expect(off.calls.poll).toBe(1));
    await stop!();
    expect(off.calls.votes).toEqual([]);
  });

  it("takes a vote the rules refuse, or no policy, as nothing to report; any other failure is reported", async () => {
    const refused = fakeEconomy(async () => {
      throw new DomainRuleViolation("not_approved_coordinator", "not approved");
    });
    const quiet = start(refused.economy, new Date(epochEnd(EPOCH).getTime() + VOTE_GRACE_MS + 1));
    await vi.waitFor(() => expect(refused.calls.votes).toEqual([EPOCH]));
    await stop!();
    expect(quiet).toEqual([]);

    const noPolicy = fakeEconomy(async () => refusal("no_custody_policy", "none"));
    const alsoQuiet = start(noPolicy.economy, new Date(epochEnd(EPOCH).getTime() + VOTE_GRACE_MS + 1));
    await vi.waitFor(() => expect(noPolicy.calls.votes).toEqual([EPOCH]));
    await stop!();
    expect(alsoQuiet).toEqual([]);

    const broken = fakeEconomy(async () => {
      throw new Error("nats is down");
    });
    const reported = start(broken.economy, new Date(epochEnd(EPOCH).getTime() + VOTE_GRACE_MS + 1));
    await vi.waitFor(() => expect(reported).toHaveLength(1));
    expect(String(reported[0])).toMatch(/nats is down/);
  });
});
