import { randomInt } from "node:crypto";
import { agentRecord } from "../../domain/agents/agent.js";
import { DomainRuleViolation } from "../../domain/decider.js";
import { shouldCheck } from "../../domain/tasks/resultCheck.js";
import { subtaskSubject, type Subtask, type SubtaskCommand } from "../../domain/tasks/subtask.js";
import { refusal, type PrimableHandle, type Refusal } from "../commands.js";
import type { AgentDirectory } from "../agents/agentDirectory.js";
import { unknownAgent } from "../agents/agentHeartbeat.js";

export interface ReportResultDeps {
  readonly directory: AgentDirectory;
  readonly handleSubtask: PrimableHandle<SubtaskCommand, Subtask>;
  /** A result of the agent's was taken: that lease no longer counts (workAssigner's resultTaken). */
  readonly resultTaken: (subtaskId: string, agentId: string, version: number, at: Date) => void;
  /** A uniform random number in [0, 1) for the result-check sampling (default: crypto). */
  readonly draw?: (() => number) | undefined;
  readonly now: () => Date;
}

export interface ResultReport {
  readonly subtaskId: string;
  readonly leaseId: string;
  readonly ok: boolean;
  readonly code: string;
  readonly output: string;
  readonly stderr: string;
  readonly durationMs: number;
}

export interface ReportTaken {
  /** What the result caused, e.g. ["subtask.completed"], ["subtask.reported"]; none: it was taken before. */
  readonly events: readonly string[];
  /** The result is held until this coordinator has run its code and seen the same output. */
  readonly checking: boolean;
}

/**
 * An agent reports the result of a subtask it holds a lease on. The agent is read afresh, not
 * from a copy: a blacklisted agent's report is never taken. Whether the result is held until the
 * coordinator has run its code is the agent's record's to decide (shouldCheck). The subtask's
 * decider refuses a report for a lease that is not the agent's (409) or an unknown subtask (404).
 */
export function reportResult(deps: ReportResultDeps) {
  const draw = deps.draw ?? (() => randomInt(0, 2 ** 47) / 2 ** 47);
  return async (agentId: string, report: ResultReport): Promise<ReportTaken | Refusal<"unknown_agent" | "blacklisted">> => {
    const agent = await deps.directory.agent(agentId, { fresh: true });
    if (!agent) return unknownAgent();
    if (agent.status === "blacklisted") return refusal("blacklisted", `the agent is blacklisted: ${agent.reason}`);
    const { subtaskId, leaseId, ok, code, output, stderr, durationMs } = report;
    const at = deps.now();
    const check = shouldCheck(agentRecord(agent), draw());
    const done = await deps
      .handleSubtask(subtaskSubject(subtaskId), { kind: "report", agentId, leaseId, now: at, ok, code, output, stderr, durationMs, check }, { now: at, commandId: `report:${leaseId}` })
      .catch((err: unknown) => {
        if (err instanceof DomainRuleViolation && err.code === "unknown_subtask") throw new DomainRuleViolation(err.code, `no subtask ${subtaskId}`, true);
        throw err;
      });
    if (done.events.length > 0) deps.resultTaken(subtaskId, agentId, done.version, at);
    return { events: done.events.map((e) => e.type), checking: done.events.some((e) => e.type === "subtask.reported") };
  };
}
