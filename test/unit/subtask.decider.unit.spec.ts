import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LEASE_TIMEOUT_FACTOR, leaseMsFor } from "../../src/domain/tasks/lease.js";
import { subtaskDecider } from "../../src/domain/tasks/subtask.js";
import type { SubtaskEvent } from "../../src/domain/tasks/subtaskEvents.js";
import { given } from "../support/decider.js";

const spec = { taskId: "t1", index: 0, input: "print(42)", language: "python" as const, timeoutMs: 5_000, priority: 50, resourceClass: "cpu" as const, sandboxRequired: true, maxAttempts: 2 };
const t0 = new Date("2026-11-23T10:00:00.000Z");
const at = (s: number) => new Date(t0.getTime() + s * 1000);
const queued: SubtaskEvent = { type: "subtask.queued", data: spec };
const assigned = (agentId: string, leaseId: string, attempt: number, startS = 0): SubtaskEvent => ({
  type: "subtask.assigned",
  data: { agentId, leaseId, leaseExpiresAt: at(startS + 30).toISOString(), attempt, assignedAt: at(startS).toISOString() },
});
const assign = (agentId: string, leaseId: string, s = 0) => ({ kind: "assign" as const, agentId, leaseId, leaseMs: 30_000, now: at(s) });
const report = (agentId: string, leaseId: string, s: number, ok: boolean) => ({
  kind: "report" as const, agentId, leaseId, now: at(s), ok, code: "print(42)", output: ok ? "42\n" : "", stderr: ok ? "" : "Traceback", durationMs: 120,
});

