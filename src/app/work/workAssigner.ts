import { randomUUID } from "node:crypto";
import type { CommandMeta, HandledCommand } from "../../adapters/events/commandHandler.js";
import { serialByKey } from "../../adapters/serialByKey.js";
import type { ClaimFilter } from "../../domain/agents/eligibility.js";
import { DomainRuleViolation } from "../../domain/decider.js";
import { hasRoom, mayTake } from "../../domain/tasks/claim.js";
import { leaseMsFor } from "../../domain/tasks/lease.js";
import { subtaskSubject, type Subtask, type SubtaskCommand } from "../../domain/tasks/subtask.js";
import type { SubtaskSpec } from "../../domain/tasks/subtaskEvents.js";
import type { Db } from "../../projections/keyset.js";
import { agentLeases, claimCandidates, ownerLeases, subtasksAssignedTo } from "../../projections/tasks/queries.js";
import { spreadEqualHead } from "./candidateOrder.js";
import { claimMemory, leaseMemory, liveLeaseCount } from "./claimMemory.js";

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
  readonly pool: Db;
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
 * The claim loop of POST /pull: an eligible agent gets the best queued subtask it may take, under
 * a lease, if it holds fewer open leases than it declared it runs at once and its owner account's
 * agents together hold fewer than one owner may. Subtasks an agent's own try left without a
 * result go to others first. Pulls of one agent (of one owner) run one after another, so two at
 * once cannot both pass the lease count.
 */
export function workAssigner(deps: WorkAssignerDeps) {
  const recent = claimMemory();
  const leases = leaseMemory();
  const inTurn = serialByKey();

  /**
   * The agent's live leases: the projection's, corrected by what this coordinator did in the
   * last seconds that the projection does not show yet (leases won here, results taken here).
   */
  async function openLeases(agentId: string, now: number): Promise<number> {
    const known = leases.of(agentId, now);
    return liveLeaseCount(await agentLeases(deps.pool, agentId, known.map((k) => k.subtaskId)), known);
  }

  /** The same for all agents of one owner account. */
  async function openOwnerLeases(owner: string, now: number): Promise<number> {
    const known = leases.of(`owner:${owner}`, now);
    return liveLeaseCount(await ownerLeases(deps.pool, owner, known.map((k) => k.subtaskId)), known);
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
      const held = await openOwnerLeases(limits.owner, now);
      if (!hasRoom(held, ownerMax)) {
        return { assigned: false, reason: "at_capacity", message: `the agents of owner ${limits.owner} hold ${held} open lease(s), as many as one owner may (${ownerMax})` };
      }
    }
    const candidates = await claimCandidates(deps.pool, filter, { limit: 8, exclude: recent.ids(now), forAgent: agentId });
    for (const { subtaskId, state, version, updatedAt } of spreadEqualHead(candidates)) {
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
    const held = new Set([...(await subtasksAssignedTo(deps.pool, agentId)), ...leases.of(agentId, now).filter((l) => l.held).map((l) => l.subtaskId)]);
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
      // One owner's agents take their turns together, so two of them cannot both pass its count.
      return inTurn(limits.owner ? `owner:${limits.owner}` : agentId, () => assignOnce(agentId, filter, limits, at));
    },
  };
}
