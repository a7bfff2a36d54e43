import { z } from "zod";
import { AggregateId, subjectOf } from "../events/envelope.js";
import { assertNever, DomainRuleViolation, requireRules, type Decider, type RuleBreak } from "../decider.js";
import { EscalationStep, SubtaskSpec, type SubtaskEvent } from "./subtaskEvents.js";

interface Lease {
  readonly leaseId: string;
  readonly agentId: string;
  readonly expiresAt: string;
  readonly assignedAt?: string;
}

/**
 * How far a worker's clock may run ahead of the coordinator's: a reported duration may exceed
 * the time the coordinator saw pass between the lease and the report by this much, no more.
 */
export const DURATION_SLACK_MS = 2_000;

/** What a finished subtask produced: the code that ran and what it printed. */
export interface SubtaskResult {
  readonly code: string;
  readonly output: string;
  readonly stderr: string;
}

/** A worker's report held while this coordinator checks it. */
export interface HeldReport extends SubtaskResult {
  readonly agentId: string;
  readonly leaseId: string;
  readonly ok: boolean;
  readonly durationMs: number;
}

/**
 * A subtask's life: queued, assigned to one agent under a lease, its result checked (or taken
 * on trust by the sampling policy), then done or escalated. `triedBy` names the agents whose
 * tries ended without a result, so the next try goes to someone else first.
 */
export type Subtask =
  | { readonly status: "none" }
  | { readonly status: "queued"; readonly spec: SubtaskSpec; readonly attempts: number; readonly triedBy?: readonly string[] }
  | { readonly status: "assigned"; readonly spec: SubtaskSpec; readonly attempts: number; readonly lease: Lease; readonly triedBy?: readonly string[] }
  | { readonly status: "checking"; readonly spec: SubtaskSpec; readonly attempts: number; readonly report: HeldReport; readonly triedBy?: readonly string[] }
  | {
      readonly status: "completed";
      readonly spec: SubtaskSpec;
      readonly attempts: number;
      readonly agentId: string;
      /** Absent in states folded before results were kept on the subtask. */
      readonly leaseId?: string;
      readonly result?: SubtaskResult;
      /** Whether this coordinator ran the code and saw the reported output. */
      readonly checked?: boolean;
      readonly triedBy?: readonly string[];
    }
  | { readonly status: "escalated"; readonly spec: SubtaskSpec; readonly attempts: number; readonly tried: readonly EscalationStep[] }
  | { readonly status: "awaitingHuman"; readonly spec: SubtaskSpec; readonly attempts: number; readonly tried: readonly EscalationStep[]; readonly reason: string }
  | { readonly status: "resolved"; readonly spec: SubtaskSpec; readonly attempts: number; readonly via: EscalationStep; readonly by: string; readonly result?: SubtaskResult }
  | { readonly status: "abandoned"; readonly spec: SubtaskSpec; readonly attempts: number; readonly reason: string };

const TRIED_BY_KEPT = 10;
const withTry = (triedBy: readonly string[] | undefined, agentId: string): readonly string[] =>
  [...(triedBy ?? []).filter((a) => a !== agentId), agentId].slice(-TRIED_BY_KEPT);

/** The error prefix a worker reports for code outside the language subset: never retried locally. */
export const OUTSIDE_SUBSET = "outside_subset:";

export const noSubtask = (): Subtask => ({ status: "none" });

