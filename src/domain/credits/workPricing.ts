import { MAX_SUBTASKS } from "../tasks/decomposition.js";

/**
 * What work costs and earns, in integer millicredits (1 credit = 1000). The numbers are the
 * seeds' (../shared/REFERENCE.md, "Economy numbers"); docs/economy.md gives each with its reason.
 */

export type ResourceClass = "cpu" | "gpu";

export const MILLI = 1000;

/** Credits per second of compute before multipliers. */
export const BASE_RATE_PER_SECOND: Readonly<Record<ResourceClass, number>> = { cpu: 1.0, gpu: 4.0 };

/** The coordinator's fee on what a task costs, in basis points. */
export const COORDINATOR_FEE_BPS = 150;

/** The longest time limit the decomposer gives a subtask (src/domain/tasks/decomposition.ts). */
export const LONGEST_SUBTASK_MS = 60_000;

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/** clamp(score, 0.5, 1.5); the score is 1.0 for a result that counted and 0.6 for a failure. */
export function qualityMultiplier(ok: boolean, score?: number): number {
  return clamp(score ?? (ok ? 1.0 : 0.6), 0.5, 1.5);
}

/** Queue pressure (queued subtasks per active agent; 2 with no agents) to the load multiplier. */
export function pressureOf(queued: number, agents: number): number {
  return agents > 0 ? queued / agents : 2;
}

export function loadMultiplier(pressure: number): number {
  if (pressure <= 0.5) return 0.8;
  if (pressure <= 1) return 1.0;
  if (pressure <= 2) return 1.25;
  return 1.6;
}

/**
 * The seconds of compute a result is paid for: what the worker reported, but never more than the
 * subtask's time limit nor than the time its lease actually ran (a worker cannot claim an hour
 * for a lease it held for a second).
 */
export function paidComputeMs(reportedMs: number, timeoutMs: number, leaseRanMs: number | undefined): number {
  const bound = Math.min(timeoutMs, leaseRanMs ?? timeoutMs);
  return Math.max(0, Math.min(Math.floor(reportedMs), Math.floor(bound)));
}

export interface WorkEarning {
  readonly amount: number;
  readonly computeMs: number;
  readonly baseRate: number;
  readonly quality: number;
  readonly load: number;
}

/** What the agent's owner earns for one result: seconds x base rate x quality x load, rounded down, at least 1 millicredit. */
export function workEarning(input: { computeMs: number; resourceClass: ResourceClass; ok: boolean; score?: number; pressure: number }): WorkEarning {
  const baseRate = BASE_RATE_PER_SECOND[input.resourceClass];
  const quality = qualityMultiplier(input.ok, input.score);
  const load = loadMultiplier(input.pressure);
  // computeMs x credits/s is millicredits already (ms x 1/1000 s x 1000 millicredits).
  const amount = Math.max(1, Math.floor(input.computeMs * baseRate * quality * load));
  return { amount, computeMs: input.computeMs, baseRate, quality, load };
}

/**
 * The model's size in billions of parameters, from its name as Ollama spells sizes
 * (qwen2.5-coder:1.5b, llama3:70b, phi3:3.8b-mini); 1 when the name says none.
 */
export function modelBillions(model: string | undefined): number {
  const m = /(?:^|[:\-_])(\d+(?:\.\d+)?)b(?![a-z])/i.exec(model ?? "");
  const b = m ? Number(m[1]) : NaN;
  return Number.isFinite(b) && b > 0 ? b : 1;
}

/** The per-task charge for the coordinator's model (decomposition, checks): max(0.5, billions) credits. */
export function modelCharge(model: string | undefined): number {
  return Math.round(Math.max(0.5, modelBillions(model)) * MILLI);
}

/** The coordinator's fee on an amount, rounded up: a fee is never lost to rounding. */
export function coordinatorFee(amount: number): number {
  return Math.ceil((amount * COORDINATOR_FEE_BPS) / 10_000);
}

/** What a task's work costs its payer: the compute at the base rate (no multipliers), the model charge and the fee on both. */
export function taskCost(input: { computeMs: readonly number[]; resourceClass: ResourceClass; model: string | undefined }): { compute: number; model: number; fee: number; total: number } {
  const rate = BASE_RATE_PER_SECOND[input.resourceClass];
  const compute = input.computeMs.reduce((sum, ms) => sum + Math.ceil(ms * rate), 0);
  const model = modelCharge(input.model);
  const fee = coordinatorFee(compute + model);
  return { compute, model, fee, total: compute + model + fee };
}

/**
 * What submitting a task holds: the most its work can cost, the largest plan the decomposer can
 * make (MAX_SUBTASKS subtasks, each at the longest time limit it gives). The plan is not known
 * yet at submission, and a hold too small would leave work nobody pays for; the unused part
 * returns when the task ends.
 */
export function taskHold(input: { resourceClass: ResourceClass; model: string | undefined }): number {
  return taskCost({ computeMs: Array.from({ length: MAX_SUBTASKS }, () => LONGEST_SUBTASK_MS), ...input }).total;
}
