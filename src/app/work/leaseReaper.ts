import { isAlive, type HeartbeatStore } from "../../adapters/agents/heartbeats.js";
import type { CommandMeta, HandledCommand } from "../../adapters/events/commandHandler.js";
import { subtaskSubject, type SubtaskCommand } from "../../domain/tasks/subtask.js";
import type { Db } from "../../projections/keyset.js";
import { openLeases } from "../../projections/tasks/queries.js";
import { every } from "../every.js";

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
  pool: Db;
  heartbeats: HeartbeatStore;
  handleSubtask: (subject: string, command: SubtaskCommand, meta: CommandMeta) => Promise<HandledCommand>;
  heartbeatIntervalMs: number;
  everyMs: number;
  onError?: (err: unknown) => void;
}): LeaseReaper {
  async function sweep(): Promise<string[]> {
    const leases = await openLeases(opts.pool);
    const ended: string[] = [];
    const now = new Date();
    for (const r of leases) {
      const expired = r.leaseExpiresAt.getTime() < now.getTime();
      const agentGone = !expired && !isAlive(await opts.heartbeats.last(r.agentId), opts.heartbeatIntervalMs, now.getTime());
      if (!expired && !agentGone) continue;
      try {
        const done = await opts.handleSubtask(subtaskSubject(r.subtaskId), { kind: "expireLease", now, agentGone }, { now, commandId: `expire:${r.leaseId}` });
        if (done.events.length > 0) ended.push(r.subtaskId);
      } catch (err) {
        opts.onError?.(err);
      }
    }
    return ended;
  }

  const loop = every(opts.everyMs, sweep, (err) => opts.onError?.(err));
  return { sweep, stop: () => loop.stop() };
}