const Id = AggregateId;
export const SubtaskCommand = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("queue"), spec: SubtaskSpec }),
  z.object({ kind: z.literal("assign"), agentId: Id, leaseId: Id, leaseMs: z.number().int().min(1_000), now: z.date() }),
  z.object({
    kind: z.literal("report"),
    agentId: Id,
    leaseId: Id,
    now: z.date(),
    ok: z.boolean(),
    code: z.string().max(256 * 1024).optional(),
    output: z.string().max(256 * 1024),
    stderr: z.string().max(256 * 1024),
    durationMs: z.number().int().min(0),
    /** Hold the result until this coordinator has run the code (the sampling policy's choice). */
    check: z.boolean().optional(),
  }),
  /** The checker's verdict on a held report: it ran as reported, or it did not (and why). */
  z.object({ kind: z.literal("passCheck"), agentId: Id, leaseId: Id, note: z.string().min(1).max(2_000).optional() }),
  z.object({ kind: z.literal("failCheck"), agentId: Id, leaseId: Id, reason: z.string().min(1).max(2_000) }),
  /** A result taken unchecked that a later check refutes: the subtask is done again. */
  z.object({ kind: z.literal("refute"), agentId: Id, leaseId: Id, reason: z.string().min(1).max(2_000) }),
  /** The reaper's: a lease past its end, or (agentGone) one whose agent stopped beating. */
  z.object({ kind: z.literal("expireLease"), now: z.date(), agentGone: z.boolean().optional() }),
  /** An operator's or a rule's: the agent holding the lease may not finish it (blacklisted). */
  z.object({ kind: z.literal("revokeLease"), agentId: Id, reason: z.string().min(1).max(500) }),
  z.object({ kind: z.literal("recordEscalationTry"), via: EscalationStep.exclude(["human"]), reason: z.string().min(1).max(2_000), code: z.string().max(256 * 1024).optional() }),
  z.object({ kind: z.literal("awaitHuman"), reason: z.string().min(1).max(2_000) }),
  z.object({ kind: z.literal("resolve"), via: EscalationStep, by: z.string().min(1).max(200), code: z.string().max(256 * 1024), output: z.string().max(256 * 1024) }),
  z.object({ kind: z.literal("abandon"), by: z.string().min(1).max(200), reason: z.string().min(1).max(2_000) }),
]);
export type SubtaskCommand = z.infer<typeof SubtaskCommand>;

const expired = (lease: Lease, now: Date) => now.getTime() > Date.parse(lease.expiresAt);

/** Which events may follow which state: the same rules guard deciding and replaying. */
export function subtaskRuleBreak(state: Subtask, event: SubtaskEvent): RuleBreak | undefined {
  switch (event.type) {
    case "subtask.queued":
      return state.status === "none" ? undefined : { code: "already_queued", message: "the subtask was queued before" };
    case "subtask.assigned":
      return state.status === "queued" ? undefined : { code: "not_queued", message: `the subtask is ${state.status}, not queued` };
    case "subtask.leaseExpired":
    case "subtask.leaseRevoked":
    case "subtask.completed":
    case "subtask.reported":
    case "subtask.failed":
      if (state.status !== "assigned") return { code: "not_assigned", message: `the subtask is ${state.status}, not assigned` };
      return state.lease.leaseId === event.data.leaseId && state.lease.agentId === event.data.agentId
        ? undefined
        : { code: "not_your_lease", message: `lease ${event.data.leaseId} of ${event.data.agentId} is not the subtask's current lease` };
    case "subtask.checkPassed":
    case "subtask.checkFailed":
      if (state.status !== "checking") return { code: "not_checking", message: `the subtask is ${state.status}, no report is being checked` };
      return state.report.leaseId === event.data.leaseId && state.report.agentId === event.data.agentId
        ? undefined
        : { code: "not_that_report", message: `the report being checked is not lease ${event.data.leaseId} of ${event.data.agentId}` };
    case "subtask.refuted":
      if (state.status !== "completed" || state.checked === true) {
        return { code: "not_refutable", message: `only a completed, unchecked result can be refuted; the subtask is ${state.status}${state.status === "completed" ? ", checked" : ""}` };
      }
      return state.agentId === event.data.agentId && state.leaseId === event.data.leaseId
        ? undefined
        : { code: "not_that_result", message: `the subtask's result is not lease ${event.data.leaseId} of ${event.data.agentId}` };
    case "subtask.escalated":
      return state.status === "queued" ? undefined : { code: "not_queued", message: `only a queued subtask is escalated, this one is ${state.status}` };
    case "subtask.escalationTried":
    case "subtask.awaitingHuman":
      if (state.status !== "escalated") return { code: "not_escalated", message: `the subtask is ${state.status}, not in escalation` };
      return state.tried.includes(event.type === "subtask.awaitingHuman" ? "human" : event.data.via)
        ? { code: "already_tried", message: `escalation to ${event.type === "subtask.awaitingHuman" ? "a person" : event.data.via} was tried before` }
        : undefined;
    case "subtask.resolved":
      if (event.data.via === "human") {
        return state.status === "awaitingHuman" ? undefined : { code: "not_awaiting_human", message: `the subtask is ${state.status}, not waiting for a person` };
      }
      return state.status === "escalated" ? undefined : { code: "not_escalated", message: `the subtask is ${state.status}, not in escalation` };
    case "subtask.abandoned":
      return state.status === "awaitingHuman" ? undefined : { code: "not_awaiting_human", message: `the subtask is ${state.status}, not waiting for a person` };
    default:
      return assertNever(event);
  }
}

