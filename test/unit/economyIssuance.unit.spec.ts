import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EpochId, epochEnd, epochIdAt, epochStart } from "../../src/domain/economy/epochId.js";
import { allocatedTotal, EpochRecord, epochRecordHash } from "../../src/domain/economy/epochRecord.js";
import {
  computeEpochRecord,
  dailyPoolMillicredits,
  hourlyPoolMillicredits,
  rawLoadIndexMicros,
  smoothedLoadIndexMicros,
  weightedContribution,
  type Contribution,
  type EpochInputs,
} from "../../src/domain/economy/issuance.js";
import { largestRemainder } from "../../src/domain/economy/largestRemainder.js";

const work = (ref: string, accountId: string, over: Partial<Contribution> = {}): Contribution => ({
  ref,
  accountId,
  resourceClass: "cpu",
  computeMs: 1_000,
  quality: 1,
  ok: true,
  ...over,
});
const inputs = (over: Partial<EpochInputs> = {}): EpochInputs => ({
  epochId: "2026-12-04T17",
  demand: 0,
  cpuAgents: 4,
  gpuAgents: 0,
  contributions: [],
  coordinatorAccounts: ["coord-a"],
  reserveAccount: "reserve",
  ...over,
});

describe("epoch ids", () => {
  it("are the UTC hour an instant falls in, and span that hour", () => {
    expect(epochIdAt(new Date("2026-12-04T17:59:59.999Z"))).toBe("2026-12-04T17");
    expect(epochStart("2026-12-04T17").toISOString()).toBe("2026-12-04T17:00:00.000Z");
    expect(epochEnd("2026-12-04T23").toISOString()).toBe("2026-12-05T00:00:00.000Z");
  });

  it("are real hours only", () => {
    expect(EpochId.safeParse("2026-12-04T17").success).toBe(true);
    for (const bad of ["2026-12-04T24", "2026-02-30T10", "2026-12-04", "2026-12-04T17:00", "2026-13-01T00"]) expect(EpochId.safeParse(bad).success, bad).toBe(false);
  });
});

describe("the issuance pool", () => {
  it("reads the load as demand over supply, a GPU counted twice, clamped to 0.2–6", () => {
    expect(rawLoadIndexMicros(10, 5, 0)).toBe(2_000_000);
    expect(rawLoadIndexMicros(10, 1, 2)).toBe(2_000_000);
    expect(rawLoadIndexMicros(1, 100, 0)).toBe(200_000);
    expect(rawLoadIndexMicros(1_000, 1, 0)).toBe(6_000_000);
    expect(rawLoadIndexMicros(3, 0, 0), "demand with nobody to serve it").toBe(6_000_000);
    expect(rawLoadIndexMicros(0, 0, 0), "an empty mesh").toBe(200_000);
  });

  it("smooths it by an EMA with α 0.35, the first epoch taking its raw index", () => {
    expect(smoothedLoadIndexMicros(2_000_000, null)).toBe(2_000_000);
    expect(smoothedLoadIndexMicros(2_000_000, 1_000_000)).toBe(1_350_000);
    expect(smoothedLoadIndexMicros(200_000, 6_000_000)).toBe(3_970_000);
  });

  it("issues 10,000 credits a day up to full load, 35% more per unit of load above it, and a 24th of that an hour", () => {
    expect(dailyPoolMillicredits(200_000)).toBe(10_000_000);
    expect(dailyPoolMillicredits(1_000_000)).toBe(10_000_000);
    expect(dailyPoolMillicredits(2_000_000)).toBe(13_500_000);
    expect(dailyPoolMillicredits(6_000_000)).toBe(27_500_000);
    expect(hourlyPoolMillicredits(10_000_000)).toBe(416_666);
  });

  it("weighs work by seconds × class × quality (clamped to 0.5–1.5) × reliability", () => {
    expect(weightedContribution(work("r", "a"))).toBe(1_000n * 1_000n * 1_000n);
    expect(weightedContribution(work("r", "a", { resourceClass: "gpu" }))).toBe(2n * 1_000n * 1_000n * 1_000n);
    expect(weightedContribution(work("r", "a", { quality: 0.6, ok: false }))).toBe(1_000n * 600n * 750n);
    expect(weightedContribution(work("r", "a", { quality: 3 }))).toBe(1_000n * 1_500n * 1_000n);
    expect(weightedContribution(work("r", "a", { quality: 0.1 }))).toBe(1_000n * 500n * 1_000n);
  });
});

