import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { judgeUnchained, type UnchainedCandidate } from "../../src/domain/ledger/unchained.js";

const at = (seq: number, storedAt: number, refusedBecause?: string): UnchainedCandidate => ({
  stream: "EC_CREDITS",
  seq,
  eventId: `e${seq}`,
  type: "credits.earned",
  storedAt,
  ...(refusedBecause ? { refusedBecause } : {}),
});

describe("source events the ledger does not hold", () => {
  it("given events admission refuses, then they are counted as refused however old", () => {
    expect(judgeUnchained([at(1, 0, "bad signature"), at(2, 0, "unknown type")], 1_000_000, 1_000)).toEqual({ pending: 0, refused: 2 });
  });

  it("given an admitted event stored within the grace before the last record, then it is not chained yet", () => {
    expect(judgeUnchained([at(1, 9_500), at(2, 9_700)], 10_000, 1_000)).toEqual({ pending: 2, oldestPendingAt: 9_500, refused: 0 });
  });

  it("given admitted events the ledger moved past by the grace or more, then the earliest stored is named", () => {
    expect(judgeUnchained([at(5, 8_000), at(3, 7_000), at(9, 9_900)], 10_000, 1_000)).toEqual({ dropped: at(3, 7_000), pending: 1, oldestPendingAt: 9_900, refused: 0 });
  });

  it("given an empty ledger, then nothing is dropped: the chainer has not started", () => {
    expect(judgeUnchained([at(1, 0)], undefined, 0)).toEqual({ pending: 1, oldestPendingAt: 0, refused: 0 });
  });

  it("property: every candidate is counted once, and a longer grace never names more", () => {
    const candidate = fc.record({ seq: fc.nat(), storedAt: fc.nat({ max: 100_000 }), refused: fc.boolean() }).map((c) => at(c.seq, c.storedAt, c.refused ? "refused" : undefined));
    fc.assert(
      fc.property(fc.array(candidate, { maxLength: 30 }), fc.nat({ max: 100_000 }), fc.nat({ max: 50_000 }), fc.nat({ max: 50_000 }), (list, last, g1, g2) => {
        const [short, long] = [Math.min(g1, g2), Math.max(g1, g2)];
        const a = judgeUnchained(list, last, short);
        const b = judgeUnchained(list, last, long);
        const droppedA = list.filter((c) => !c.refusedBecause && c.storedAt + short <= last).length;
        expect(a.pending + a.refused + droppedA).toBe(list.length);
        expect(a.dropped !== undefined).toBe(droppedA > 0);
        expect(a.oldestPendingAt !== undefined).toBe(a.pending > 0);
        if (a.dropped) expect(list.every((c) => c.refusedBecause || c.storedAt + short > last || c.storedAt >= a.dropped!.storedAt)).toBe(true);
        if (b.dropped) expect(a.dropped).toBeDefined();
        expect(b.pending).toBeGreaterThanOrEqual(a.pending);
      }),
    );
  });
});