export function evolveSubtask(state: Subtask, event: SubtaskEvent): Subtask {
  const tried = (agentId: string) => withTry("triedBy" in state ? state.triedBy : undefined, agentId);
  switch (event.type) {
    case "subtask.queued":
      return { status: "queued", spec: event.data, attempts: 0 };
    case "subtask.assigned":
      if (state.status !== "queued") return state;
      return {
        status: "assigned",
        spec: state.spec,
        attempts: event.data.attempt,
        lease: { leaseId: event.data.leaseId, agentId: event.data.agentId, expiresAt: event.data.leaseExpiresAt, ...(event.data.assignedAt ? { assignedAt: event.data.assignedAt } : {}) },
        ...(state.triedBy ? { triedBy: state.triedBy } : {}),
      };
    case "subtask.leaseExpired":
    case "subtask.failed":
      return state.status === "assigned" ? { status: "queued", spec: state.spec, attempts: state.attempts, triedBy: tried(state.lease.agentId) } : state;
    case "subtask.leaseRevoked":
      // The revoked agent's try does not count against the subtask: it goes back as it was.
      return state.status === "assigned" ? { status: "queued", spec: state.spec, attempts: state.attempts - 1, ...(state.triedBy ? { triedBy: state.triedBy } : {}) } : state;
    case "subtask.completed": {
      if (state.status !== "assigned") return state;
      const { agentId, leaseId, code, output, stderr } = event.data;
      return { status: "completed", spec: state.spec, attempts: state.attempts, agentId, leaseId, result: { code: code ?? "", output, stderr }, checked: false };
    }
    case "subtask.reported":
      if (state.status !== "assigned") return state;
      return { status: "checking", spec: state.spec, attempts: state.attempts, report: event.data, ...(state.triedBy ? { triedBy: state.triedBy } : {}) };
    case "subtask.checkPassed": {
      if (state.status !== "checking") return state;
      const { agentId, leaseId, ok, code, output, stderr } = state.report;
      // A failure claim that held (code outside the subset) sends the subtask on as a failed try.
      if (!ok) return { status: "queued", spec: state.spec, attempts: state.attempts, triedBy: tried(agentId) };
      return { status: "completed", spec: state.spec, attempts: state.attempts, agentId, leaseId, result: { code, output, stderr }, checked: event.data.note === undefined };
    }
    case "subtask.checkFailed":
      return state.status === "checking" ? { status: "queued", spec: state.spec, attempts: state.attempts, triedBy: tried(state.report.agentId) } : state;
    case "subtask.refuted":
      return state.status === "completed" ? { status: "queued", spec: state.spec, attempts: state.attempts, triedBy: tried(state.agentId) } : state;
    case "subtask.escalated":
      return state.status === "queued" ? { status: "escalated", spec: state.spec, attempts: event.data.attempts, tried: [] } : state;
    case "subtask.escalationTried":
      return state.status === "escalated" ? { ...state, tried: [...state.tried, event.data.via] } : state;
    case "subtask.awaitingHuman":
      return state.status === "escalated" ? { status: "awaitingHuman", spec: state.spec, attempts: state.attempts, tried: state.tried, reason: event.data.reason } : state;
    case "subtask.resolved":
      return state.status === "escalated" || state.status === "awaitingHuman"
        ? { status: "resolved", spec: state.spec, attempts: state.attempts, via: event.data.via, by: event.data.by, result: { code: event.data.code, output: event.data.output, stderr: "" } }
        : state;
    case "subtask.abandoned":
      return state.status === "awaitingHuman" ? { status: "abandoned", spec: state.spec, attempts: state.attempts, reason: event.data.reason } : state;
    default:
      return assertNever(event);
  }
}

