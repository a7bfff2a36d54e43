import { EscalationUnavailableError, type Escalator } from "../../domain/escalation/escalator.js";
import type { EscalationRequest } from "../../domain/escalation/request.js";
import { subtaskSubject, type SubtaskCommand } from "../../domain/tasks/subtask.js";
import type { CursorKey, Db, Page } from "../../projections/keyset.js";
import { openEscalations, subtaskById, subtaskExists, type SubtaskStatus, type SubtaskView } from "../../projections/tasks/queries.js";
import { refusal, type HandleCommand, type Refusal } from "../commands.js";

/** A subtask in (or past) escalation, as an operator sees it. */
export interface EscalationView {
  readonly subtaskId: string;
  readonly taskId: string | null;
  readonly status: SubtaskStatus;
  readonly attempts: number;
  readonly input: string | null;
  readonly language: string | null;
  /** Why it waits for a person (the steps tried said so). */
  readonly reason: string | null;
  /** The automatic steps tried, in the waterfall's order. */
  readonly tried: readonly string[];
}

const escalationView = (s: SubtaskView): EscalationView => {
  const state = s.state as { spec?: { input: string; language: string }; reason?: string; tried?: readonly string[] };
  return {
    subtaskId: s.subtaskId,
    taskId: s.taskId,
    status: s.status,
    attempts: s.attempts,
    input: state.spec?.input ?? null,
    language: state.spec?.language ?? null,
    reason: state.reason ?? null,
    tried: state.tried ?? [],
  };
};

/** A person's answer to an escalation: working code, or giving up on the subtask. */
export type Resolution = { readonly code: string; readonly output: string; readonly by: string } | { readonly abandon: string; readonly by: string };

export interface EscalationsDeps {
  readonly pool: Db;
  readonly handleSubtask: HandleCommand<SubtaskCommand>;
  /** What this coordinator asks when a child coordinator escalates to it (its own inference service). */
  readonly escalator?: Escalator | undefined;
  readonly now: () => Date;
}

const unknownSubtask = (subtaskId: string) => refusal("unknown_subtask", `no subtask ${subtaskId}`);

/**
 * Escalations: the subtasks that failed their local tries and the ones waiting for a person,
 * the person's answer, and this coordinator acting as a parent for a child's failed subtask.
 */
export function escalations(deps: EscalationsDeps) {
  return {
    async list(opts: { after?: CursorKey | undefined; limit: number }): Promise<Page<EscalationView>> {
      const page = await openEscalations(deps.pool, opts);
      return { items: page.items.map(escalationView), next: page.next };
    },

    async one(subtaskId: string): Promise<EscalationView | Refusal<"unknown_subtask">> {
      const subtask = await subtaskById(deps.pool, subtaskId);
      return subtask ? escalationView(subtask) : unknownSubtask(subtaskId);
    },

    /** The subtask's decider refuses an answer to a subtask that waits for none (409). */
    async resolve(subtaskId: string, answer: Resolution): Promise<{ events: string[] } | Refusal<"unknown_subtask">> {
      if (!(await subtaskExists(deps.pool, subtaskId))) return unknownSubtask(subtaskId);
      const command: SubtaskCommand =
        "abandon" in answer ? { kind: "abandon", by: answer.by, reason: answer.abandon } : { kind: "resolve", via: "human", by: answer.by, code: answer.code, output: answer.output };
      const done = await deps.handleSubtask(subtaskSubject(subtaskId), command, { now: deps.now() });
      return { events: done.events.map((e) => e.type) };
    },

    /** A child coordinator's failed subtask, answered by this node's model. */
    async escalateHere(request: EscalationRequest): Promise<{ code: string; model: string } | Refusal<"escalation_unavailable">> {
      if (!deps.escalator) return refusal("escalation_unavailable", "this coordinator has no model to escalate to");
      try {
        const answer = await deps.escalator.escalate(request);
        return { code: answer.code, model: answer.model };
      } catch (err) {
        if (err instanceof EscalationUnavailableError) return refusal("escalation_unavailable", err.message);
        throw err;
      }
    },
  };
}
