import { setTimeout as sleep } from "node:timers/promises";
import type { Agent } from "../../domain/agents/agent.js";
import { agentById } from "../../projections/agents/queries.js";
import type { Db } from "../../projections/keyset.js";
import { agentCopies } from "./agentCopies.js";

/** How long a coordinator trusts its copy of an agent's state (a blacklisting waits this out before its last look for leases). */
export const AGENT_CACHE_MS = 1_000;
/** How long a registration waits at most for the projection to show what it decided. */
export const PROJECTED_WAIT_MS = 2_000;
const POLL_MS = 20;

export interface AgentDirectoryDeps {
  readonly pool: Db;
  readonly now: () => Date;
}

export type AgentDirectory = ReturnType<typeof agentDirectory>;

/** The agents as this coordinator sees them: the projection, through its copies (agentCopies). */
export function agentDirectory(deps: AgentDirectoryDeps) {
  const copies = agentCopies<Agent>(AGENT_CACHE_MS);
  const clock = () => deps.now().getTime();

  return {
    /** The agent; `fresh`: read from the projection, not from a copy (a blacklisted agent's report is never taken). */
    async agent(agentId: string, opts: { fresh?: boolean } = {}): Promise<Agent | undefined> {
      const copy = opts.fresh ? undefined : copies.fresh(agentId, clock());
      if (copy) return copy;
      const state = (await agentById(deps.pool, agentId))?.state;
      copies.keep(agentId, state, clock());
      return state;
    },

    /**
     * The agent as projected once the projection holds `version`, which also becomes this
     * coordinator's copy: a registration's reply, and the requests after it, see what it decided
     * (an approval withdrawn, a new device type) rather than the copy of a second ago. Bounded: a
     * lagging projection delays a registration by PROJECTED_WAIT_MS at most (by as many looks
     * when the clock stands still).
     */
    async projected(agentId: string, version: number): Promise<Agent | undefined> {
      const deadline = clock() + PROJECTED_WAIT_MS;
      for (let looks = 1; ; looks++) {
        const row = await agentById(deps.pool, agentId);
        if ((row && row.version >= version) || clock() > deadline || looks * POLL_MS > PROJECTED_WAIT_MS) {
          if (row) copies.keep(agentId, row.state, clock());
          return row?.state;
        }
        await sleep(POLL_MS);
      }
    },
  };
}