describe("an epoch's record", () => {
  it("gives coordinators and the reserve 5% each, rounded down, and contributors the rest pro rata", () => {
    const record = computeEpochRecord(inputs({ contributions: [work("s1", "alice"), work("s2", "bob", { resourceClass: "gpu" })], coordinatorAccounts: ["coord-b", "coord-a"] }));
    expect(record).toMatchObject({ loadIndexMicros: 200_000, previousLoadIndexMicros: null, dailyPoolMillicredits: 10_000_000, hourlyPoolMillicredits: 416_666, issuedMillicredits: 416_666 });
    expect(record.allocations).toEqual([
      { accountId: "alice", role: "contributor", millicredits: 125_000 },
      { accountId: "bob", role: "contributor", millicredits: 250_000 },
      // 20,833 split evenly: the unit left over goes to the first account id.
      { accountId: "coord-a", role: "coordinator", millicredits: 10_417 },
      { accountId: "coord-b", role: "coordinator", millicredits: 10_416 },
      { accountId: "reserve", role: "reserve", millicredits: 20_833 },
    ]);
    expect(EpochRecord.parse(record)).toEqual(record);
  });

  it("carries the history of the load index forward", () => {
    const record = computeEpochRecord(inputs({ demand: 8, cpuAgents: 4, previousLoadIndexMicros: 1_000_000, contributions: [work("s1", "alice")] }));
    expect(record).toMatchObject({ previousLoadIndexMicros: 1_000_000, loadIndexMicros: 1_350_000, dailyPoolMillicredits: 11_225_000, issuedMillicredits: 467_708 });
  });

  it("issues nothing in an hour nobody worked", () => {
    const record = computeEpochRecord(inputs({ contributions: [work("s1", "alice", { computeMs: 0 })] }));
    expect(record).toMatchObject({ hourlyPoolMillicredits: 416_666, issuedMillicredits: 0, allocations: [] });
  });

  it("counts each piece of work once: a ref listed twice is refused", () => {
    const refused = expect.objectContaining({ name: "DomainRuleViolation", code: "duplicate_contribution" });
    expect(() => computeEpochRecord(inputs({ contributions: [work("s1", "alice"), work("s1", "alice")] }))).toThrow(refused);
    expect(() => computeEpochRecord(inputs({ contributions: [work("s1", "alice"), work("s1", "bob")] }))).toThrow(refused);
  });

  const account = fc.constantFrom("alice", "bob", "carol", "dave", "erin", "frank", "__proto__", "toString");
  const contributions = fc
    .array(
      fc.record({
        accountId: account,
        resourceClass: fc.constantFrom("cpu" as const, "gpu" as const),
        computeMs: fc.integer({ min: 0, max: 86_400_000 }),
        quality: fc.double({ min: 0, max: 3, noNaN: true }),
        ok: fc.boolean(),
      }),
      { maxLength: 60 },
    )
    .map((xs) => xs.map((x, i): Contribution => ({ ref: `lease-${i}`, ...x })));
  const epochInputs = fc.record({
    epochId: fc.constant("2026-12-04T17"),
    demand: fc.integer({ min: 0, max: 1_000_000_000 }),
    cpuAgents: fc.integer({ min: 0, max: 1_000_000 }),
    gpuAgents: fc.integer({ min: 0, max: 1_000_000 }),
    previousLoadIndexMicros: fc.option(fc.integer({ min: 200_000, max: 6_000_000 }), { nil: undefined }),
    contributions,
    coordinatorAccounts: fc.array(fc.constantFrom("coord-a", "coord-b", "coord-c", "alice"), { minLength: 1, maxLength: 4 }),
    reserveAccount: fc.constant("reserve"),
  });

  it("allocates exactly what it issues, its hourly pool when anyone worked (property)", () => {
    fc.assert(
      fc.property(epochInputs, (i) => {
        const record = computeEpochRecord(i);
        expect(allocatedTotal(record)).toBe(record.issuedMillicredits);
        const worked = i.contributions.some((c) => c.computeMs > 0);
        expect(record.issuedMillicredits).toBe(worked ? record.hourlyPoolMillicredits : 0);
        for (const a of record.allocations) expect(a.millicredits).toBeGreaterThan(0);
        const byRole = (role: string) => record.allocations.filter((a) => a.role === role).reduce((s, a) => s + a.millicredits, 0);
        expect(byRole("coordinator")).toBe(Math.floor((record.issuedMillicredits * 5) / 100));
        expect(byRole("reserve")).toBe(Math.floor((record.issuedMillicredits * 5) / 100));
        expect(record.dailyPoolMillicredits).toBeGreaterThanOrEqual(2_500_000);
        expect(record.dailyPoolMillicredits).toBeLessThanOrEqual(100_000_000);
        expect(EpochRecord.safeParse(record).success).toBe(true);
      }),
    );
  });

  it("is the same record, to the hash, whatever order the contributions were read in (property)", () => {
    fc.assert(
      fc.property(
        epochInputs.chain((i) => fc.tuple(fc.constant(i), fc.shuffledSubarray(i.contributions, { minLength: i.contributions.length, maxLength: i.contributions.length }))),
        ([i, shuffled]) => {
          const a = computeEpochRecord(i);
          const b = computeEpochRecord({ ...i, contributions: shuffled });
          expect(b).toEqual(a);
          expect(epochRecordHash(b)).toBe(epochRecordHash(a));
        },
      ),
    );
  });

  it("has another contributions digest, and so another hash, when a single piece of work differs", () => {
    const a = computeEpochRecord(inputs({ contributions: [work("s1", "alice"), work("s2", "bob")] }));
    const b = computeEpochRecord(inputs({ contributions: [work("s1", "alice"), work("s2", "bob", { computeMs: 1_001 })] }));
    expect(b.contributionsDigest).not.toBe(a.contributionsDigest);
    expect(epochRecordHash(b)).not.toBe(epochRecordHash(a));
  });
});

