import { describe, expect, it } from "vitest";
import { emptyAccount } from "../../src/domain/credits/account.js";
import { creditAccountDecider, CreditCommand } from "../../src/domain/credits/commands.js";
import type { CreditEvent } from "../../src/domain/credits/events.js";
import { foldCommit } from "../../src/domain/decider.js";
import { given } from "../support/decider.js";

const MAX = Number.MAX_SAFE_INTEGER;
const account = (events: readonly CreditEvent[] = []) => given(creditAccountDecider, events);

const earned = (amount: number): CreditEvent => ({ type: "credits.earned", data: { amount, reason: "subtask" } });
const spent = (amount: number, holdId?: string): CreditEvent => ({
  type: "credits.spent",
  data: { amount, reason: "task", ...(holdId === undefined ? {} : { holdId }) },
});
const held = (holdId: string, amount: number): CreditEvent => ({ type: "credits.held", data: { holdId, amount, reason: "task submitted" } });
const released = (holdId: string, amount: number): CreditEvent => ({ type: "credits.released", data: { holdId, amount } });
const adjusted = (delta: number): CreditEvent => ({ type: "credits.adjusted", data: { delta, reason: "correction" } });

describe("credit account decider", () => {
  describe("earn", () => {
    it("records the credits earned, with reason and reference", () => {
      account()
        .when({ kind: "earn", amount: 1_000, reason: "subtask", ref: "st-1" })
        .then([{ type: "credits.earned", data: { amount: 1_000, reason: "subtask", ref: "st-1" } }]);
    });

    it("adds the amount to what is available", () => {
      account([earned(1_000)])
        .when({ kind: "earn", amount: 250, reason: "subtask" })
        .thenState({ available: 1_250, held: {} });
    });
  });

  describe("spend", () => {
    it("records a spend covered by the available balance", () => {
      account([earned(1_000)])
        .when({ kind: "spend", amount: 400, reason: "task" })
        .then([{ type: "credits.spent", data: { amount: 400, reason: "task" } }]);
    });

    it("may spend the whole balance, leaving zero", () => {
      account([earned(1_000)])
        .when({ kind: "spend", amount: 1_000, reason: "task" })
        .thenState({ available: 0, held: {} });
    });

    it("refuses a spend beyond the available balance", () => {
      account([earned(1_000)])
        .when({ kind: "spend", amount: 1_001, reason: "task" })
        .thenThrows("insufficient_credits");
    });

    it("refuses a spend on an account that never earned", () => {
      account().when({ kind: "spend", amount: 1, reason: "task" }).thenThrows("insufficient_credits");
    });

    it("does not count held credits as available", () => {
      account([earned(1_000), held("h1", 600)])
        .when({ kind: "spend", amount: 500, reason: "task" })
        .thenThrows("insufficient_credits");
    });
  });

  describe("hold", () => {
    it("records a hold covered by the available balance", () => {
      account([earned(1_000)])
        .when({ kind: "hold", holdId: "h1", amount: 600, reason: "task submitted" })
        .then([held("h1", 600)]);
    });

    it("moves the held amount out of what is available", () => {
      account([earned(1_000)])
        .when({ kind: "hold", holdId: "h1", amount: 600, reason: "task submitted" })
        .thenState({ available: 400, held: { h1: 600 } });
    });

    it("refuses a second hold under an id that is still open", () => {
      account([earned(1_000), held("h1", 100)])
        .when({ kind: "hold", holdId: "h1", amount: 100, reason: "again" })
        .thenThrows("duplicate_hold");
    });

    it("accepts a hold id again once its earlier hold is released", () => {
      account([earned(1_000), held("h1", 100), released("h1", 100)])
        .when({ kind: "hold", holdId: "h1", amount: 300, reason: "again" })
        .thenState({ available: 700, held: { h1: 300 } });
    });

    it("refuses a hold beyond the available balance", () => {
      account([earned(1_000), held("h1", 600)])
        .when({ kind: "hold", holdId: "h2", amount: 401, reason: "task submitted" })
        .thenThrows("insufficient_credits");
    });
  });

  describe("spend from a hold", () => {
    it("records the spend against the hold", () => {
      account([earned(1_000), held("h1", 600)])
        .when({ kind: "spend", amount: 250, reason: "task done", holdId: "h1" })
        .then([{ type: "credits.spent", data: { amount: 250, reason: "task done", holdId: "h1" } }]);
    });

    it("a partial capture closes the hold and returns the rest to available", () => {
      account([earned(1_000), held("h1", 600)])
        .when({ kind: "spend", amount: 250, reason: "task done", holdId: "h1" })
        .thenState({ available: 750, held: {} });
    });

    it("a full capture closes the hold and leaves available untouched", () => {
      account([earned(1_000), held("h1", 600), held("h2", 100)])
        .when({ kind: "spend", amount: 600, reason: "task done", holdId: "h1" })
        .thenState({ available: 300, held: { h2: 100 } });
    });

    it("refuses to capture more than the hold reserves, even when available could cover it", () => {
      account([earned(5_000), held("h1", 600)])
        .when({ kind: "spend", amount: 601, reason: "task done", holdId: "h1" })
        .thenThrows("exceeds_hold");
    });

    it("refuses a spend from a hold that was never opened", () => {
      account([earned(1_000), held("h1", 600)])
        .when({ kind: "spend", amount: 1, reason: "task done", holdId: "h2" })
        .thenThrows("unknown_hold");
    });

    it("refuses a second capture of a hold already spent from", () => {
      account([earned(1_000), held("h1", 600), spent(100, "h1")])
        .when({ kind: "spend", amount: 100, reason: "task done", holdId: "h1" })
        .thenThrows("unknown_hold");
    });
  });

  describe("release", () => {
    it("releases the full held amount", () => {
      account([earned(1_000), held("h1", 600)])
        .when({ kind: "release", holdId: "h1" })
        .then([released("h1", 600)]);
    });

    it("returns the held amount to available and closes the hold", () => {
      account([earned(1_000), held("h1", 600), held("h2", 100)])
        .when({ kind: "release", holdId: "h1" })
        .thenState({ available: 900, held: { h2: 100 } });
    });

    it("refuses to release a hold that was never opened", () => {
      account([earned(1_000)]).when({ kind: "release", holdId: "h1" }).thenThrows("unknown_hold");
    });

    it("refuses to release a hold twice", () => {
      account([earned(1_000), held("h1", 600), released("h1", 600)])
        .when({ kind: "release", holdId: "h1" })
        .thenThrows("unknown_hold");
    });
  });

  describe("adjust", () => {
    it("records a positive adjustment and adds it to available", () => {
      account().when({ kind: "adjust", delta: 500, reason: "correction" }).then([adjusted(500)]);
      account().when({ kind: "adjust", delta: 500, reason: "correction" }).thenState({ available: 500, held: {} });
    });

    it("records a negative adjustment and takes it from available", () => {
      account([earned(1_000)]).when({ kind: "adjust", delta: -300, reason: "correction" }).then([adjusted(-300)]);
      account([earned(1_000)]).when({ kind: "adjust", delta: -300, reason: "correction" }).thenState({ available: 700, held: {} });
    });

    it("may bring the balance down to exactly zero", () => {
      account([earned(1_000)]).when({ kind: "adjust", delta: -1_000, reason: "correction" }).thenState({ available: 0, held: {} });
    });

    it("refuses an adjustment that would take the balance below zero", () => {
      account([earned(1_000)]).when({ kind: "adjust", delta: -1_001, reason: "correction" }).thenThrows("insufficient_credits");
    });

    it("does not let an adjustment reach into held credits", () => {
      account([earned(1_000), held("h1", 600)])
        .when({ kind: "adjust", delta: -500, reason: "correction" })
        .thenThrows("insufficient_credits");
    });
  });

  describe("overflow beyond Number.MAX_SAFE_INTEGER", () => {
    it("accepts an earn that reaches the largest exact amount", () => {
      account([earned(MAX - 1)])
        .when({ kind: "earn", amount: 1, reason: "subtask" })
        .thenState({ available: MAX, held: {} });
    });

    it("refuses an earn past the largest exact amount", () => {
      account([earned(MAX)]).when({ kind: "earn", amount: 1, reason: "subtask" }).thenThrows("balance_overflow");
    });

    it("refuses a positive adjustment past the largest exact amount", () => {
      account([earned(MAX)]).when({ kind: "adjust", delta: 1, reason: "correction" }).thenThrows("balance_overflow");
    });

    it("counts held credits, since a release returns them to the balance", () => {
      account([earned(MAX), held("h1", MAX)]).when({ kind: "earn", amount: 1, reason: "subtask" }).thenThrows("balance_overflow");
      account([earned(MAX), held("h1", 1)]).when({ kind: "adjust", delta: 1, reason: "correction" }).thenThrows("balance_overflow");
    });

    it("a release after holding everything gives back an exact balance", () => {
      account([earned(MAX), held("h1", MAX)])
        .when({ kind: "release", holdId: "h1" })
        .thenState({ available: MAX, held: {} });
    });
  });

  // Hold ids come from callers; the id syntax allows these names, and they must not find
  // Object.prototype's members where an open hold is looked up.
  describe("hold ids that name Object.prototype members", () => {
    for (const holdId of ["toString", "constructor", "__proto__", "valueOf", "hasOwnProperty"]) {
      it(`refuses spending from or releasing "${holdId}" when no such hold is open`, () => {
        account([earned(1_000)]).when({ kind: "spend", amount: 5, reason: "task", holdId }).thenThrows("unknown_hold");
        account([earned(1_000)]).when({ kind: "release", holdId }).thenThrows("unknown_hold");
      });

      it(`holds, captures and releases under "${holdId}" like any other id`, () => {
        account([earned(1_000)])
          .when({ kind: "hold", holdId, amount: 600, reason: "task submitted" })
          .then([held(holdId, 600)]);
        account([earned(1_000), held(holdId, 600)])
          .when({ kind: "spend", amount: 200, reason: "task done", holdId })
          .thenState({ available: 800, held: {} });
        account([earned(1_000), held(holdId, 600)])
          .when({ kind: "release", holdId })
          .then([released(holdId, 600)]);
      });
    }
  });
});