describe("subtask lifecycle", () => {
  it("queues once", () => {
    given(subtaskDecider).when({ kind: "queue", spec }).then([queued]);
    given(subtaskDecider, [queued]).when({ kind: "queue", spec }).thenThrows("already_queued");
  });

  it("assigns a queued subtask under a lease", () => {
    given(subtaskDecider, [queued]).when(assign("a1", "L1")).then([assigned("a1", "L1", 1)]);
  });

  it("refuses a second assignment while the lease lives", () => {
    given(subtaskDecider, [queued, assigned("a1", "L1", 1)]).when(assign("a2", "L2", 10)).thenThrows("already_assigned");
  });

  it("reassigns after the lease expired, recording the expiry", () => {
    given(subtaskDecider, [queued, assigned("a1", "L1", 1)])
      .when(assign("a2", "L2", 31))
      .then([{ type: "subtask.leaseExpired", data: { agentId: "a1", leaseId: "L1" } }, assigned("a2", "L2", 2, 31)]);
  });

  it("completes with the result of the lease holder", () => {
    given(subtaskDecider, [queued, assigned("a1", "L1", 1)])
      .when(report("a1", "L1", 5, true))
      .then([{ type: "subtask.completed", data: { agentId: "a1", leaseId: "L1", code: "print(42)", output: "42\n", stderr: "", durationMs: 120 } }]);
  });

  it("refuses a result for someone else's lease, or after the lease", () => {
    const history = [queued, assigned("a1", "L1", 1)];
    given(subtaskDecider, history).when(report("a2", "L1", 5, true)).thenThrows("not_your_lease");
    given(subtaskDecider, history).when(report("a1", "L9", 5, true)).thenThrows("not_your_lease");
    given(subtaskDecider, history).when(report("a1", "L1", 31, true)).thenThrows("lease_expired");
    given(subtaskDecider, [queued]).when(report("a1", "L1", 5, true)).thenThrows("not_assigned");
  });

  it("takes the lease back from a blacklisted agent, without counting its try, and ignores a revocation for anyone else", () => {
    const revoked: SubtaskEvent = { type: "subtask.leaseRevoked", data: { agentId: "a1", leaseId: "L1", reason: "blacklisted" } };
    given(subtaskDecider, [queued, assigned("a1", "L1", 1)]).when({ kind: "revokeLease", agentId: "a1", reason: "blacklisted" }).then([revoked]);
    given(subtaskDecider, [queued, assigned("a1", "L1", 1)])
      .when({ kind: "revokeLease", agentId: "a1", reason: "blacklisted" })
      .thenState({ status: "queued", spec, attempts: 0 });
    given(subtaskDecider, [queued, assigned("a1", "L1", 1)]).when({ kind: "revokeLease", agentId: "a2", reason: "blacklisted" }).then([]);
    given(subtaskDecider, [queued]).when({ kind: "revokeLease", agentId: "a1", reason: "blacklisted" }).then([]);
    // Its late report is not taken: the lease is gone.
    given(subtaskDecider, [queued, assigned("a1", "L1", 1), revoked]).when(report("a1", "L1", 5, true)).thenThrows("not_assigned");
    // The next agent's try is the first one.
    given(subtaskDecider, [queued, assigned("a1", "L1", 1), revoked]).when(assign("a2", "L2", 6)).then([assigned("a2", "L2", 1, 6)]);
  });

  it("refuses a duration longer than the lease has lasted: it is a claim, and it will be paid for", () => {
    const history = [queued, assigned("a1", "L1", 1)];
    given(subtaskDecider, history).when({ ...report("a1", "L1", 5, true), durationMs: 7_001 }).thenThrows("duration_impossible");
    // Within the clocks' slack it is taken.
    given(subtaskDecider, history)
      .when({ ...report("a1", "L1", 5, true), durationMs: 7_000 })
      .then([{ type: "subtask.completed", data: { agentId: "a1", leaseId: "L1", code: "print(42)", output: "42\n", stderr: "", durationMs: 7_000 } }]);
  });

  it("a completed subtask is completed exactly once", () => {
    const done: SubtaskEvent = { type: "subtask.completed", data: { agentId: "a1", leaseId: "L1", output: "42\n", stderr: "", durationMs: 1 } };
    given(subtaskDecider, [queued, assigned("a1", "L1", 1), done]).when(report("a1", "L1", 6, true)).thenThrows("not_assigned");
    given(subtaskDecider, [queued, assigned("a1", "L1", 1), done]).when(assign("a2", "L2", 40)).thenThrows("not_queued");
  });

  it("a failed try goes back to the queue while tries remain", () => {
    given(subtaskDecider, [queued, assigned("a1", "L1", 1)])
      .when(report("a1", "L1", 5, false))
      .thenState({ status: "queued", spec, attempts: 1, triedBy: ["a1"] });
  });

  it("the last failed try escalates", () => {
    const history = [queued, assigned("a1", "L1", 1), { type: "subtask.failed", data: { agentId: "a1", leaseId: "L1", error: "x", durationMs: 1 } } as SubtaskEvent, assigned("a2", "L2", 2)];
    given(subtaskDecider, history)
      .when(report("a2", "L2", 5, false))
      .then([
        { type: "subtask.failed", data: { agentId: "a2", leaseId: "L2", code: "print(42)", error: "Traceback", durationMs: 120 } },
        { type: "subtask.escalated", data: { reason: "failed after 2 tries", attempts: 2 } },
      ]);
  });

  it("a reaper expires a dead lease, and does nothing to a live one", () => {
    const history = [queued, assigned("a1", "L1", 1)];
    given(subtaskDecider, history).when({ kind: "expireLease", now: at(29) }).then([]);
    given(subtaskDecider, history)
      .when({ kind: "expireLease", now: at(31) })
      .then([{ type: "subtask.leaseExpired", data: { agentId: "a1", leaseId: "L1" } }]);
    given(subtaskDecider, history).when({ kind: "expireLease", now: at(31) }).thenState({ status: "queued", spec, attempts: 1, triedBy: ["a1"] });
  });

  it("a reaper expires the lease of an agent that stopped beating, even before its end", () => {
    const history = [queued, assigned("a1", "L1", 1)];
    given(subtaskDecider, history)
      .when({ kind: "expireLease", now: at(5), agentGone: true })
      .then([{ type: "subtask.leaseExpired", data: { agentId: "a1", leaseId: "L1" } }]);
  });

  it("code outside the language subset is escalated at once, without more local tries", () => {
    given(subtaskDecider, [queued, assigned("a1", "L1", 1)])
      .when({ ...report("a1", "L1", 5, false), stderr: "outside_subset: import is not allowed" })
      .then([
        { type: "subtask.failed", data: { agentId: "a1", leaseId: "L1", code: "print(42)", error: "outside_subset: import is not allowed", durationMs: 120 } },
        { type: "subtask.escalated", data: { reason: "outside_subset", attempts: 1 } },
      ]);
  });
});

