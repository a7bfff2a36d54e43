import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BASE_SATS_PER_UNIT,
  lowerWeightedMedian,
  networkPrice,
  PROPOSAL_MAX_AHEAD_MS,
  PROPOSAL_STALE_AFTER_MS,
  proposalWeight,
  satsPerUnit,
  type CurrentProposal,
} from "../../src/domain/economy/pricing.js";

const NOW = new Date("2026-12-04T17:30:00.000Z");
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const coordinator = (i: number) => `coord${i}`.padEnd(43, "A");
const proposal = (i: number, price: number, over: Partial<CurrentProposal> = {}): CurrentProposal => ({
  coordinatorId: coordinator(i),
  resourceClass: "cpu",
  satsPerUnit: price,
  at: ago(1_000),
  reputation: 1,
  ...over,
});
const cpuPrice = (proposals: readonly CurrentProposal[]) => networkPrice("cpu", proposals, NOW)?.satsPerUnit;

describe("a coordinator's price: base × clamp(0.65 + 0.35 × scarcity, 0.35, 4.0)", () => {
  it("is the base at balance, when demand equals capacity", () => {
    expect(satsPerUnit({ resourceClass: "cpu", queued: 4, agents: 6, capacity: 10 })).toBe(30);
    expect(satsPerUnit({ resourceClass: "gpu", queued: 4, agents: 6, capacity: 10 })).toBe(120);
  });

  it("rises with demand, rounding half up to whole sats", () => {
    // scarcity 2: 30 × 1.35 = 40.5 -> 41; 120 × 1.35 = 162
    expect(satsPerUnit({ resourceClass: "cpu", queued: 15, agents: 5, capacity: 10 })).toBe(41);
    expect(satsPerUnit({ resourceClass: "gpu", queued: 15, agents: 5, capacity: 10 })).toBe(162);
  });

  it("stops at four times the base, and with no capacity at all is there already", () => {
    expect(satsPerUnit({ resourceClass: "cpu", queued: 1_000, agents: 0, capacity: 1 })).toBe(120);
    expect(satsPerUnit({ resourceClass: "cpu", queued: 0, agents: 0, capacity: 0 })).toBe(120);
    expect(satsPerUnit({ resourceClass: "gpu", queued: 3, agents: 0, capacity: 0 })).toBe(480);
  });

  it("falls toward 65% of the base as capacity outgrows demand, never to the 0.35 floor", () => {
    // demand counts at least 1: 30 × (0.65 + 0.35/1000) = 19.51 -> 20
    expect(satsPerUnit({ resourceClass: "cpu", queued: 0, agents: 0, capacity: 1_000 })).toBe(20);
    expect(satsPerUnit({ resourceClass: "cpu", queued: 0, agents: 0, capacity: 1_000_000_000 })).toBe(20);
  });

  const counts = fc.record({
    resourceClass: fc.constantFrom("cpu" as const, "gpu" as const),
    queued: fc.integer({ min: 0, max: 1_000_000_000 }),
    agents: fc.integer({ min: 0, max: 1_000_000_000 }),
    capacity: fc.integer({ min: 1, max: 1_000_000_000 }),
  });

  it("is the formula's value to the nearest sat, within 0.65–4 times its base (property)", () => {
    fc.assert(
      fc.property(counts, (c) => {
        const base = BASE_SATS_PER_UNIT[c.resourceClass];
        const factor = Math.min(4, Math.max(0.35, 0.65 + (0.35 * Math.max(1, c.queued + c.agents)) / c.capacity));
        const price = satsPerUnit(c);
        expect(Math.abs(price - base * factor)).toBeLessThanOrEqual(0.5 + 1e-9);
        expect(price).toBeGreaterThanOrEqual(Math.round(base * 0.65));
        expect(price).toBeLessThanOrEqual(base * 4);
      }),
    );
  });

  it("never falls when more work queues, nor rises when capacity grows (property)", () => {
    fc.assert(
      fc.property(counts, fc.integer({ min: 0, max: 1_000_000 }), (c, more) => {
        expect(satsPerUnit({ ...c, queued: c.queued + more })).toBeGreaterThanOrEqual(satsPerUnit(c));
        expect(satsPerUnit({ ...c, capacity: c.capacity + more })).toBeLessThanOrEqual(satsPerUnit(c));
      }),
    );
  });
});

