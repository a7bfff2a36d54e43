import { subtaskSubject } from "../../domain/tasks/subtask.js";
import { taskSubject } from "../../domain/tasks/task.js";
import type { TasksCommand } from "../../domain/tasks/taskWorkflow.js";
import type { CommandHandlers } from "../commandHandlers.js";

export type TasksHandlers = Pick<CommandHandlers, "task" | "subtask">;

/** Sends a workflow's command for the tasks context to its aggregate's handler. */
export function runTasksCommand(handlers: TasksHandlers, cmd: TasksCommand, now: Date) {
  const meta = { commandId: cmd.commandId, now };
  return cmd.to === "task" ? handlers.task(taskSubject(cmd.id), cmd.command, meta) : handlers.subtask(subtaskSubject(cmd.id), cmd.command, meta);
}
