import type { CreditCommand } from "./commands.js";
import type { MovementCause } from "./events.js";
import { paidComputeMs, taskCost, workEarning, type ResourceClass } from "./workPricing.js";

/**
 * Credits for tasks as a pure process manager: given an event of the tasks stream and what its
 * runner read about it (the subtask's history, the agent's owner, the queue's pressure, the
 * task's request and its subtasks' histories), the credit movements it leads to. The runner
 * appends them; every rule is here.
 */

/** An event of a subtask's or task's history, as the runner read it back (admitted). */
export interface HistoryEvent {
  readonly type: string;
  readonly data: Record<string, unknown>;
  /** The envelope's time (ISO). */
  readonly time: string;
}

/** A credit command for one account, with the id that makes it idempotent. */
export interface CreditMove {
  readonly account: string;
  readonly command: CreditCommand;
  readonly commandId: string;
}

/** The hold a task's payer gives at submission; its settlement spends from it and releases the rest. */
export const taskHoldId = (taskId: string) => `task:${taskId}`;

/** What a subtask result says for pay: whose lease, done or failed, and how long the worker said it ran. */
export interface LeaseResult {
  readonly agentId: string;
  readonly leaseId: string;
  readonly ok: boolean;
  readonly reportedMs: number;
}

/**
 * The result events a worker is paid for: a result that counted unchecked (completed), a failure
 * it reported (failed), and a held report whose check passed (checkPassed, ok or a failure that
 * held). A report whose check failed earns nothing: it was not what the worker said.
 */
export function paidResult(event: HistoryEvent, history: readonly HistoryEvent[]): LeaseResult | undefined {
  const d = event.data as { agentId?: string; leaseId?: string; durationMs?: number; ok?: boolean };
  if (typeof d.agentId !== "string" || typeof d.leaseId !== "string") return undefined;
  switch (event.type) {
    case "subtask.completed":
      return { agentId: d.agentId, leaseId: d.leaseId, ok: true, reportedMs: d.durationMs ?? 0 };
    case "subtask.failed":
      return { agentId: d.agentId, leaseId: d.leaseId, ok: false, reportedMs: d.durationMs ?? 0 };
    case "subtask.checkPassed": {
      const report = history.find((e) => e.type === "subtask.reported" && e.data.leaseId === d.leaseId);
      return report ? { agentId: d.agentId, leaseId: d.leaseId, ok: d.ok === true, reportedMs: Number(report.data.durationMs ?? 0) } : undefined;
    }
    default:
      return undefined;
  }
}

/** The subtask's time limit and resource class (its queued event) and when a lease began. */
function subtaskTerms(history: readonly HistoryEvent[]): { timeoutMs: number; resourceClass: ResourceClass } | undefined {
  const queued = history.find((e) => e.type === "subtask.queued")?.data as { timeoutMs?: number; resourceClass?: ResourceClass } | undefined;
  return queued && typeof queued.timeoutMs === "number" ? { timeoutMs: queued.timeoutMs, resourceClass: queued.resourceClass ?? "cpu" } : undefined;
}

function leaseRanMs(history: readonly HistoryEvent[], leaseId: string, endedAt: string): number | undefined {
  const assigned = history.find((e) => e.type === "subtask.assigned" && e.data.leaseId === leaseId);
  if (!assigned) return undefined;
  const began = Date.parse(typeof assigned.data.assignedAt === "string" ? assigned.data.assignedAt : assigned.time);
  const ended = Date.parse(endedAt);
  return Number.isFinite(began) && Number.isFinite(ended) ? Math.max(0, ended - began) : undefined;
}

/** The compute a result is paid for, bounded by the subtask's limit and its lease's real time. */
export function resultComputeMs(result: LeaseResult, history: readonly HistoryEvent[], endedAt: string): number | undefined {
  const terms = subtaskTerms(history);
  return terms ? paidComputeMs(result.reportedMs, terms.timeoutMs, leaseRanMs(history, result.leaseId, endedAt)) : undefined;
}