describe("folding a stored commit", () => {
  const decider = creditAccountDecider;

  it("applies every event of a commit that keeps the rules", () => {
    const result = foldCommit(decider, emptyAccount(), [earned(1_000), held("h1", 600), spent(100, "h1")]);
    expect(result).toEqual({ ok: true, state: { available: 900, held: {} } });
  });

  it("refuses the whole commit at the first event that breaks a rule", () => {
    const result = foldCommit(decider, emptyAccount(), [earned(1_000), spent(600), spent(600), earned(5)]);
    expect(result).toMatchObject({ ok: false, index: 2, code: "insufficient_credits" });
  });

  it("refuses a release whose amount differs from what the hold reserves", () => {
    const state = { available: 400, held: { h1: 600 } };
    expect(foldCommit(decider, state, [released("h1", 500)])).toMatchObject({ ok: false, index: 0, code: "release_mismatch" });
    expect(foldCommit(decider, state, [released("h1", 600)])).toEqual({ ok: true, state: { available: 1_000, held: {} } });
  });
});

describe("credit command validation", () => {
  const refusedAt = (candidate: unknown) => {
    const parsed = CreditCommand.safeParse(candidate);
    expect(parsed.success, `expected ${JSON.stringify(candidate)} to be refused`).toBe(false);
    return [...new Set(parsed.error?.issues.map((i) => i.path.join(".")))];
  };

  it("accepts one well-formed command of each kind", () => {
    for (const command of [
      { kind: "earn", amount: 1, reason: "r", ref: "x" },
      { kind: "spend", amount: MAX, reason: "r", holdId: "task-1:a.b_c" },
      { kind: "hold", holdId: "h", amount: 5, reason: "r" },
      { kind: "release", holdId: "h" },
      { kind: "adjust", delta: -MAX, reason: "r" },
    ]) {
      expect(CreditCommand.safeParse(command).success, JSON.stringify(command)).toBe(true);
    }
  });

  it.each([
    ["zero", 0],
    ["negative", -1],
    ["fractional", 1.5],
    ["beyond the largest exact integer", MAX + 1],
    ["not a number", "100"],
  ])("refuses an amount that is %s", (_what, amount) => {
    for (const kind of ["earn", "spend"]) expect(refusedAt({ kind, amount, reason: "r" })).toEqual(["amount"]);
    expect(refusedAt({ kind: "hold", holdId: "h", amount, reason: "r" })).toEqual(["amount"]);
  });

  it("refuses an adjustment of zero, a fractional one and one beyond the exact range", () => {
    expect(refusedAt({ kind: "adjust", delta: 0, reason: "r" })).toEqual(["delta"]);
    expect(refusedAt({ kind: "adjust", delta: 0.5, reason: "r" })).toEqual(["delta"]);
    expect(refusedAt({ kind: "adjust", delta: -MAX - 1, reason: "r" })).toEqual(["delta"]);
  });

  it("refuses a missing or empty reason", () => {
    expect(refusedAt({ kind: "earn", amount: 1 })).toEqual(["reason"]);
    expect(refusedAt({ kind: "earn", amount: 1, reason: "" })).toEqual(["reason"]);
  });

  it("refuses hold ids outside 1-128 chars of [A-Za-z0-9_.:-]", () => {
    expect(refusedAt({ kind: "release", holdId: "" })).toEqual(["holdId"]);
    expect(refusedAt({ kind: "release", holdId: "a b" })).toEqual(["holdId"]);
    expect(refusedAt({ kind: "release", holdId: "h".repeat(129) })).toEqual(["holdId"]);
    expect(CreditCommand.safeParse({ kind: "release", holdId: "h".repeat(128) }).success).toBe(true);
  });

  it("refuses an unknown kind", () => {
    expect(refusedAt({ kind: "gift", amount: 1, reason: "r" })).toEqual(["kind"]);
  });
});
