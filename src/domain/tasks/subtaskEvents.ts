import { z } from "zod";
import { AggregateId } from "../events/envelope.js";
import { eventRegistry, eventSpec, type DraftOf } from "../events/registry.js";
import { Language } from "./decomposition.js";

const Id = AggregateId;
const Instant = z.iso.datetime({ offset: false });

export const SubtaskSpec = z.object({
  taskId: Id,
  index: z.number().int().min(0).max(9),
  input: z.string().min(1).max(20_000),
  language: Language,
  timeoutMs: z.number().int().min(1_000).max(600_000),
  priority: z.number().int().min(0).max(100).default(50),
  resourceClass: z.enum(["cpu", "gpu"]).default("cpu"),
  requestedModel: z.string().max(200).optional(),
  /** The task asked that its code run only in a sandbox: agents without one never get it. */
  sandboxRequired: z.boolean().default(true),
  /** Local tries (assignments) before the subtask is escalated. */
  maxAttempts: z.number().int().min(1).max(10).default(3),
});
export type SubtaskSpec = z.infer<typeof SubtaskSpec>;

export const subtaskQueued = eventSpec("subtask.queued", 1, SubtaskSpec);
export const subtaskAssigned = eventSpec(
  "subtask.assigned",
  1,
  z.object({
    agentId: Id,
    leaseId: Id,
    leaseExpiresAt: Instant,
    attempt: z.number().int().min(1),
    /** When the lease began; absent in events recorded before it was kept. */
    assignedAt: Instant.optional(),
  }),
);
export const subtaskLeaseExpired = eventSpec("subtask.leaseExpired", 1, z.object({ agentId: Id, leaseId: Id }));
/** The lease was taken back from its agent (blacklisted): that try does not count. */
export const subtaskLeaseRevoked = eventSpec("subtask.leaseRevoked", 1, z.object({ agentId: Id, leaseId: Id, reason: z.string().min(1).max(500) }));
const Text = z.string().max(256 * 1024);
/** Absent in results recorded before code was kept; "" when there was none. */
const Code = Text.optional();

export const subtaskCompleted = eventSpec(
  "subtask.completed",
  1,
  z.object({ agentId: Id, leaseId: Id, code: Code, output: Text, stderr: Text, durationMs: z.number().int().min(0) }),
);
const CheckReason = z.string().min(1).max(2_000);
/** A result held back until this coordinator has run its code itself and seen the same output. */
export const subtaskReported = eventSpec(
  "subtask.reported",
  1,
  z.object({ agentId: Id, leaseId: Id, ok: z.boolean(), code: Text, output: Text, stderr: Text, durationMs: z.number().int().min(0) }),
);
/** The code ran here as reported: the result counts (ok), or the claimed failure does (not ok). */
export const subtaskCheckPassed = eventSpec(
  "subtask.checkPassed",
  1,
  z.object({
    agentId: Id,
    leaseId: Id,
    ok: z.boolean(),
    /** Why the check vouches for less than the output (it differs from run to run here): the result counts unchecked. */
    note: CheckReason.optional(),
  }),
);
/** The code did not run as reported: the result is refused, and counted against its agent. */
export const subtaskCheckFailed = eventSpec("subtask.checkFailed", 1, z.object({ agentId: Id, leaseId: Id, reason: CheckReason }));
/** A result that counted unchecked did not hold when checked later: the subtask is done again. */
export const subtaskRefuted = eventSpec("subtask.refuted", 1, z.object({ agentId: Id, leaseId: Id, reason: CheckReason }));
export const subtaskFailed = eventSpec(
  "subtask.failed",
  1,
  z.object({ agentId: Id, leaseId: Id, code: Code, error: Text, durationMs: z.number().int().min(0) }),
);
export const subtaskEscalated = eventSpec("subtask.escalated", 1, z.object({ reason: z.string().min(1).max(500), attempts: z.number().int().min(0) }));

/** The steps of the escalation waterfall after local retries, in order; a person is the last. */
export const EscalationStep = z.enum(["inference", "parent", "cloud", "human"]);
export type EscalationStep = z.infer<typeof EscalationStep>;

export const subtaskEscalationTried = eventSpec(
  "subtask.escalationTried",
  1,
  z.object({ via: EscalationStep.exclude(["human"]), reason: z.string().min(1).max(2_000), code: Code }),
);
export const subtaskAwaitingHuman = eventSpec("subtask.awaitingHuman", 1, z.object({ reason: z.string().min(1).max(2_000) }));
export const subtaskResolved = eventSpec(
  "subtask.resolved",
  1,
  z.object({ via: EscalationStep, by: z.string().min(1).max(200), code: Text, output: Text }),
);
export const subtaskAbandoned = eventSpec("subtask.abandoned", 1, z.object({ by: z.string().min(1).max(200), reason: z.string().min(1).max(2_000) }));

export const subtaskEventSpecs = [
  subtaskQueued,
  subtaskAssigned,
  subtaskLeaseExpired,
  subtaskLeaseRevoked,
  subtaskCompleted,
  subtaskReported,
  subtaskCheckPassed,
  subtaskCheckFailed,
  subtaskRefuted,
  subtaskFailed,
  subtaskEscalated,
  subtaskEscalationTried,
  subtaskAwaitingHuman,
  subtaskResolved,
  subtaskAbandoned,
] as const;
export const subtaskEvents = eventRegistry(...subtaskEventSpecs);
export type SubtaskEvent = DraftOf<(typeof subtaskEventSpecs)[number]>;
