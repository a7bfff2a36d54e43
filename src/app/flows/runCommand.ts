import { subtaskSubject } from "../../domain/tasks/subtask.js";
import { taskSubject } from "../../domain/tasks/task.js";
import type { TaskAggregateCommand, TasksCommand } from "../../domain/tasks/taskWorkflow.js";
import type { CommandHandlers } from "../commandHandlers.js";

export type TasksHandlers = Pick<CommandHandlers, "task" | "subtask">;

/** Sends a workflow's command for the tasks context to its aggregate's handler. */
export function runTasksCommand(handlers: TasksHandlers, cmd: TasksCommand, now: Date) {
  return cmd.to === "task" ? runTaskCommand(handlers.task, cmd, now) : handlers.subtask(subtaskSubject(cmd.id), cmd.command, { commandId: cmd.commandId, now });
}

/** Sends a workflow's command for a task to the task handler. */
export function runTaskCommand(handleTask: TasksHandlers["task"], cmd: TaskAggregateCommand, now: Date) {
  return handleTask(taskSubject(cmd.id), cmd.command, { commandId: cmd.commandId, now });
}
