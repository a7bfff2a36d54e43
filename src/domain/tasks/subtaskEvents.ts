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
  /** Local tries (assignments) before the subtask is escalated. */
  maxAttempts: z.number().int().min(1).max(10).default(3),
});
export type SubtaskSpec = z.infer<typeof SubtaskSpec>;

export const subtaskQueued = eventSpec("subtask.queued", 1, SubtaskSpec);
export const subtaskAssigned = eventSpec(
  "subtask.assigned",
  1,
  z.object({ agentId: Id, leaseId: Id, leaseExpiresAt: Instant, attempt: z.number().int().min(1) }),
);
export const subtaskLeaseExpired = eventSpec("subtask.leaseExpired", 1, z.object({ agentId: Id, leaseId: Id }));
export const subtaskCompleted = eventSpec(
  "subtask.completed",
  1,
  z.object({ agentId: Id, leaseId: Id, output: z.string().max(1 << 20), stderr: z.string().max(1 << 20), durationMs: z.number().int().min(0) }),
);
export const subtaskFailed = eventSpec(
  "subtask.failed",
  1,
  z.object({ agentId: Id, leaseId: Id, error: z.string().max(1 << 20), durationMs: z.number().int().min(0) }),
);
export const subtaskEscalated = eventSpec("subtask.escalated", 1, z.object({ reason: z.string().min(1).max(500), attempts: z.number().int().min(0) }));

export const subtaskEventSpecs = [subtaskQueued, subtaskAssigned, subtaskLeaseExpired, subtaskCompleted, subtaskFailed, subtaskEscalated] as const;
export const subtaskEvents = eventRegistry(...subtaskEventSpecs);
export type SubtaskEvent = DraftOf<(typeof subtaskEventSpecs)[number]>;
