import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { agentSubject, type AgentCommand } from "../../domain/agents/agent.js";
import { DomainRuleViolation } from "../../domain/decider.js";
import { subtaskSubject, type SubtaskCommand } from "../../domain/tasks/subtask.js";
import { agentExists, agentsByFirstSeen, agentStatus, type AgentStatus, type AgentSummary } from "../../projections/agents/queries.js";
import type { CursorKey, Db, Page } from "../../projections/keyset.js";
import { subtasksAssignedTo } from "../../projections/tasks/queries.js";
import { refusal, type HandleCommand, type Refusal } from "../commands.js";
import { AGENT_CACHE_MS } from "./agentDirectory.js";

export interface AgentAdminDeps {
  readonly pool: Db;
  readonly handleAgent: HandleCommand<AgentCommand>;
  /** Takes back a blacklisted agent's leases; none: blacklisting only refuses what the agent sends next. */
  readonly handleSubtask?: HandleCommand<SubtaskCommand> | undefined;
  /** How long a coordinator may still act on its copy of an agent from before the blacklisting (default: theirs, AGENT_CACHE_MS). */
  readonly agentCacheMs?: number | undefined;
  readonly now: () => Date;
}

/** How long a blacklisting waits at most for the agents projection to show it. */
export const BLACKLIST_SPREAD_MS = 10_000;

const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/**
 * Whether a coordinator may still hand the agent a lease from its copy of it: only an agent
 * approved now, or one whose state changed within a copy's lifetime (and a second of lag).
 */
export const mayStillBeServed = (seen: { status: AgentStatus; updatedAt: Date } | undefined, now: Date, cacheMs: number): boolean =>
  seen !== undefined && (seen.status === "approved" || now.getTime() - seen.updatedAt.getTime() < cacheMs + 1_000);

/**
 * Operators list, approve and blacklist agents; approval and blacklist are events on the
 * agent's stream. Blacklisting also takes back every lease the agent holds, so its subtasks go
 * to someone else at once rather than when the leases run out; it answers once no coordinator
 * sharing this database can hand the agent another (about a second).
 */
export function agentAdmin(deps: AgentAdminDeps) {
  const clock = () => deps.now().getTime();

  /** Revokes the agent's open leases the subtasks projection shows; how many it took back. */
  async function revokeLeases(agentId: string, reason: string): Promise<number> {
    if (!deps.handleSubtask) return 0;
    let revoked = 0;
    for (const subtaskId of await subtasksAssignedTo(deps.pool, agentId)) {
      // Decided on the subtask's own stream: a lease that moved on meanwhile is left alone.
      const done = await deps.handleSubtask(subtaskSubject(subtaskId), { kind: "revokeLease", agentId, reason: cut(`the agent was blacklisted: ${reason}`, 500) }, { now: deps.now() });
      if (done.events.length > 0) revoked++;
    }
    return revoked;
  }

  /**
   * Until the agents projection shows the blacklisting and the coordinators' copies of the agent
   * have expired, a pull may still hand it a lease; after that none can. Bounded: a projection
   * that is down does not hold the operator's request forever (nor one whose clock stands still).
   */
  async function untilNoCoordinatorServes(agentId: string, cacheMs: number) {
    const deadline = clock() + BLACKLIST_SPREAD_MS;
    for (let looks = 0; clock() < deadline && looks * 50 < BLACKLIST_SPREAD_MS; looks++) {
      if ((await agentStatus(deps.pool, agentId))?.status === "blacklisted") break;
      await sleep(50);
    }
    await sleep(cacheMs + 50);
  }

  return {
    list: (opts: { status?: AgentStatus | undefined; after?: CursorKey | undefined; limit: number }): Promise<Page<AgentSummary>> => agentsByFirstSeen(deps.pool, opts),

    async approve(agentId: string): Promise<{ events: string[] } | Refusal<"unknown_agent">> {
      if (!(await agentExists(deps.pool, agentId))) return refusal("unknown_agent", `no agent ${agentId}`);
      const done = await deps.handleAgent(agentSubject(agentId), { kind: "approve", by: "operator" }, { now: deps.now() });
      return { events: done.events.map((e) => e.type) };
    },

    /**
     * A key may be blacklisted before it ever registers. Blacklisting it again is refused (409),
     * once its leases are taken back. The evidence document itself stays with whoever decided;
     * the event keeps its SHA-256, so the document shown later can be proved the one decided on.
     */
    async blacklist(agentId: string, reason: string, decision: { by?: string; evidence?: string } = {}): Promise<{ events: string[]; revokedLeases: number; evidenceHash: string | null }> {
      const cacheMs = deps.agentCacheMs ?? AGENT_CACHE_MS;
      const mayBeServed = mayStillBeServed(await agentStatus(deps.pool, agentId), deps.now(), cacheMs);
      const evidenceHash = decision.evidence === undefined ? undefined : createHash("sha256").update(decision.evidence, "utf8").digest("hex");
      const command: AgentCommand = { kind: "blacklist", by: decision.by ?? "operator", reason, ...(evidenceHash ? { evidenceHash } : {}) };
      const done = await deps.handleAgent(agentSubject(agentId), command, { now: deps.now() }).catch(async (err: unknown) => {
        // Blacklisted before (perhaps by a request that failed while revoking): finish that.
        if (err instanceof DomainRuleViolation && err.code === "blacklisted") await revokeLeases(agentId, reason);
        throw err;
      });
      // The leases it holds end now; a look again catches any handed out while the news spread.
      let revokedLeases = await revokeLeases(agentId, reason);
      if (deps.handleSubtask && mayBeServed) {
        await untilNoCoordinatorServes(agentId, cacheMs);
        revokedLeases += await revokeLeases(agentId, reason);
      }
      return { events: done.events.map((e) => e.type), revokedLeases, evidenceHash: evidenceHash ?? null };
    },

    /** An operator names the account the agent's work pays, over what the agent registered. */
    async setOwner(agentId: string, owner: string, by = "operator"): Promise<{ events: string[] } | Refusal<"unknown_agent">> {
      if (!(await agentExists(deps.pool, agentId))) return refusal("unknown_agent", `no agent ${agentId}`);
      const done = await deps.handleAgent(agentSubject(agentId), { kind: "setOwner", owner, by }, { now: deps.now() });
      return { events: done.events.map((e) => e.type) };
    },
  };
}
