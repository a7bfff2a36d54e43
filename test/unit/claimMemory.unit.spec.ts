import { describe, expect, it } from "vitest";
import { claimMemory, leaseMemory, liveLeaseCount } from "../../src/app/work/claimMemory.js";

describe("the claim memory (subtasks this coordinator just claimed)", () => {
  it("given a claim at t, when a pull asks within the memory's span, then the subtask is skipped", () => {
    const recent = claimMemory(2_000);
    recent.add("s1", 10_000);
    expect(recent.ids(10_000)).toEqual(["s1"]);
    expect(recent.ids(12_000)).toEqual(["s1"]);
  });

  it("given a claim at t, when the span has passed, then it is forgotten and the projection is trusted again", () => {
    const recent = claimMemory(2_000);
    recent.add("s1", 10_000);
    recent.add("s2", 11_000);
    expect(recent.ids(12_001)).toEqual(["s2"]);
    expect(recent.ids(13_001)).toEqual([]);
  });

  it("given a subtask claimed again, when asked, then the span counts from the last claim", () => {
    const recent = claimMemory(2_000);
    recent.add("s1", 0);
    recent.add("s1", 1_500);
    expect(recent.ids(3_000)).toEqual(["s1"]);
  });
});

describe("the lease memory (what this coordinator did to a holder's leases lately)", () => {
  it("given a lease won and a result taken, when asked within a minute, then both are known at their versions", () => {
    const leases = leaseMemory(60_000);
    leases.note("a1", "s1", true, 5, 0);
    leases.note("a1", "s2", false, 7, 0);
    expect(leases.of("a1", 59_000)).toEqual([
      { subtaskId: "s1", held: true, version: 5 },
      { subtaskId: "s2", held: false, version: 7 },
    ]);
    expect(leases.of("a2", 0)).toEqual([]);
  });

  it("given notes older than the span, when asked, then they are forgotten", () => {
    const leases = leaseMemory(60_000);
    leases.note("a1", "s1", true, 5, 0);
    leases.note("a1", "s2", true, 6, 30_000);
    expect(leases.of("a1", 60_001).map((l) => l.subtaskId)).toEqual(["s2"]);
    expect(leases.of("a1", 90_001)).toEqual([]);
  });

  it("given more holders than it keeps, when one more is noted, then the oldest holder is forgotten", () => {
    const leases = leaseMemory(60_000, 2);
    leases.note("a1", "s1", true, 1, 0);
    leases.note("a2", "s2", true, 1, 0);
    leases.note("a3", "s3", true, 1, 0);
    expect(leases.of("a1", 0)).toEqual([]);
    expect(leases.of("a2", 0)).toHaveLength(1);
    expect(leases.of("a3", 0)).toHaveLength(1);
  });
});

describe("live leases, the projection corrected by what this coordinator knows", () => {
  it("given the projection alone, then its live leases count", () => {
    expect(liveLeaseCount([{ subtaskId: "s1", live: true, version: 3 }, { subtaskId: "s2", live: false, version: 4 }], [])).toBe(1);
  });

  it("given a lease won here that the projection does not show yet, then it counts", () => {
    expect(liveLeaseCount([{ subtaskId: "s1", live: false, version: 3 }], [{ subtaskId: "s1", held: true, version: 4 }])).toBe(1);
    expect(liveLeaseCount([], [{ subtaskId: "s9", held: true, version: 4 }])).toBe(1);
  });

  it("given a result taken here that the projection does not show yet, then its lease no longer counts", () => {
    expect(liveLeaseCount([{ subtaskId: "s1", live: true, version: 3 }], [{ subtaskId: "s1", held: false, version: 4 }])).toBe(0);
  });

  it("given the projection caught up with (or past) what is known here, then the projection is believed", () => {
    expect(liveLeaseCount([{ subtaskId: "s1", live: true, version: 4 }], [{ subtaskId: "s1", held: false, version: 4 }])).toBe(1);
    expect(liveLeaseCount([{ subtaskId: "s1", live: false, version: 9 }], [{ subtaskId: "s1", held: true, version: 4 }])).toBe(0);
  });
});