describe("the escalation waterfall of a subtask", () => {
  const escalated: SubtaskEvent[] = [queued, { type: "subtask.escalated", data: { reason: "failed after 2 tries", attempts: 2 } }];
  const tried = (via: "inference" | "parent" | "cloud"): SubtaskEvent => ({ type: "subtask.escalationTried", data: { via, reason: "still fails", code: "x" } });

  it("records each step that did not help, once", () => {
    given(subtaskDecider, escalated)
      .when({ kind: "recordEscalationTry", via: "inference", reason: "still fails", code: "x" })
      .then([tried("inference")]);
    given(subtaskDecider, [...escalated, tried("inference")])
      .when({ kind: "recordEscalationTry", via: "inference", reason: "again", code: "x" })
      .thenThrows("already_tried");
  });

  it("a step that produced working code resolves the subtask", () => {
    given(subtaskDecider, [...escalated, tried("inference")])
      .when({ kind: "resolve", via: "parent", by: "https://parent.example", code: "print(42)", output: "42\n" })
      .thenState({ status: "resolved", spec, attempts: 2, via: "parent", by: "https://parent.example", result: { code: "print(42)", output: "42\n", stderr: "" } });
  });

  it("last, a person: only they resolve or abandon it", () => {
    const waiting = [...escalated, { type: "subtask.awaitingHuman", data: { reason: "no step helped" } } as SubtaskEvent];
    given(subtaskDecider, escalated).when({ kind: "awaitHuman", reason: "no step helped" }).thenState({ status: "awaitingHuman", spec, attempts: 2, tried: [], reason: "no step helped" });
    given(subtaskDecider, waiting).when({ kind: "resolve", via: "cloud", by: "x", code: "", output: "" }).thenThrows("not_escalated");
    given(subtaskDecider, waiting)
      .when({ kind: "resolve", via: "human", by: "admin", code: "print(42)", output: "42\n" })
      .thenState({ status: "resolved", spec, attempts: 2, via: "human", by: "admin", result: { code: "print(42)", output: "42\n", stderr: "" } });
    given(subtaskDecider, waiting).when({ kind: "abandon", by: "admin", reason: "not worth it" }).thenState({ status: "abandoned", spec, attempts: 2, reason: "not worth it" });
    given(subtaskDecider, escalated).when({ kind: "abandon", by: "admin", reason: "no" }).thenThrows("not_awaiting_human");
    given(subtaskDecider, escalated).when({ kind: "resolve", via: "human", by: "admin", code: "", output: "" }).thenThrows("not_awaiting_human");
  });

  it("nothing escalates a subtask that is not escalated", () => {
    given(subtaskDecider, [queued]).when({ kind: "recordEscalationTry", via: "cloud", reason: "x" }).thenThrows("not_escalated");
    given(subtaskDecider, [queued]).when({ kind: "awaitHuman", reason: "x" }).thenThrows("not_escalated");
  });
});

describe("the lease a subtask is assigned with", () => {
  it("is the configured least lease for a short subtask, three times the timeout for a long one", () => {
    expect(leaseMsFor(120_000, 5_000)).toBe(120_000);
    expect(leaseMsFor(120_000, 60_000)).toBe(180_000);
    expect(leaseMsFor(1_000, 2_000)).toBe(6_000);
  });

  it("given any settings, never ends before the subtask could have been generated, run and reported, nor before the least lease", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1_000, max: 24 * 3600_000 }), fc.integer({ min: 250, max: 600_000 }), (least, timeout) => {
        const lease = leaseMsFor(least, timeout);
        expect(lease).toBeGreaterThanOrEqual(least);
        expect(lease).toBeGreaterThanOrEqual(LEASE_TIMEOUT_FACTOR * timeout);
        expect(lease === least || lease === LEASE_TIMEOUT_FACTOR * timeout).toBe(true);
      }),
    );
  });
});

