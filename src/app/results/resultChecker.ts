import type { NatsConnection } from "@nats-io/transport-node";
import type { SignatureVerifier } from "../../adapters/crypto/verificationPool.js";
import { admitAll } from "../../adapters/events/admission.js";
import type { CommandMeta, HandledCommand } from "../../adapters/events/commandHandler.js";
import { startReactor, type Reactor } from "../../adapters/events/reactor.js";
import { limitsForTimeout, type Sandbox } from "../../adapters/executor/sandbox.js";
import { DomainRuleViolation } from "../../domain/decider.js";
import { aggregateIdOf } from "../../domain/events/envelope.js";
import { eventRegistry } from "../../domain/events/registry.js";
import type { Language } from "../../domain/tasks/decomposition.js";
import { judgeSubsetClaim, judgeSuccessClaim, type CheckVerdict } from "../../domain/tasks/resultCheck.js";
import { subtaskSubject, type Subtask, type SubtaskCommand } from "../../domain/tasks/subtask.js";
import { subtaskEventSpecs } from "../../domain/tasks/subtaskEvents.js";
import type { SubsetCheck } from "../../domain/tasks/subset.js";
import type { SubtaskSpec } from "../../domain/tasks/subtaskEvents.js";
import type { Db } from "../../projections/keyset.js";
import { systemClock } from "../clock.js";
import { uncheckedResultsOf } from "../../projections/tasks/queries.js";

export const RESULT_CHECKER_CONSUMER = "ec-result-checker";
/** How many of a caught agent's latest unchecked results are checked again. */
export const RECHECKED_AFTER_FAILURE = 20;

type HandleSubtask = ((subject: string, command: SubtaskCommand, meta: CommandMeta) => Promise<HandledCommand>) & { read(subject: string): Promise<Subtask> };

/** One checked result, for the agent's record (its reliability): passed or not, and why not. */
export interface CheckOutcome {
  readonly agentId: string;
  readonly subtaskId: string;
  readonly leaseId: string;
  readonly ok: boolean;
  readonly reason?: string;
}

export interface ResultCheckerOptions {
  readonly nc: NatsConnection;
  readonly pool: Db;
  readonly handleSubtask: HandleSubtask;
  /** Records a check on its agent (idempotent per subtask and lease). */
  readonly recordCheck: (outcome: CheckOutcome) => Promise<void>;
  readonly sandbox: Sandbox;
  readonly checkSubset: (language: Language, code: string) => Promise<SubsetCheck>;
  readonly verifier?: SignatureVerifier;
  /** Checks run at once: each is a program in the sandbox. */
  readonly concurrency?: number;
  readonly log?: (line: string) => void;
  /** The clock its commands are stamped with (default: the wall clock). */
  readonly now?: () => Date;
  readonly onError?: (err: unknown) => void;
}

/** Runs the claimed code here, as its worker's sandbox would have, and judges the claim. */
export async function checkClaim(
  spec: Pick<SubtaskSpec, "language" | "timeoutMs">,
  claim: { ok: boolean; code: string; output: string },
  deps: Pick<ResultCheckerOptions, "sandbox" | "checkSubset">,
): Promise<Exclude<CheckVerdict, { verdict: "runAgain" }>> {
  if (!claim.ok) return judgeSubsetClaim(await deps.checkSubset(spec.language, claim.code)) as Exclude<CheckVerdict, { verdict: "runAgain" }>;
  const limits = limitsForTimeout(spec.timeoutMs);
  const first = await deps.sandbox.run(spec.language, claim.code, limits);
  const verdict = judgeSuccessClaim(claim.output, first);
  if (verdict.verdict !== "runAgain") return verdict;
  const second = await deps.sandbox.run(spec.language, claim.code, limits);
  return judgeSuccessClaim(claim.output, first, second) as Exclude<CheckVerdict, { verdict: "runAgain" }>;
}

/** A verdict already given (a redelivery, another coordinator's checker): nothing left to do. */
const DONE = new Set(["not_checking", "not_that_report", "not_refutable", "not_that_result"]);

/**
 * The result checker, a process manager on a durable consumer shared by every node: a held
 * report (subtask.reported) is checked by running its code in this node's sandbox, the verdict
 * is recorded on the agent and on the subtask, and an agent caught once has its latest
 * unchecked results checked again, refuting those that do not hold.
 */
export async function startResultChecker(opts: ResultCheckerOptions): Promise<Reactor> {
  const registry = eventRegistry(...subtaskEventSpecs);
  const log = opts.log ?? (() => undefined);
  const now = opts.now ?? systemClock;

  async function settle(run: () => Promise<unknown>) {
    try {
      await run();
    } catch (err) {
      if (!(err instanceof DomainRuleViolation && DONE.has(err.code))) throw err;
    }
  }

  async function recheckRecent(agentId: string): Promise<void> {
    for (const { subtaskId, state } of await uncheckedResultsOf(opts.pool, agentId, RECHECKED_AFTER_FAILURE)) {
      if (state.status !== "completed" || !state.result || !state.leaseId) continue;
      const verdict = await checkClaim(state.spec, { ok: true, code: state.result.code, output: state.result.output }, opts);
      if (verdict.verdict === "inconclusive") continue;
      const leaseId = state.leaseId;
      await opts.recordCheck({ agentId, subtaskId, leaseId, ok: verdict.verdict === "passed", ...(verdict.verdict === "failed" ? { reason: verdict.reason } : {}) });
      if (verdict.verdict === "failed") {
        log(`result checker: ${subtaskId} of ${agentId} refuted on a second look: ${verdict.reason}`);
        await settle(() => opts.handleSubtask(subtaskSubject(subtaskId), { kind: "refute", agentId, leaseId, reason: verdict.reason }, { commandId: `refute:${leaseId}`, now: now() }));
      }
    }
  }

  async function react(stream: string, seq: number, subject: string, data: Uint8Array): Promise<void> {
    const [check] = await admitAll([{ stream, seq, subject, data }], registry, opts.verifier);
    if (!check?.ok || !check.events.some((e) => e.type === "subtask.reported")) return;
    const state = await opts.handleSubtask.read(subject);
    if (state.status !== "checking") return;
    const { report, spec } = state;
    const subtaskId = aggregateIdOf(subject);
    const verdict = await checkClaim(spec, report, opts);
    const ok = verdict.verdict !== "failed";
    // The agent's record first: a crash between the two writes re-runs the check, both idempotent.
    if (verdict.verdict !== "inconclusive") {
      await opts.recordCheck({ agentId: report.agentId, subtaskId, leaseId: report.leaseId, ok, ...(verdict.verdict === "failed" ? { reason: verdict.reason } : {}) });
    }
    const meta = { commandId: `verdict:${report.leaseId}`, now: now() };
    const command: SubtaskCommand = ok
      ? { kind: "passCheck", agentId: report.agentId, leaseId: report.leaseId, ...(verdict.verdict === "inconclusive" ? { note: verdict.reason } : {}) }
      : { kind: "failCheck", agentId: report.agentId, leaseId: report.leaseId, reason: (verdict as { reason: string }).reason };
    await settle(() => opts.handleSubtask(subject, command, meta));
    if (verdict.verdict === "failed") {
      log(`result checker: ${subtaskId} of ${report.agentId} refused: ${verdict.reason}`);
      await recheckRecent(report.agentId);
    }
  }

  return startReactor({
    nc: opts.nc,
    stream: "EC_TASKS",
    durable: RESULT_CHECKER_CONSUMER,
    concurrency: opts.concurrency ?? 2,
    react: (m) => react(m.stream, m.seq, m.subject, m.data),
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
}
