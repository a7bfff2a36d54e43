import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lowerMedian } from "../../src/app/economy/epochFacts.js";

describe("the lower median of an epoch's counts", () => {
  it("is 0 for no counts, the count itself for one, the lower middle for an even number", () => {
    expect(lowerMedian([])).toBe(0);
    expect(lowerMedian([7])).toBe(7);
    expect(lowerMedian([9, 1, 5, 3])).toBe(3);
    expect(lowerMedian([9, 1, 5])).toBe(5);
  });

  it("is always a count someone reported, with at least half the counts on either side of it", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1_000), { minLength: 1, maxLength: 60 }), (counts) => {
        const m = lowerMedian(counts);
        expect(counts).toContain(m);
        expect(2 * counts.filter((c) => c <= m).length).toBeGreaterThanOrEqual(counts.length);
        expect(2 * counts.filter((c) => c >= m).length).toBeGreaterThanOrEqual(counts.length);
      }),
    );
  });

  it("does not move when one count of three or more becomes an outlier", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1_000), { minLength: 3, maxLength: 60 }), fc.integer({ min: 1_001, max: 1_000_000_000 }), (counts, outlier) => {
        const sorted = [...counts].sort((a, b) => a - b);
        const withOutlier = [...sorted.slice(0, -1), outlier];
        expect(lowerMedian(withOutlier)).toBe(lowerMedian(sorted));
      }),
    );
  });
});