export interface WorkPaymentFacts {
  /** The subtask's history up to and including the event. */
  readonly history: readonly HistoryEvent[];
  /** The account that owns the agent; undefined: the agent's own id is its account. */
  readonly owner: string | undefined;
  /** A blacklisted agent earns nothing from then on. */
  readonly blacklisted: boolean;
  /** Queued subtasks per active agent now (workPricing.pressureOf). */
  readonly pressure: number;
}

/** The earning of the agent's owner for a result event, or nothing. One per lease: its command id is the lease's. */
export function workPayment(event: HistoryEvent, subtaskId: string, cause: MovementCause, facts: WorkPaymentFacts): CreditMove[] {
  const result = paidResult(event, facts.history);
  if (!result || facts.blacklisted) return [];
  const terms = subtaskTerms(facts.history);
  const computeMs = resultComputeMs(result, facts.history, event.time);
  if (!terms || computeMs === undefined || computeMs === 0) return [];
  const earning = workEarning({ computeMs, resourceClass: terms.resourceClass, ok: result.ok, pressure: facts.pressure });
  const { amount, ...basis } = earning;
  return [
    {
      account: facts.owner ?? result.agentId,
      commandId: `earn:${result.leaseId}`,
      command: { kind: "earn", amount, reason: `${result.ok ? "result" : "failure"} of subtask ${subtaskId}`.slice(0, 200), ref: `lease:${result.leaseId}`, cause, basis },
    },
  ];
}

/** The lease whose result the task counted for a subtask: the last that counted, not refuted after it. */
export function acceptedComputeMs(history: readonly HistoryEvent[]): number {
  let accepted = 0;
  for (const e of history) {
    if (e.type === "subtask.refuted" || e.type === "subtask.resolved") accepted = 0;
    const counted = e.type === "subtask.completed" || (e.type === "subtask.checkPassed" && e.data.ok === true);
    if (!counted) continue;
    const result = paidResult(e, history);
    accepted = (result && resultComputeMs(result, history, e.time)) ?? 0;
  }
  return accepted;
}

export interface TaskSettlementFacts {
  /** Who pays: the task's submitter. */
  readonly payer: string;
  readonly resourceClass: ResourceClass;
  /** The model the task ran on (its requested one, or the node's). */
  readonly model: string | undefined;
  /** Each subtask's history, for the compute its accepted result is paid for. */
  readonly subtaskHistories: readonly (readonly HistoryEvent[])[];
  /** The coordinator's own account, which the model charge and the fee go to. */
  readonly coordinatorAccount: string;
}

/**
 * A task's end settles its hold: completed, its payer spends what the work cost (the compute of
 * each subtask's accepted result at the base rate, the model charge, the fee; never more than the
 * hold, the rest returns) and the coordinator earns the model charge and fee; failed, the whole
 * hold returns.
 */
export function taskSettlement(event: { type: string }, taskId: string, cause: MovementCause, facts: TaskSettlementFacts): CreditMove[] {
  const holdId = taskHoldId(taskId);
  if (event.type === "task.failed") return [{ account: facts.payer, commandId: `release:${taskId}`, command: { kind: "release", holdId, cause } }];
  if (event.type !== "task.completed") return [];
  const cost = taskCost({ computeMs: facts.subtaskHistories.map(acceptedComputeMs), resourceClass: facts.resourceClass, model: facts.model });
  return [
    { account: facts.payer, commandId: `settle:${taskId}`, command: { kind: "settle", holdId, cost: cost.total, reason: `task ${taskId} completed`.slice(0, 200), ref: `task:${taskId}`, cause } },
    {
      account: facts.coordinatorAccount,
      commandId: `fee:${taskId}`,
      command: { kind: "earn", amount: cost.model + cost.fee, reason: `model charge and fee of task ${taskId}`.slice(0, 200), ref: `task:${taskId}`, cause },
    },
  ];
}
