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
  /** Open leases all agents of one owner account may hold together (EC_OWNER_MAX_LEASES). */
  readonly ownerMaxLeases?: number;
}

/** What an agent may hold: its own declared concurrency, and its owner's share. */
export interface LeaseLimits {
  readonly maxConcurrent: number;
  readonly owner?: string;
}

export const DEFAULT_OWNER_MAX_LEASES = 256;

/**
 * Subtasks this coordinator claimed (or tried to) in the last seconds. Its projection lags the
 * stream, so for a moment it still shows them queued: skipping them keeps concurrent pulls from
 * queueing up on a subtask that is gone.
 */
function claimMemory(forMs = 2_000) {
  const until = new Map<string, number>();
  return {
    add(subtaskId: string, now: number) {
      until.set(subtaskId, now + forMs);
    },
    ids(now: number): string[] {
      for (const [id, end] of until) if (end < now) until.delete(id);
      return [...until.keys()];
    },
  };
}

/**
 * What this coordinator did to each agent's leases lately (won one, took its result), at which
 * stream version: under load the projection lags by seconds, and an agent whose last result it
 * does not show yet would seem to hold a lease it gave back. Kept for a minute, far beyond lag.
 */
function leaseMemory(forMs = 60_000, maxAgents = 10_000) {
  const byAgent = new Map<string, Map<string, { held: boolean; version: number; end: number }>>();
  return {
    note(agentId: string, subtaskId: string, held: boolean, version: number, now: number) {
      let leases = byAgent.get(agentId);
      if (!leases) {
        if (byAgent.size >= maxAgents) byAgent.delete(byAgent.keys().next().value as string);
        byAgent.set(agentId, (leases = new Map()));
      }
      leases.set(subtaskId, { held, version, end: now + forMs });
    },
    of(agentId: string, now: number): { subtaskId: string; held: boolean; version: number }[] {
      const leases = byAgent.get(agentId);
      if (!leases) return [];
      for (const [id, l] of leases) if (l.end < now) leases.delete(id);
      if (leases.size === 0) byAgent.delete(agentId);
      return [...leases].map(([subtaskId, l]) => ({ subtaskId, held: l.held, version: l.version }));
    },
  };
}

/**
 * The claim loop of POST /pull: an eligible agent gets the best queued subtask it may take, under
 * a lease, if it holds fewer open leases than it declared it runs at once and its owner account's
 * agents together hold fewer than one owner may. Subtasks an agent's own try left without a
 * result go to others first. Pulls of one agent (of one owner) run one after another, so two at
 * once cannot both pass the lease count.
 */
