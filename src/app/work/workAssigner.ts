import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { CommandMeta, HandledCommand } from "../../adapters/events/commandHandler.js";
import { claimCandidates } from "../../adapters/tasks/claimCandidates.js";
import type { ClaimFilter } from "../../domain/agents/eligibility.js";
import { DomainRuleViolation } from "../../domain/decider.js";
import { hasRoom, mayTake } from "../../domain/tasks/claim.js";
import { leaseMsFor } from "../../domain/tasks/lease.js";
import { subtaskSubject, type Subtask, type SubtaskCommand } from "../../domain/tasks/subtask.js";
import type { SubtaskSpec } from "../../domain/tasks/subtaskEvents.js";

type HandleSubtask = ((subject: string, command: SubtaskCommand, meta: CommandMeta) => Promise<HandledCommand>) & {
  prime?: (subject: string, state: Subtask, version: number) => void;
};

export interface Assignment {
  readonly subtaskId: string;
  readonly spec: SubtaskSpec;
  readonly leaseId: string;
  readonly leaseExpiresAt: string;
  readonly attempt: number;
}

export type AssignOutcome = { readonly assigned: true; readonly assignment: Assignment } | { readonly assigned: false; readonly reason: "no_work" | "at_capacity"; readonly message: string };

export interface WorkAssignerDeps {
  readonly pool: pg.Pool;
  readonly handleSubtask: HandleSubtask;
  /** The least lease (EC_LEASE_MS). */
  readonly leaseMs: number;
}

/**
 * What this coordinator has claimed in the last seconds, by subtask and by agent. Its projection
 * lags the stream, so for a moment it still shows them queued (and the agent as holding fewer
 * leases): skipping them keeps concurrent pulls from queueing on a subtask that is gone, and the
 * agent's count honest.
 */
function claimMemory(forMs = 2_000) {
  const until = new Map<string, { agentId: string; end: number; version?: number }>();
  const sweep = (now: number) => {
    for (const [id, c] of until) if (c.end < now) until.delete(id);
  };
  return {
    add(subtaskId: string, agentId: string, now: number) {
      until.set(subtaskId, { agentId, end: now + forMs });
    },
    /** The claim won: the assignment is at this stream version. */
    won(subtaskId: string, version: number) {
      const c = until.get(subtaskId);
      if (c) until.set(subtaskId, { ...c, version });
    },
    ids(now: number): string[] {
      sweep(now);
      return [...until.keys()];
    },
    /** Assignments won for the agent, with their versions. */
    wonBy(agentId: string, now: number): { subtaskId: string; version: number }[] {
      sweep(now);
      return [...until].flatMap(([subtaskId, c]) => (c.agentId === agentId && c.version !== undefined ? [{ subtaskId, version: c.version }] : []));
    },
  };
}

/**
 * The claim loop of POST /pull: an eligible agent gets the best queued subtask it may take, under
 * a lease, if it holds fewer open leases than it declared it runs at once. Subtasks an agent's
 * own try left without a result go to others first. Pulls of one agent run one after another,
 * so two at once cannot both pass the lease count.
 */
export function workAssigner(deps: WorkAssignerDeps) {
  const recent = claimMemory();
  const queues = new Map<string, Promise<unknown>>();

  /** The agent's live leases: the projection's, and those won here that it does not show yet. */
  async function openLeases(agentId: string, now: number): Promise<number> {
    const won = recent.wonBy(agentId, now);
    const { rows } = await deps.pool.query<{ subtask_id: string; live: boolean; last_seq: number }>(
      `SELECT subtask_id, (agent_id = $1 AND status = 'assigned' AND lease_expires_at > now()) AS live, last_seq FROM subtasks
        WHERE (agent_id = $1 AND status = 'assigned' AND lease_expires_at > now()) OR subtask_id = ANY($2)`,
      [agentId, won.map((w) => w.subtaskId)],
    );
    const projected = new Map(rows.map((r) => [r.subtask_id, r]));
    const open = new Set(rows.filter((r) => r.live).map((r) => r.subtask_id));
    for (const w of won) {
      const row = projected.get(w.subtaskId);
      if (!row || Number(row.last_seq) < w.version) open.add(w.subtaskId);
    }
    return open.size;
  }

  async function assignOnce(agentId: string, filter: ClaimFilter, maxConcurrent: number, at: Date): Promise<AssignOutcome> {
    const now = at.getTime();
    const open = await openLeases(agentId, now);
    if (!hasRoom(open, maxConcurrent)) {
      return { assigned: false, reason: "at_capacity", message: `the agent holds ${open} open lease(s), as many as it declared it runs at once (maxConcurrent ${maxConcurrent})` };
    }
    for (const { subtaskId, state, version, updatedAt } of await claimCandidates(deps.pool, filter, { exclude: recent.ids(now), forAgent: agentId })) {
      if (state.status === "none" || !mayTake(state, agentId, now - updatedAt.getTime())) continue;
      const { spec } = state;
      const subject = subtaskSubject(subtaskId);
      deps.handleSubtask.prime?.(subject, state, version);
      const leaseId = randomUUID();
      recent.add(subtaskId, agentId, now);
      try {
        const done = await deps.handleSubtask(
          subject,
          { kind: "assign", agentId, leaseId, leaseMs: leaseMsFor(deps.leaseMs, spec.timeoutMs), now: at },
          { now: at, refusalFromCache: true },
        );
        const assigned = done.events.find((e) => e.type === "subtask.assigned")?.data as { leaseExpiresAt: string; attempt: number } | undefined;
        if (!assigned) continue;
        recent.won(subtaskId, done.version);
        return { assigned: true, assignment: { subtaskId, spec, leaseId, leaseExpiresAt: assigned.leaseExpiresAt, attempt: assigned.attempt } };
      } catch (err) {
        // Another coordinator or agent got there first, or the projection was behind: try the next.
        if (err instanceof DomainRuleViolation) continue;
        throw err;
      }
    }
    return { assigned: false, reason: "no_work", message: "no queued subtask matches this agent" };
  }

  return {
    assign(agentId: string, filter: ClaimFilter, maxConcurrent: number, at: Date): Promise<AssignOutcome> {
      const go = () => assignOnce(agentId, filter, maxConcurrent, at);
      const previous = queues.get(agentId);
      const run = previous ? previous.then(go, go) : go();
      const tail: Promise<unknown> = run.then(
        () => queues.get(agentId) === tail && queues.delete(agentId),
        () => queues.get(agentId) === tail && queues.delete(agentId),
      );
      queues.set(agentId, tail);
      return run;
    },
  };
}
