import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { agentCopies } from "../../src/app/agents/agentCopies.js";
import { mayStillBeServed } from "../../src/app/agents/agentAdmin.js";
import { spreadEqualHead } from "../../src/app/work/candidateOrder.js";
import { pullBeats } from "../../src/app/work/pullBeats.js";

describe("a coordinator's copies of agents", () => {
  it("given a copy kept at t, when asked before it is ttl old, then the copy is served; at ttl, no longer", () => {
    const copies = agentCopies<string>(1_000);
    copies.keep("a1", "approved", 5_000);
    expect(copies.fresh("a1", 5_999)).toBe("approved");
    expect(copies.fresh("a1", 6_000)).toBeUndefined();
  });

  it("given an agent that was not found, when asked again, then nothing is served from the copy (it is read again)", () => {
    const copies = agentCopies<string>(1_000);
    copies.keep("a1", undefined, 0);
    expect(copies.fresh("a1", 1)).toBeUndefined();
  });

  it("given more agents than it keeps, when one more is kept, then the other copies are dropped", () => {
    const copies = agentCopies<string>(1_000, 2);
    for (const id of ["a1", "a2", "a3"]) copies.keep(id, id, 0);
    copies.keep("a4", "a4", 0);
    expect(copies.fresh("a1", 1)).toBeUndefined();
    expect(copies.fresh("a4", 1)).toBe("a4");
  });
});

describe("a pull counts as a heartbeat, written at most once per gap", () => {
  it("given a beat written at t, when the agent pulls again within the gap, then none is written; after it, one is", () => {
    const beats = pullBeats(250);
    expect(beats.due("a1", 1_000)).toBe(true);
    expect(beats.due("a1", 1_249)).toBe(false);
    expect(beats.due("a2", 1_249)).toBe(true);
    expect(beats.due("a1", 1_250)).toBe(true);
  });
});

describe("whether a blacklisted agent may still be handed a lease from a coordinator's copy", () => {
  const now = new Date("2026-12-01T12:00:00Z");
  const ago = (ms: number) => new Date(now.getTime() - ms);
  it("given an approved agent, then yes, however long ago it changed", () => {
    expect(mayStillBeServed({ status: "approved", updatedAt: ago(3_600_000) }, now, 1_000)).toBe(true);
  });
  it("given a pending agent that changed within a copy's lifetime and a second, then yes; long ago, no", () => {
    expect(mayStillBeServed({ status: "pending", updatedAt: ago(1_999) }, now, 1_000)).toBe(true);
    expect(mayStillBeServed({ status: "pending", updatedAt: ago(2_000) }, now, 1_000)).toBe(false);
  });
  it("given a key never seen, then no", () => {
    expect(mayStillBeServed(undefined, now, 1_000)).toBe(false);
  });
});

describe("the candidates of a pull", () => {
  const c = (id: string, rank: string) => ({ id, rank });

  it("keeps every candidate, the best rank first, shuffling only the first few of that rank", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("true:false:90", "true:false:50", "false:false:50"), { maxLength: 10 }), fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: 10, maxLength: 10 }), (ranks, draws) => {
        const candidates = ranks.map((rank, i) => c(`s${i}`, rank));
        let n = 0;
        const out = spreadEqualHead(candidates, () => draws[n++ % draws.length]!);
        expect([...out].map((x) => x.id).sort()).toEqual(candidates.map((x) => x.id).sort());
        const equal = candidates.slice(0, 4).findIndex((x) => x.rank !== candidates[0]!.rank);
        const head = equal === -1 ? Math.min(4, candidates.length) : equal;
        expect(out.slice(head)).toEqual(candidates.slice(head));
        expect(out.slice(0, head).every((x) => x.rank === candidates[0]!.rank)).toBe(true);
      }),
    );
  });

  it("given four candidates as good as each other, when the draws say so, then another than the first comes first", () => {
    const candidates = ["s0", "s1", "s2", "s3", "s4"].map((id) => c(id, "a"));
    expect(spreadEqualHead(candidates, () => 0).map((x) => x.id)).toEqual(["s1", "s2", "s3", "s0", "s4"]);
  });
});
