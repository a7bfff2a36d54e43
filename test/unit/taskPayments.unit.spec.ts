import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { creditAccountDecider } from "../../src/domain/credits/commands.js";
import { acceptedComputeMs, taskHoldId, taskSettlement, workPayment, type HistoryEvent } from "../../src/domain/credits/taskPayments.js";
import {
  coordinatorFee,
  loadMultiplier,
  modelBillions,
  modelCharge,
  paidComputeMs,
  pressureOf,
  qualityMultiplier,
  taskCost,
  taskHold,
  workEarning,
} from "../../src/domain/credits/workPricing.js";
import { MAX_SUBTASKS } from "../../src/domain/tasks/decomposition.js";

const at = (s: number) => new Date(Date.UTC(2026, 11, 4, 12, 0, s)).toISOString();
const queued = (timeoutMs = 10_000, resourceClass: "cpu" | "gpu" = "cpu"): HistoryEvent => ({ type: "subtask.queued", data: { taskId: "t1", index: 0, timeoutMs, resourceClass }, time: at(0) });
const assigned = (leaseId: string, s = 1): HistoryEvent => ({ type: "subtask.assigned", data: { agentId: "a1", leaseId, assignedAt: at(s) }, time: at(s) });
const completed = (leaseId: string, durationMs: number, s: number): HistoryEvent => ({ type: "subtask.completed", data: { agentId: "a1", leaseId, durationMs }, time: at(s) });
const cause = { subject: "ec.tasks.subtask.t1-0", eventId: "00000000-0000-4000-8000-000000000001" };
const calm = { owner: "owner1", blacklisted: false, pressure: 1 };

describe("what work earns", () => {
  it("given the seeds' multipliers: quality is clamped, 1.0 for a result and 0.6 for a failure; load follows queue pressure", () => {
    expect([qualityMultiplier(true), qualityMultiplier(false), qualityMultiplier(true, 9), qualityMultiplier(true, 0.1)]).toEqual([1, 0.6, 1.5, 0.5]);
    expect([0, 0.5, 0.6, 1, 1.5, 2, 2.1].map(loadMultiplier)).toEqual([0.8, 0.8, 1.0, 1.0, 1.25, 1.25, 1.6]);
    expect(pressureOf(4, 0)).toBe(2);
    expect(pressureOf(3, 6)).toBe(0.5);
  });

  it("pays seconds x base rate x quality x load in millicredits: 2 s of GPU at high load", () => {
    expect(workEarning({ computeMs: 2_000, resourceClass: "gpu", ok: true, pressure: 3 })).toEqual({ amount: 2_000 * 4 * 1.6, computeMs: 2_000, baseRate: 4, quality: 1, load: 1.6 });
  });

  it("never pays for more than the time limit or than the lease ran", () => {
    expect(paidComputeMs(3_600_000, 10_000, undefined)).toBe(10_000);
    expect(paidComputeMs(9_000, 10_000, 1_200)).toBe(1_200);
    expect(paidComputeMs(-5, 10_000, 1_200)).toBe(0);
  });

  it("reads a model's size from its name", () => {
    expect(["qwen2.5-coder:1.5b", "llama3:70b", "phi3:3.8b-mini", "qwen2.5", "mystery"].map(modelBillions)).toEqual([1.5, 70, 3.8, 1, 1]);
    expect([modelCharge("tiny:0.5b"), modelCharge("tiny:0.1b"), modelCharge("big:7b")]).toEqual([500, 500, 7_000]);
  });

  it("property: a fee is never lost to rounding and never more than one unit above the exact share", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e12 }), (amount) => {
      const fee = coordinatorFee(amount);
      expect(fee).toBeGreaterThanOrEqual((amount * 150) / 10_000);
      expect(fee).toBeLessThan((amount * 150) / 10_000 + 1);
    }));
  });

  it("property: no plan the decomposer can make costs more than the hold its task gave", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 60_000 }), { minLength: 1, maxLength: MAX_SUBTASKS }), fc.constantFrom("cpu" as const, "gpu" as const), fc.constantFrom("m:1.5b", "m:70b", "m"), (computeMs, resourceClass, model) => {
        expect(taskCost({ computeMs, resourceClass, model }).total).toBeLessThanOrEqual(taskHold({ resourceClass, model }));
      }),
    );
  });
});

