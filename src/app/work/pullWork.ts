import type { HeartbeatStore } from "../../adapters/agents/heartbeats.js";
import { eligibility, type Eligibility } from "../../domain/agents/eligibility.js";
import type { PowerTelemetry } from "../../domain/agents/powerPolicy.js";
import { refusal, type Refusal } from "../commands.js";
import type { AgentDirectory } from "../agents/agentDirectory.js";
import { knownAgent } from "../agents/agentHeartbeat.js";
import { pullBeats } from "./pullBeats.js";
import type { AssignOutcome, workAssigner } from "./workAssigner.js";
import { workSignal, type WorkSignal } from "./workSignal.js";

/** A signal nobody notifies: a waiting pull then only looks again on its interval. */
const NO_SIGNAL = workSignal();

export interface PullWorkDeps {
  readonly directory: AgentDirectory;
  readonly assigner: Pick<ReturnType<typeof workAssigner>, "assign">;
  readonly heartbeats: HeartbeatStore;
  readonly heartbeatIntervalMs: number;
  readonly sandboxRequired: boolean;
  readonly now: () => Date;
  /** Wakes a pull that waits for work (waitMs) when the queue may have changed; none: such a pull looks again every LOOK_AGAIN_MS. */
  readonly workSignal?: WorkSignal;
}

/** The longest a pull may wait for work (its `waitMs`): well inside clients' and proxies' timeouts. */
export const MAX_PULL_WAIT_MS = 25_000;
/** How often a waiting pull looks at the queue by itself when the node gives it no signal to wait on. */
export const LOOK_AGAIN_MS = 1_000;

/** What a pull gets: a subtask under a lease, or why none (with how long to wait, for a power deferral). */
export type Pulled = AssignOutcome | { readonly assigned: false; readonly reason: Exclude<Eligibility, { eligible: true }>["reason"]; readonly message: string; readonly deferMs?: number };

/**
 * POST /pull: an agent asks for work. A blacklisted agent is refused; one that may not take work
 * now (not approved, its power policy, no model, no sandbox where one is required) is told why;
 * an eligible one gets the best subtask it may take (workAssigner), within its lease limits.
 */
export function pullWork(deps: PullWorkDeps) {
  const beats = pullBeats(deps.heartbeatIntervalMs / 4);
  /**
   * With `waitMs`, a pull that finds no work waits for some, up to that long, instead of answering
   * no_work at once: idle workers cost a held connection, not a request every few hundred
   * milliseconds, and work queued meanwhile is handed out as soon as the projection shows it.
   * `gone` aborts the wait (the worker hung up); a lease is then not handed to it.
   */
  return async (
    agentId: string,
    power: PowerTelemetry,
    opts: { waitMs?: number; gone?: AbortSignal } = {},
  ): Promise<Pulled | Refusal<"unknown_agent" | "device_type_changed" | "blacklisted">> => {
    const agent = await knownAgent(deps.directory, agentId, power);
    if ("refused" in agent) return agent;
    if (agent.status === "blacklisted") return refusal("blacklisted", `the agent is blacklisted: ${agent.reason}`);
    const at = deps.now();
    if (beats.due(agentId, at.getTime())) await deps.heartbeats.beat(agentId, { at: at.getTime(), power });
    const verdict = eligibility(agent, power, { sandboxRequired: deps.sandboxRequired });
    if (!verdict.eligible) return { assigned: false, reason: verdict.reason, message: verdict.message, ...(verdict.deferMs ? { deferMs: verdict.deferMs } : {}) };
    const limits =
      agent.status === "approved" ? { maxConcurrent: agent.profile.capabilities.maxConcurrent, ...(agent.profile.owner ? { owner: agent.profile.owner } : {}) } : { maxConcurrent: 1 };
    const first = await deps.assigner.assign(agentId, verdict.filter, limits, at);
    const waitMs = Math.min(opts.waitMs ?? 0, MAX_PULL_WAIT_MS);
    if (first.assigned || first.reason !== "no_work" || waitMs <= 0) return first;
    const deadline = at.getTime() + waitMs;
    let outcome: AssignOutcome = first;
    for (let left = waitMs; left > 0 && !opts.gone?.aborted; left = deadline - deps.now().getTime()) {
      // With a signal the wait is the whole of what is left (the signal looks at the queue for everyone).
      await (deps.workSignal ? deps.workSignal.next(left, opts.gone) : NO_SIGNAL.next(Math.min(left, LOOK_AGAIN_MS), opts.gone));
      if (opts.gone?.aborted) break;
      outcome = await deps.assigner.assign(agentId, verdict.filter, limits, deps.now());
      if (outcome.assigned || outcome.reason !== "no_work") return outcome;
    }
    return outcome;
  };
}