describe("a result checked before it counts", () => {
  const history = [queued, assigned("a1", "L1", 1)];
  const held = { agentId: "a1", leaseId: "L1", ok: true, code: "print(42)", output: "42\n", stderr: "", durationMs: 120 };
  const reported: SubtaskEvent = { type: "subtask.reported", data: held };
  const checking = [...history, reported];

  it("is held, not completed, when the policy says check", () => {
    given(subtaskDecider, history).when({ ...report("a1", "L1", 5, true), check: true }).then([reported]);
    given(subtaskDecider, history)
      .when({ ...report("a1", "L1", 5, true), check: true })
      .thenState({ status: "checking", spec, attempts: 1, report: held });
  });

  it("counts, marked checked, when the check saw the same", () => {
    given(subtaskDecider, checking).when({ kind: "passCheck", agentId: "a1", leaseId: "L1" }).then([{ type: "subtask.checkPassed", data: { agentId: "a1", leaseId: "L1", ok: true } }]);
    given(subtaskDecider, checking)
      .when({ kind: "passCheck", agentId: "a1", leaseId: "L1" })
      .thenState({ status: "completed", spec, attempts: 1, agentId: "a1", leaseId: "L1", result: { code: "print(42)", output: "42\n", stderr: "" }, checked: true });
  });

  it("is refused when the check did not see it, and the subtask goes to someone else as a failed try", () => {
    const failed: SubtaskEvent = { type: "subtask.checkFailed", data: { agentId: "a1", leaseId: "L1", reason: "output differs" } };
    given(subtaskDecider, checking).when({ kind: "failCheck", agentId: "a1", leaseId: "L1", reason: "output differs" }).then([failed]);
    given(subtaskDecider, checking)
      .when({ kind: "failCheck", agentId: "a1", leaseId: "L1", reason: "output differs" })
      .thenState({ status: "queued", spec, attempts: 1, triedBy: ["a1"] });
    // On the last try it escalates instead.
    const last = [queued, assigned("a1", "L1", 1), { type: "subtask.failed", data: { agentId: "a1", leaseId: "L1", error: "x", durationMs: 1 } } as SubtaskEvent, assigned("a2", "L2", 2, 40)];
    given(subtaskDecider, [...last, { type: "subtask.reported", data: { ...held, agentId: "a2", leaseId: "L2" } } as SubtaskEvent])
      .when({ kind: "failCheck", agentId: "a2", leaseId: "L2", reason: "does not run" })
      .then([
        { type: "subtask.checkFailed", data: { agentId: "a2", leaseId: "L2", reason: "does not run" } },
        { type: "subtask.escalated", data: { reason: "result refused by its check after 2 tries", attempts: 2 } },
      ]);
  });

  it("takes one verdict per report: a second, or one for another report, is refused", () => {
    const passed: SubtaskEvent = { type: "subtask.checkPassed", data: { agentId: "a1", leaseId: "L1", ok: true } };
    given(subtaskDecider, [...checking, passed]).when({ kind: "passCheck", agentId: "a1", leaseId: "L1" }).thenThrows("not_checking");
    given(subtaskDecider, [...checking, passed]).when({ kind: "failCheck", agentId: "a1", leaseId: "L1", reason: "x" }).thenThrows("not_checking");
    given(subtaskDecider, checking).when({ kind: "passCheck", agentId: "a2", leaseId: "L1" }).thenThrows("not_that_report");
    // Nor can the agent report again while it is checked, or anyone be assigned it.
    given(subtaskDecider, checking).when(report("a1", "L1", 6, true)).thenThrows("not_assigned");
    given(subtaskDecider, checking).when(assign("a2", "L2", 40)).thenThrows("not_queued");
  });

  it("checks a claim that the code is outside the subset before it escalates", () => {
    const claim = { ...report("a1", "L1", 5, false), stderr: "outside_subset: import", check: true };
    const heldClaim: SubtaskEvent = { type: "subtask.reported", data: { ...held, ok: false, output: "", stderr: "outside_subset: import" } };
    given(subtaskDecider, history).when(claim).then([heldClaim]);
    given(subtaskDecider, [...history, heldClaim])
      .when({ kind: "passCheck", agentId: "a1", leaseId: "L1" })
      .then([{ type: "subtask.checkPassed", data: { agentId: "a1", leaseId: "L1", ok: false } }, { type: "subtask.escalated", data: { reason: "outside_subset", attempts: 1 } }]);
    given(subtaskDecider, [...history, heldClaim])
      .when({ kind: "failCheck", agentId: "a1", leaseId: "L1", reason: "the code is inside the subset" })
      .thenState({ status: "queued", spec, attempts: 1, triedBy: ["a1"] });
    // An ordinary failure is not held: it only costs a try.
    given(subtaskDecider, history)
      .when({ ...report("a1", "L1", 5, false), check: true })
      .then([{ type: "subtask.failed", data: { agentId: "a1", leaseId: "L1", code: "print(42)", error: "Traceback", durationMs: 120 } }]);
  });

  it("a result taken unchecked is refuted by a later check: the subtask is done again", () => {
    const done: SubtaskEvent = { type: "subtask.completed", data: { agentId: "a1", leaseId: "L1", code: "print(42)", output: "41\n", stderr: "", durationMs: 1 } };
    const refuted: SubtaskEvent = { type: "subtask.refuted", data: { agentId: "a1", leaseId: "L1", reason: "output differs" } };
    given(subtaskDecider, [...history, done]).when({ kind: "refute", agentId: "a1", leaseId: "L1", reason: "output differs" }).then([refuted]);
    given(subtaskDecider, [...history, done])
      .when({ kind: "refute", agentId: "a1", leaseId: "L1", reason: "output differs" })
      .thenState({ status: "queued", spec, attempts: 1, triedBy: ["a1"] });
    given(subtaskDecider, [...history, done, refuted]).when({ kind: "refute", agentId: "a1", leaseId: "L1", reason: "again" }).thenThrows("not_refutable");
    given(subtaskDecider, [...history, done]).when({ kind: "refute", agentId: "a2", leaseId: "L1", reason: "x" }).thenThrows("not_that_result");
    // A checked result stands.
    given(subtaskDecider, [...checking, { type: "subtask.checkPassed", data: { agentId: "a1", leaseId: "L1", ok: true } } as SubtaskEvent])
      .when({ kind: "refute", agentId: "a1", leaseId: "L1", reason: "x" })
      .thenThrows("not_refutable");
  });
});