describe("the largest-remainder rule", () => {
  it("gives left-over units to the largest remainders, equal ones in order of id", () => {
    expect(largestRemainder(10n, [{ id: "b", weight: 1n }, { id: "a", weight: 1n }, { id: "c", weight: 1n }])).toEqual([
      { id: "a", amount: 4n },
      { id: "b", amount: 3n },
      { id: "c", amount: 3n },
    ]);
    expect(largestRemainder(10n, [{ id: "a", weight: 1n }, { id: "b", weight: 2n }])).toEqual([
      { id: "a", amount: 3n },
      { id: "b", amount: 7n },
    ]);
  });

  it("sums exactly to the total, each part less than one unit from its exact share (property)", () => {
    const claims = fc.uniqueArray(fc.record({ id: fc.string({ minLength: 1, maxLength: 6 }), weight: fc.bigInt({ min: 0n, max: 10n ** 20n }) }), { minLength: 1, maxLength: 40, selector: (c) => c.id });
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), claims, (total, cs) => {
        const weights = cs.reduce((s, c) => s + c.weight, 0n);
        fc.pre(weights > 0n);
        const parts = largestRemainder(total, cs);
        expect(parts.reduce((s, p) => s + p.amount, 0n)).toBe(total);
        for (const p of parts) {
          const w = cs.find((c) => c.id === p.id)!.weight;
          // |amount − total·w/W| < 1, in integers: |amount·W − total·w| < W.
          const gap = p.amount * weights - total * w;
          expect(gap < weights && -gap < weights).toBe(true);
        }
      }),
    );
  });
});