export function workAssigner(deps: WorkAssignerDeps) {
  const recent = claimMemory();
  const leases = leaseMemory();
  const queues = new Map<string, Promise<unknown>>();

  /** Live leases in the projection's rows, corrected by what this coordinator did that they do not show yet. */
  function corrected(rows: readonly { subtask_id: string; live: boolean; last_seq: number }[], known: readonly { subtaskId: string; held: boolean; version: number }[]): number {
    const open = new Set(rows.filter((r) => r.live).map((r) => r.subtask_id));
    const projected = new Map(rows.map((r) => [r.subtask_id, Number(r.last_seq)]));
    for (const k of known) {
      if ((projected.get(k.subtaskId) ?? 0) >= k.version) continue;
      if (k.held) open.add(k.subtaskId);
      else open.delete(k.subtaskId);
    }
    return open.size;
  }

  /**
   * The agent's live leases: the projection's, corrected by what this coordinator did in the
   * last seconds that the projection does not show yet (leases won here, results taken here).
   */
  async function openLeases(agentId: string, now: number): Promise<number> {
    const known = leases.of(agentId, now);
    const { rows } = await deps.pool.query<{ subtask_id: string; live: boolean; last_seq: number }>(
      `SELECT subtask_id, (agent_id = $1 AND status = 'assigned' AND lease_expires_at > now()) AS live, last_seq FROM subtasks
        WHERE (agent_id = $1 AND status = 'assigned' AND lease_expires_at > now()) OR subtask_id = ANY($2)`,
      [agentId, known.map((k) => k.subtaskId)],
    );
    return corrected(rows, known);
  }

  /** The same for all agents of one owner account. */
  async function ownerLeases(owner: string, now: number): Promise<number> {
    const known = leases.of(`owner:${owner}`, now);
    const { rows } = await deps.pool.query<{ subtask_id: string; live: boolean; last_seq: number }>(
      `SELECT s.subtask_id, (a.owner IS NOT DISTINCT FROM $1 AND s.status = 'assigned' AND s.lease_expires_at > now()) AS live, s.last_seq
         FROM subtasks s LEFT JOIN agents a ON a.agent_id = s.agent_id
        WHERE (a.owner = $1 AND s.status = 'assigned' AND s.lease_expires_at > now()) OR s.subtask_id = ANY($2)`,
      [owner, known.map((k) => k.subtaskId)],
    );
    return corrected(rows, known);
  }

  const ownerOf = new Map<string, string>();
  const note = (agentId: string, subtaskId: string, held: boolean, version: number, now: number) => {
    leases.note(agentId, subtaskId, held, version, now);
    const owner = ownerOf.get(agentId);
    if (owner) leases.note(`owner:${owner}`, subtaskId, held, version, now);
  };

  async function assignOnce(agentId: string, filter: ClaimFilter, limits: LeaseLimits, at: Date): Promise<AssignOutcome> {
    const now = at.getTime();
    const open = await openLeases(agentId, now);
    if (!hasRoom(open, limits.maxConcurrent)) {
      return { assigned: false, reason: "at_capacity", message: `the agent holds ${open} open lease(s), as many as it declared it runs at once (maxConcurrent ${limits.maxConcurrent})` };
    }
    if (limits.owner) {
      if (ownerOf.size > 10_000) ownerOf.clear();
      ownerOf.set(agentId, limits.owner);
      const ownerMax = deps.ownerMaxLeases ?? DEFAULT_OWNER_MAX_LEASES;
      const held = await ownerLeases(limits.owner, now);
      if (!hasRoom(held, ownerMax)) {
        return { assigned: false, reason: "at_capacity", message: `the agents of owner ${limits.owner} hold ${held} open lease(s), as many as one owner may (${ownerMax})` };
      }
    }
    for (const { subtaskId, state, version, updatedAt } of await claimCandidates(deps.pool, filter, { exclude: recent.ids(now), forAgent: agentId })) {
      if (state.status === "none" || !mayTake(state, agentId, now - updatedAt.getTime())) continue;
      const { spec } = state;
      const subject = subtaskSubject(subtaskId);
      deps.handleSubtask.prime?.(subject, state, version);
      const leaseId = randomUUID();
      recent.add(subtaskId, now);
      try {
        const done = await deps.handleSubtask(
          subject,
          { kind: "assign", agentId, leaseId, leaseMs: leaseMsFor(deps.leaseMs, spec.timeoutMs), now: at },
          { now: at, refusalFromCache: true },
        );
        const assigned = done.events.find((e) => e.type === "subtask.assigned")?.data as { leaseExpiresAt: string; attempt: number } | undefined;
        if (!assigned) continue;
        note(agentId, subtaskId, true, done.version, now);
        return { assigned: true, assignment: { subtaskId, spec, leaseId, leaseExpiresAt: assigned.leaseExpiresAt, attempt: assigned.attempt } };
      } catch (err) {
        // Another coordinator or agent got there first, or the projection was behind: try the next.
        if (err instanceof DomainRuleViolation) continue;
        throw err;
      }
    }
    return { assigned: false, reason: "no_work", message: "no queued subtask matches this agent" };
  }

  /**
   * Takes back every lease the agent holds: its worker started again (a registration), and a new
   * process holds none of its old leases, which would otherwise count against its cap until they
   * ran out. The try does not count against the subtask (subtask.leaseRevoked).
   */
  async function releaseAll(agentId: string, reason: string, at: Date): Promise<number> {
    const now = at.getTime();
    const { rows } = await deps.pool.query<{ subtask_id: string }>("SELECT subtask_id FROM subtasks WHERE agent_id = $1 AND status = 'assigned'", [agentId]);
    const held = new Set([...rows.map((r) => r.subtask_id), ...leases.of(agentId, now).filter((l) => l.held).map((l) => l.subtaskId)]);
    let revoked = 0;
    for (const subtaskId of held) {
      const done = await deps.handleSubtask(subtaskSubject(subtaskId), { kind: "revokeLease", agentId, reason }, { now: at });
      if (done.events.length > 0) {
        revoked++;
        note(agentId, subtaskId, false, done.version, now);
      }
    }
    return revoked;
  }

  return {
    releaseAll,
    /** A result of the agent's was taken here: that lease no longer counts, whatever the projection shows yet. */
    resultTaken(subtaskId: string, agentId: string, version: number, at: Date): void {
      note(agentId, subtaskId, false, version, at.getTime());
    },
    assign(agentId: string, filter: ClaimFilter, limits: LeaseLimits, at: Date): Promise<AssignOutcome> {
      const go = () => assignOnce(agentId, filter, limits, at);
      // One owner's agents take their turns together, so two of them cannot both pass its count.
      const key = limits.owner ? `owner:${limits.owner}` : agentId;
      const previous = queues.get(key);
      const run = previous ? previous.then(go, go) : go();
      const tail: Promise<unknown> = run.then(
        () => queues.get(key) === tail && queues.delete(key),
        () => queues.get(key) === tail && queues.delete(key),
      );
      queues.set(key, tail);
      return run;
    },
  };
}