describe("paying a worker for a result", () => {
  it("given a result that counted, when the flow reacts, then the agent's owner earns once per lease, naming the lease and the cause", () => {
    const history = [queued(), assigned("L1", 1), completed("L1", 1_500, 3)];
    const moves = workPayment(history[2]!, "t1-0", cause, { history, ...calm });
    expect(moves).toEqual([
      {
        account: "owner1",
        commandId: "earn:L1",
        command: { kind: "earn", amount: 1_500, reason: "result of subtask t1-0", ref: "lease:L1", cause, basis: { computeMs: 1_500, baseRate: 1, quality: 1, load: 1 } },
      },
    ]);
    // The earn is a command the account accepts.
    expect(creditAccountDecider.decide(moves[0]!.command, creditAccountDecider.initialState())).toHaveLength(1);
  });

  it("given an agent that names no owner, then its own id is the account", () => {
    const history = [queued(), assigned("L1", 1), completed("L1", 500, 2)];
    expect(workPayment(history[2]!, "t1-0", cause, { history, ...calm, owner: undefined })[0]?.account).toBe("a1");
  });

  it("given a worker claiming an hour for a lease of two seconds, then it is paid two seconds", () => {
    const history = [queued(600_000), assigned("L1", 1), completed("L1", 3_600_000, 3)];
    expect(workPayment(history[2]!, "t1-0", cause, { history, ...calm })[0]?.command).toMatchObject({ amount: 2_000 });
  });

  it("given a held report whose check passed, then it is paid for the reported time; a failed check earns nothing", () => {
    const reported: HistoryEvent = { type: "subtask.reported", data: { agentId: "a1", leaseId: "L1", ok: true, durationMs: 800 }, time: at(2) };
    const passed: HistoryEvent = { type: "subtask.checkPassed", data: { agentId: "a1", leaseId: "L1", ok: true }, time: at(4) };
    const failedCheck: HistoryEvent = { type: "subtask.checkFailed", data: { agentId: "a1", leaseId: "L1", reason: "differs" }, time: at(4) };
    const base = [queued(), assigned("L1", 1), reported];
    expect(workPayment(passed, "t1-0", cause, { history: [...base, passed], ...calm })[0]?.command).toMatchObject({ amount: 800 });
    expect(workPayment(failedCheck, "t1-0", cause, { history: [...base, failedCheck], ...calm })).toEqual([]);
  });

  it("given a reported failure, then it earns at quality 0.6", () => {
    const failed: HistoryEvent = { type: "subtask.failed", data: { agentId: "a1", leaseId: "L1", durationMs: 1_000, error: "x" }, time: at(3) };
    expect(workPayment(failed, "t1-0", cause, { history: [queued(), assigned("L1", 1), failed], ...calm })[0]?.command).toMatchObject({ amount: 600, reason: "failure of subtask t1-0" });
  });

  it("given a blacklisted agent, then nothing is paid", () => {
    const history = [queued(), assigned("L1", 1), completed("L1", 1_500, 3)];
    expect(workPayment(history[2]!, "t1-0", cause, { history, ...calm, blacklisted: true })).toEqual([]);
  });
});

describe("settling a task's hold", () => {
  const facts = (histories: HistoryEvent[][]) => ({ payer: "alice", resourceClass: "cpu" as const, model: "m:1.5b", subtaskHistories: histories, coordinatorAccount: "coordinator-x" });

  it("given a completed task, then its payer spends what its accepted results cost and the coordinator earns the model charge and fee", () => {
    const h0 = [queued(), assigned("L1", 1), completed("L1", 1_000, 2)];
    const h1 = [queued(), assigned("L2", 1), completed("L2", 2_000, 4)];
    const moves = taskSettlement({ type: "task.completed" }, "t1", cause, facts([h0, h1]));
    const cost = taskCost({ computeMs: [1_000, 2_000], resourceClass: "cpu", model: "m:1.5b" });
    expect(cost).toEqual({ compute: 3_000, model: 1_500, fee: 68, total: 4_568 });
    expect(moves).toEqual([
      { account: "alice", commandId: "settle:t1", command: { kind: "settle", holdId: taskHoldId("t1"), cost: 4_568, reason: "task t1 completed", ref: "task:t1", cause } },
      { account: "coordinator-x", commandId: "fee:t1", command: { kind: "earn", amount: 1_568, reason: "model charge and fee of task t1", ref: "task:t1", cause } },
    ]);
    // The payer's account spends exactly the cost from a hold that covers it; the rest returns.
    const held = creditAccountDecider.evolve({ available: 10_000, held: {} }, { type: "credits.held", data: { holdId: "task:t1", amount: 8_000, reason: "t" } });
    const [spent] = creditAccountDecider.decide(moves[0]!.command, held);
    expect(spent).toMatchObject({ type: "credits.spent", data: { amount: 4_568 } });
    expect(creditAccountDecider.evolve(held, spent!)).toEqual({ available: 10_000 - 4_568, held: {} });
  });

  it("given a failed task, then the whole hold returns", () => {
    expect(taskSettlement({ type: "task.failed" }, "t1", cause, facts([]))).toEqual([{ account: "alice", commandId: "release:t1", command: { kind: "release", holdId: "task:t1", cause } }]);
  });

  it("counts the result that counted last: a refuted one is not paid for by the payer, an escalation's answer costs no compute", () => {
    const refuted: HistoryEvent = { type: "subtask.refuted", data: { agentId: "a1", leaseId: "L1", reason: "no" }, time: at(5) };
    expect(acceptedComputeMs([queued(), assigned("L1", 1), completed("L1", 1_000, 2), refuted])).toBe(0);
    expect(acceptedComputeMs([queued(), assigned("L1", 1), completed("L1", 1_000, 2), refuted, assigned("L2", 6), completed("L2", 700, 7)])).toBe(700);
    expect(acceptedComputeMs([queued(), { type: "subtask.resolved", data: { via: "cloud" }, time: at(9) }])).toBe(0);
  });

  it("property: a settlement never spends more than the hold, whatever the results claimed", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000_000 }), { minLength: 1, maxLength: MAX_SUBTASKS }), (claims) => {
        const histories = claims.map((ms, i) => [queued(60_000), assigned(`L${i}`, 0), completed(`L${i}`, ms, 59)]);
        const hold = taskHold({ resourceClass: "cpu", model: "m:1.5b" });
        const account = creditAccountDecider.evolve({ available: hold, held: {} }, { type: "credits.held", data: { holdId: "task:t1", amount: hold, reason: "t" } });
        const [settle] = taskSettlement({ type: "task.completed" }, "t1", cause, facts(histories));
        const [spent] = creditAccountDecider.decide(settle!.command, account);
        const after = creditAccountDecider.evolve(account, spent!);
        expect(after.available).toBeGreaterThanOrEqual(0);
        expect(after.available + (spent!.data as { amount: number }).amount).toBe(hold);
      }),
    );
  });
});
