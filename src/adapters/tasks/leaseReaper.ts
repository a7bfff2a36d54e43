import type pg from "pg";
import { isAlive, type HeartbeatStore } from "../agents/heartbeats.js";
import type { CommandMeta, HandledCommand } from "../events/commandHandler.js";
import { subtaskSubject, type SubtaskCommand } from "../../domain/tasks/subtask.js";

export interface LeaseReaper {
  /** One pass; returns the subtasks whose lease it ended. */
  sweep(): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * Ends leases that ran out, and leases of agents that stopped beating (so a killed worker's
 * subtask goes back to the queue without waiting out a long lease). Every node runs one; the
 * subtask's decider makes a second reaper's command a no-op.
 */
export function startLeaseReaper(opts: {
  pool: pg.Pool;
  heartbeats: HeartbeatStore;
  handleSubtask: (subject: string, command: SubtaskCommand, meta: CommandMeta) => Promise<HandledCommand>;
  heartbeatIntervalMs: number;
  everyMs: number;
  onError?: (err: unknown) => void;
}): LeaseReaper {
  async function sweep(): Promise<string[]> {
    const { rows } = await opts.pool.query<{ subtask_id: string; agent_id: string; lease_expires_at: Date; lease_id: string }>(
      "SELECT subtask_id, agent_id, lease_expires_at, state->'lease'->>'leaseId' AS lease_id FROM subtasks WHERE status = 'assigned'",
    );
    const ended: string[] = [];
    const now = new Date();
    for (const r of rows) {
      const expired = r.lease_expires_at.getTime() < now.getTime();
      const agentGone = !expired && !isAlive(await opts.heartbeats.last(r.agent_id), opts.heartbeatIntervalMs, now.getTime());
      if (!expired && !agentGone) continue;
      try {
        const done = await opts.handleSubtask(subtaskSubject(r.subtask_id), { kind: "expireLease", now, agentGone }, { now, commandId: `expire:${r.lease_id}` });
        if (done.events.length > 0) ended.push(r.subtask_id);
      } catch (err) {
        opts.onError?.(err);
      }
    }
    return ended;
  }

  let stopped = false;
  let pass: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    if (stopped) return;
    pass = pass.then(() => sweep().catch((err: unknown) => opts.onError?.(err)));
  }, opts.everyMs);
  return {
    sweep,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await pass;
    },
  };
}
