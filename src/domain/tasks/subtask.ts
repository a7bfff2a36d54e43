import { z } from "zod";
import { AggregateId } from "../events/envelope.js";
import { assertNever, DomainRuleViolation, requireRules, type Decider, type RuleBreak } from "../decider.js";
import { SubtaskSpec, type SubtaskEvent } from "./subtaskEvents.js";

interface Lease {
  readonly leaseId: string;
  readonly agentId: string;
  readonly expiresAt: string;
}

/** A subtask's life: queued, assigned to one agent under a lease, then done or escalated. */
export type Subtask =
  | { readonly status: "none" }
  | { readonly status: "queued"; readonly spec: SubtaskSpec; readonly attempts: number }
  | { readonly status: "assigned"; readonly spec: SubtaskSpec; readonly attempts: number; readonly lease: Lease }
  | { readonly status: "completed"; readonly spec: SubtaskSpec; readonly attempts: number; readonly agentId: string }
  | { readonly status: "escalated"; readonly spec: SubtaskSpec; readonly attempts: number };

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
    output: z.string().max(1 << 20),
    stderr: z.string().max(1 << 20),
    durationMs: z.number().int().min(0),
  }),
  z.object({ kind: z.literal("expireLease"), now: z.date() }),
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
    case "subtask.completed":
    case "subtask.failed":
      if (state.status !== "assigned") return { code: "not_assigned", message: `the subtask is ${state.status}, not assigned` };
      return state.lease.leaseId === event.data.leaseId && state.lease.agentId === event.data.agentId
        ? undefined
        : { code: "not_your_lease", message: `lease ${event.data.leaseId} of ${event.data.agentId} is not the subtask's current lease` };
    case "subtask.escalated":
      return state.status === "queued" ? undefined : { code: "not_queued", message: `only a queued subtask is escalated, this one is ${state.status}` };
    default:
      return assertNever(event);
  }
}

export function evolveSubtask(state: Subtask, event: SubtaskEvent): Subtask {
  switch (event.type) {
    case "subtask.queued":
      return { status: "queued", spec: event.data, attempts: 0 };
    case "subtask.assigned":
      if (state.status !== "queued") return state;
      return {
        status: "assigned",
        spec: state.spec,
        attempts: event.data.attempt,
        lease: { leaseId: event.data.leaseId, agentId: event.data.agentId, expiresAt: event.data.leaseExpiresAt },
      };
    case "subtask.leaseExpired":
    case "subtask.failed":
      return state.status === "assigned" ? { status: "queued", spec: state.spec, attempts: state.attempts } : state;
    case "subtask.completed":
      return state.status === "assigned" ? { status: "completed", spec: state.spec, attempts: state.attempts, agentId: event.data.agentId } : state;
    case "subtask.escalated":
      return state.status === "queued" ? { status: "escalated", spec: state.spec, attempts: state.attempts } : state;
    default:
      return assertNever(event);
  }
}

const checked = (state: Subtask, events: SubtaskEvent[]) => requireRules({ ruleBreak: subtaskRuleBreak, evolve: evolveSubtask }, state, events);

/** After a failed or expired try: retry while tries remain, else hand the subtask to escalation. */
function afterTry(state: Extract<Subtask, { status: "assigned" }>, reason: string): SubtaskEvent[] {
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
          },
        },
      ]);
    }
    case "report": {
      if (state.status !== "assigned") throw new DomainRuleViolation("not_assigned", `the subtask is ${state.status}, not assigned`);
      if (state.lease.leaseId !== command.leaseId || state.lease.agentId !== command.agentId) {
        throw new DomainRuleViolation("not_your_lease", `lease ${command.leaseId} of ${command.agentId} is not the subtask's current lease`);
      }
      if (expired(state.lease, command.now)) throw new DomainRuleViolation("lease_expired", `the lease ended at ${state.lease.expiresAt}`);
      const { agentId, leaseId, durationMs } = command;
      if (command.ok) return checked(state, [{ type: "subtask.completed", data: { agentId, leaseId, output: command.output, stderr: command.stderr, durationMs } }]);
      return checked(state, [{ type: "subtask.failed", data: { agentId, leaseId, error: command.stderr, durationMs } }, ...afterTry(state, "failed")]);
    }
    case "expireLease":
      if (state.status !== "assigned" || !expired(state.lease, command.now)) return [];
      return checked(state, [
        { type: "subtask.leaseExpired", data: { agentId: state.lease.agentId, leaseId: state.lease.leaseId } },
        ...afterTry(state, "lease expired"),
      ]);
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

export const subtaskSubject = (subtaskId: string) => `ec.tasks.${subtaskId}`;
