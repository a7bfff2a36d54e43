import type { BoundedContext } from "../context.js";
import { aggregateKind } from "../context.js";
import { subtaskDecider, subtaskSubject } from "./subtask.js";
import { subtaskEventSpecs } from "./subtaskEvents.js";
import { taskDecider, taskSubject } from "./task.js";
import { taskEventSpecs } from "./taskEvents.js";

export const taskAggregate = aggregateKind({ kind: "task", decider: taskDecider, events: taskEventSpecs, subject: taskSubject });
export const subtaskAggregate = aggregateKind({ kind: "subtask", decider: subtaskDecider, events: subtaskEventSpecs, subject: subtaskSubject });

/** Tasks and the subtasks they are decomposed into: the work queue. */
export const tasksContext = {
  name: "tasks",
  stream: "EC_TASKS",
  events: [...taskEventSpecs, ...subtaskEventSpecs],
  aggregates: [taskAggregate, subtaskAggregate],
  chained: true,
} as const satisfies BoundedContext;
