import { z } from "zod";
import { AggregateId } from "../events/envelope.js";
import { eventRegistry, eventSpec, type DraftOf } from "../events/registry.js";
import { Language } from "./decomposition.js";

const Id = AggregateId;

export const TaskRequest = z.object({
  prompt: z.string().trim().min(1).max(20_000),
  language: Language.default("python"),
  submitter: Id,
  projectId: Id.optional(),
  priority: z.number().int().min(0).max(100).default(50),
  resourceClass: z.enum(["cpu", "gpu"]).default("cpu"),
  requestedModel: z.string().max(200).optional(),
  sandboxRequired: z.boolean().default(true),
});
export type TaskRequest = z.infer<typeof TaskRequest>;

export const PlannedSubtask = z.object({
  subtaskId: Id,
  index: z.number().int().min(0).max(9),
  input: z.string().min(1).max(20_000),
  language: Language,
  timeoutMs: z.number().int().min(1_000).max(600_000),
});

export const taskSubmitted = eventSpec("task.submitted", 1, TaskRequest);
export const taskDecomposed = eventSpec(
  "task.decomposed",
  1,
  z.object({ subtasks: z.array(PlannedSubtask).min(1).max(10), parsed: z.boolean(), model: z.string().max(200) }),
);
/**
 * A subtask's outcome for its task. Its code and output are stored once, in the subtask's own
 * events; `code` and `output` here are only in events recorded before that (read, never written).
 */
export const taskSubtaskFinished = eventSpec(
  "task.subtaskFinished",
  1,
  z.object({
    subtaskId: Id,
    ok: z.boolean(),
    error: z.string().max(2_000),
    /** Whether this coordinator ran the code and saw its output; absent in older events. */
    checked: z.boolean().optional(),
    code: z.string().max(256 * 1024).optional(),
    output: z.string().max(256 * 1024).optional(),
  }),
);
/** A finished subtask's result was refuted by a later check: it is done again, and the task waits for it. */
export const taskSubtaskReopened = eventSpec("task.subtaskReopened", 1, z.object({ subtaskId: Id, reason: z.string().min(1).max(2_000) }));
/**
 * Every subtask finished well. The task's code and output are its subtasks', read from them;
 * `output` and `code` are only in events recorded before that.
 */
export const taskCompleted = eventSpec("task.completed", 1, z.object({ output: z.string().max(10 << 20).optional(), code: z.string().max(10 << 20).optional() }));
export const taskFailed = eventSpec("task.failed", 1, z.object({ reason: z.string().min(1).max(2_000) }));

export const taskEventSpecs = [taskSubmitted, taskDecomposed, taskSubtaskFinished, taskSubtaskReopened, taskCompleted, taskFailed] as const;
export const taskEvents = eventRegistry(...taskEventSpecs);
export type TaskEvent = DraftOf<(typeof taskEventSpecs)[number]>;