const checked = (state: Subtask, events: SubtaskEvent[]) => requireRules({ ruleBreak: subtaskRuleBreak, evolve: evolveSubtask }, state, events);

/**
 * After a failed or expired try: retry while tries remain, else hand the subtask to escalation.
 * Code outside the language subset is escalated at once: another local try would be refused too.
 */
function afterTry(state: { readonly spec: SubtaskSpec; readonly attempts: number }, reason: string, outsideSubset = false): SubtaskEvent[] {
  if (outsideSubset) return [{ type: "subtask.escalated", data: { reason: "outside_subset", attempts: state.attempts } }];
  return state.attempts >= state.spec.maxAttempts
    ? [{ type: "subtask.escalated", data: { reason: `${reason} after ${state.attempts} tries`, attempts: state.attempts } }]
    : [];
}

export function decideSubtask(command: SubtaskCommand, state: Subtask): SubtaskEvent[] {
  switch (command.kind) {
    case "queue":
      return checked(state, [{ type: "subtask.queued", data: command.spec }]);
    case "assign": {
      const expiry: SubtaskEvent[] = [];
      if (state.status === "assigned") {
        if (!expired(state.lease, command.now)) {
          throw new DomainRuleViolation("already_assigned", `leased to ${state.lease.agentId} until ${state.lease.expiresAt}`);
        }
        expiry.push({ type: "subtask.leaseExpired", data: { agentId: state.lease.agentId, leaseId: state.lease.leaseId } });
        const exhausted = afterTry(state, "lease expired");
        if (exhausted.length > 0) return checked(state, [...expiry, ...exhausted]);
      }
      const attempts = state.status === "assigned" || state.status === "queued" ? state.attempts : 0;
      return checked(state, [
        ...expiry,
        {
          type: "subtask.assigned",
          data: {
            agentId: command.agentId,
            leaseId: command.leaseId,
            leaseExpiresAt: new Date(command.now.getTime() + command.leaseMs).toISOString(),
            attempt: attempts + 1,
            assignedAt: command.now.toISOString(),
          },
        },
      ]);
    }
    case "report": {
      if (state.status === "none") throw new DomainRuleViolation("unknown_subtask", "no such subtask", true);
      if (state.status !== "assigned") throw new DomainRuleViolation("not_assigned", `the subtask is ${state.status}, not assigned`);
      if (state.lease.leaseId !== command.leaseId || state.lease.agentId !== command.agentId) {
        throw new DomainRuleViolation("not_your_lease", `lease ${command.leaseId} of ${command.agentId} is not the subtask's current lease`);
      }
      if (expired(state.lease, command.now)) throw new DomainRuleViolation("lease_expired", `the lease ended at ${state.lease.expiresAt}`);
      // A duration is a claim (it will be paid for): it cannot be longer than the lease has lasted.
      if (state.lease.assignedAt) {
        const lasted = command.now.getTime() - Date.parse(state.lease.assignedAt);
        if (command.durationMs > lasted + DURATION_SLACK_MS) {
          throw new DomainRuleViolation("duration_impossible", `the reported duration ${command.durationMs} ms is longer than the lease has lasted (${lasted} ms)`);
        }
      }
      const { agentId, leaseId, durationMs, ok, output, stderr } = command;
      const code = command.code ?? "";
      const outsideSubset = !ok && stderr.startsWith(OUTSIDE_SUBSET);
      // A success, or a claim that the code is outside the subset (which sends the subtask to
      // escalation, the costly steps), is held until checked when the policy says so.
      if (command.check && (ok || outsideSubset)) {
        return checked(state, [{ type: "subtask.reported", data: { agentId, leaseId, ok, code, output, stderr, durationMs } }]);
      }
      if (ok) return checked(state, [{ type: "subtask.completed", data: { agentId, leaseId, code, output, stderr, durationMs } }]);
      return checked(state, [{ type: "subtask.failed", data: { agentId, leaseId, code, error: stderr, durationMs } }, ...afterTry(state, "failed", outsideSubset)]);
    }
    case "passCheck": {
      const passed: SubtaskEvent = {
        type: "subtask.checkPassed",
        data: { agentId: command.agentId, leaseId: command.leaseId, ok: state.status === "checking" && state.report.ok, ...(command.note ? { note: command.note } : {}) },
      };
      // A checked failure claim is a failed try (an outside-subset one escalates at once).
      const next = state.status === "checking" && !state.report.ok ? afterTry(state, "failed", state.report.stderr.startsWith(OUTSIDE_SUBSET)) : [];
      return checked(state, [passed, ...next]);
    }
    case "failCheck": {
      const failed: SubtaskEvent = { type: "subtask.checkFailed", data: { agentId: command.agentId, leaseId: command.leaseId, reason: command.reason } };
      return checked(state, [failed, ...(state.status === "checking" ? afterTry(state, "result refused by its check") : [])]);
    }
    case "refute": {
      const refuted: SubtaskEvent = { type: "subtask.refuted", data: { agentId: command.agentId, leaseId: command.leaseId, reason: command.reason } };
      return checked(state, [refuted, ...(state.status === "completed" ? afterTry(state, "result refuted by a later check") : [])]);
    }
    case "expireLease":
      if (state.status !== "assigned" || !(command.agentGone || expired(state.lease, command.now))) return [];
      return checked(state, [
        { type: "subtask.leaseExpired", data: { agentId: state.lease.agentId, leaseId: state.lease.leaseId } },
        ...afterTry(state, command.agentGone ? "agent stopped beating" : "lease expired"),
      ]);
    case "revokeLease":
      // Only the named agent's lease: a revocation that arrives after the subtask moved on does nothing.
      if (state.status !== "assigned" || state.lease.agentId !== command.agentId) return [];
      return checked(state, [{ type: "subtask.leaseRevoked", data: { agentId: state.lease.agentId, leaseId: state.lease.leaseId, reason: command.reason } }]);
    case "recordEscalationTry":
      return checked(state, [{ type: "subtask.escalationTried", data: { via: command.via, reason: command.reason, code: command.code ?? "" } }]);
    case "awaitHuman":
      return checked(state, [{ type: "subtask.awaitingHuman", data: { reason: command.reason } }]);
    case "resolve":
      return checked(state, [{ type: "subtask.resolved", data: { via: command.via, by: command.by, code: command.code, output: command.output } }]);
    case "abandon":
      return checked(state, [{ type: "subtask.abandoned", data: { by: command.by, reason: command.reason } }]);
    default:
      return assertNever(command);
  }
}

export const subtaskDecider: Decider<SubtaskCommand, Subtask, SubtaskEvent> = {
  initialState: noSubtask,
  decide: decideSubtask,
  evolve: evolveSubtask,
  ruleBreak: subtaskRuleBreak,
};

export const subtaskSubject = (subtaskId: string) => subjectOf("tasks", "subtask", subtaskId);

/** A subtask's id is its task's id and its index in the plan: redelivered plans name the same subtasks. */
export const subtaskIdFor = (taskId: string, index: number) => `${taskId}-${index}`;
export const taskIdOfSubtask = (subtaskId: string): string | undefined => /^(.+)-\d$/.exec(subtaskId)?.[1];
