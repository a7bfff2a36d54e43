import { taskChecked, taskResult } from "../../domain/tasks/task.js";
import type { CursorKey, Db, Page } from "../../projections/keyset.js";
import { recentTasks, subtaskStatesOfTask, subtasksOfTask, taskById, type SubtaskSummary, type TaskStatus, type TaskSummary } from "../../projections/tasks/queries.js";

/** A task with its subtasks as their status shows them, in plan order. */
export interface TaskStatusView extends TaskSummary {
  readonly subtasks: readonly SubtaskSummary[];
}

/** A task's outcome: its combined code and output once it completed, and how far it was checked. */
export interface TaskOutcome {
  readonly taskId: string;
  readonly status: TaskStatus;
  readonly done: boolean;
  readonly code: string | null;
  readonly output: string | null;
  readonly reason: string | null;
  /** Every subtask's result was checked: this coordinator ran its code and saw the same output. */
  readonly checked: boolean;
  /** Per subtask, in plan order: whether its result was checked (false: taken on trust by the sampling policy). */
  readonly subtasks: readonly { subtaskId: string; index: number; checked: boolean }[];
}

/**
 * Tasks as users read them (CLI, IDE, portal), from the tasks projection: a task just submitted
 * may take a moment to appear (undefined until then).
 */
export function taskReads(deps: { readonly pool: Db }) {
  return {
    list: (opts: { status?: TaskStatus | undefined; before?: CursorKey | undefined; limit: number }): Promise<Page<TaskSummary>> => recentTasks(deps.pool, opts),

    async status(taskId: string): Promise<TaskStatusView | undefined> {
      const task = await taskById(deps.pool, taskId);
      if (!task) return undefined;
      const { state: _state, ...summary } = task;
      return { ...summary, subtasks: await subtasksOfTask(deps.pool, taskId) };
    },

    /** The task holds its plan and outcomes; the code and output are its subtasks', stored once. */
    async outcome(taskId: string): Promise<TaskOutcome | undefined> {
      const row = await taskById(deps.pool, taskId);
      if (!row) return undefined;
      const task = row.state;
      const results = Object.fromEntries((await subtaskStatesOfTask(deps.pool, taskId)).map((s) => [s.subtaskId, "result" in s.state ? s.state.result : undefined]));
      const combined = taskResult(task, results);
      const planned = task.status === "running" || task.status === "completed" || task.status === "failed";
      const plan = planned ? (task.subtasks ?? []) : [];
      const finished = planned ? (task.finished ?? {}) : {};
      return {
        taskId: row.taskId,
        status: row.status,
        done: row.status === "completed" || row.status === "failed",
        code: combined?.code ?? null,
        output: combined?.output ?? null,
        reason: task.status === "failed" ? task.reason : null,
        checked: taskChecked(task),
        subtasks: [...plan].sort((a, b) => a.index - b.index).map((p) => ({ subtaskId: p.subtaskId, index: p.index, checked: finished[p.subtaskId]?.checked === true })),
      };
    },
  };
}