describe("the network price: the weighted median of current proposals", () => {
  it("is the price of the only current proposal, and undefined with none", () => {
    expect(cpuPrice([proposal(1, 33)])).toBe(33);
    expect(networkPrice("cpu", [], NOW)).toBeUndefined();
    expect(networkPrice("gpu", [proposal(1, 33)], NOW), "a cpu proposal says nothing of gpu").toBeUndefined();
  });

  it("is the middle price of equal weights, and on an exact tie the lower of the two middle ones", () => {
    expect(cpuPrice([proposal(1, 50), proposal(2, 30), proposal(3, 40)])).toBe(40);
    expect(cpuPrice([proposal(1, 50), proposal(2, 30)])).toBe(30);
    expect(cpuPrice([proposal(1, 50), proposal(2, 30), proposal(3, 40), proposal(4, 45)])).toBe(40);
  });

  it("weighs each proposal by its coordinator's reputation clamped to 1–500", () => {
    expect(cpuPrice([proposal(1, 30, { reputation: 1 }), proposal(2, 60, { reputation: 3 })])).toBe(60);
    expect(proposalWeight(10_000)).toBe(500);
    expect(proposalWeight(0)).toBe(1);
    expect(proposalWeight(-5)).toBe(1);
    expect(proposalWeight(Number.NaN)).toBe(1);
    expect(proposalWeight(42.5)).toBe(42.5);
    // 499 coordinators of weight 1 at 30 against one of reputation 10,000 (weight 500) at 90: 500 ≥ half of 999.
    const many = Array.from({ length: 499 }, (_, i) => proposal(i + 2, 30));
    expect(cpuPrice([...many, proposal(1, 90, { reputation: 10_000 })])).toBe(90);
    expect(cpuPrice([...many, proposal(501, 30), proposal(1, 90, { reputation: 10_000 })])).toBe(30);
  });

  it("ignores proposals older than three intervals or dated more than an interval ahead", () => {
    const current = proposal(1, 30);
    expect(PROPOSAL_STALE_AFTER_MS).toBe(180_000);
    expect(cpuPrice([current, proposal(2, 90, { at: ago(PROPOSAL_STALE_AFTER_MS + 1) }), proposal(3, 90, { at: ago(PROPOSAL_STALE_AFTER_MS + 60_000) })])).toBe(30);
    expect(cpuPrice([current, proposal(2, 90, { at: ago(PROPOSAL_STALE_AFTER_MS), reputation: 5 })]), "exactly three intervals old still counts").toBe(90);
    expect(cpuPrice([current, proposal(2, 90, { at: ago(-PROPOSAL_MAX_AHEAD_MS - 1), reputation: 5 })])).toBe(30);
    expect(cpuPrice([proposal(2, 90, { at: ago(PROPOSAL_STALE_AFTER_MS + 1) })]), "only stale proposals: no network price").toBeUndefined();
  });

  it("counts only each coordinator's latest proposal", () => {
    const older = proposal(1, 90, { at: ago(60_000), reputation: 50 });
    const latest = proposal(1, 30, { at: ago(1_000), reputation: 50 });
    const result = networkPrice("cpu", [latest, proposal(2, 60), older], NOW);
    expect(result).toEqual({ resourceClass: "cpu", satsPerUnit: 30, counted: [coordinator(1), coordinator(2)] });
  });

  const price = fc.integer({ min: 1, max: 1_000 });
  const reputation = fc.oneof(fc.integer({ min: -10, max: 1_000 }), fc.double({ min: 0, max: 600, noNaN: true }));
  const currentSet = fc
    .array(fc.record({ price, reputation, ageMs: fc.integer({ min: -PROPOSAL_MAX_AHEAD_MS, max: PROPOSAL_STALE_AFTER_MS }) }), { minLength: 1, maxLength: 40 })
    .map((xs) => xs.map((x, i) => proposal(i, x.price, { reputation: x.reputation, at: ago(x.ageMs) })));

  it("lies within the lowest and highest current price, and is one of them (property)", () => {
    fc.assert(
      fc.property(currentSet, (ps) => {
        const median = cpuPrice(ps)!;
        const prices = ps.map((p) => p.satsPerUnit);
        expect(median).toBeGreaterThanOrEqual(Math.min(...prices));
        expect(median).toBeLessThanOrEqual(Math.max(...prices));
        expect(prices).toContain(median);
      }),
    );
  });

  it("does not depend on the order proposals are given in (property)", () => {
    fc.assert(
      fc.property(
        currentSet.chain((ps) => fc.tuple(fc.constant(ps), fc.shuffledSubarray(ps, { minLength: ps.length, maxLength: ps.length }))),
        ([ps, shuffled]) => {
          expect(networkPrice("cpu", shuffled, NOW)).toEqual(networkPrice("cpu", ps, NOW));
        },
      ),
    );
  });

  it("is not moved by stale or far-future proposals, whatever their price or weight (property)", () => {
    const ignored = fc.array(
      fc.record({ price, reputation, ageMs: fc.oneof(fc.integer({ min: PROPOSAL_STALE_AFTER_MS + 1, max: 10 * PROPOSAL_STALE_AFTER_MS }), fc.integer({ min: -10 * PROPOSAL_STALE_AFTER_MS, max: -PROPOSAL_MAX_AHEAD_MS - 1 })) }),
      { maxLength: 20 },
    );
    fc.assert(
      fc.property(currentSet, ignored, (ps, old) => {
        const others = old.map((x, i) => proposal(1_000 + i, x.price, { reputation: x.reputation, at: ago(x.ageMs) }));
        expect(networkPrice("cpu", [...ps, ...others], NOW)).toEqual(networkPrice("cpu", ps, NOW));
      }),
    );
  });

  it("moves at most to a neighbour of the median when one outlier weighing no more than any other joins (property)", () => {
    const set = fc.array(fc.record({ value: price, weight: fc.integer({ min: 1, max: 500 }) }), { minLength: 2, maxLength: 30 });
    fc.assert(
      fc.property(set, fc.oneof(fc.constant(0), fc.constant(1_000_000), price), fc.integer({ min: 1, max: 500 }), (xs, outlier, weight) => {
        const items = xs.map((x, i) => ({ key: coordinator(i), ...x }));
        const w = Math.min(weight, ...xs.map((x) => x.weight));
        const before = lowerWeightedMedian(items)!;
        const after = lowerWeightedMedian([...items, { key: coordinator(999), value: outlier, weight: w }])!;
        const values = items.map((i) => i.value).sort((a, b) => a - b);
        // The median's position among the sorted values, and the values on either side of it.
        const k = values.indexOf(before);
        const last = values.lastIndexOf(before);
        const low = values[Math.max(0, k - 1)]!;
        const high = values[Math.min(values.length - 1, last + 1)]!;
        expect(after).toBeGreaterThanOrEqual(low);
        expect(after).toBeLessThanOrEqual(high);
      }),
    );
  });

  it("lets an outlier weigh only what its reputation allows: a single heavy one can pull the median to itself", () => {
    const items = [1, 2, 3, 4, 5].map((value, i) => ({ key: coordinator(i), value, weight: 1 }));
    expect(lowerWeightedMedian(items)).toBe(3);
    expect(lowerWeightedMedian([...items, { key: coordinator(9), value: 100, weight: 1 }])).toBe(3);
    expect(lowerWeightedMedian([...items, { key: coordinator(9), value: 100, weight: 5 }]), "half the weight each side: the lower").toBe(5);
    expect(lowerWeightedMedian([...items, { key: coordinator(9), value: 100, weight: 6 }])).toBe(100);
  });
});
