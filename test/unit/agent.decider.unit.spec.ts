import { describe, it } from "vitest";
import { agentDecider } from "../../src/domain/agents/agent.js";
import type { AgentEvent } from "../../src/domain/agents/agentEvents.js";
import { given } from "../support/decider.js";

const profile = { mode: "worker" as const, capabilities: { models: ["qwen2.5-coder:1.5b"], languages: ["python" as const], sandbox: "bwrap" as const, resourceClass: "cpu" as const, maxConcurrent: 1 } };
const registered: AgentEvent = { type: "agent.registered", data: profile };
const approved: AgentEvent = { type: "agent.approved", data: { by: "admin" } };
const blacklisted: AgentEvent = { type: "agent.blacklisted", data: { by: "admin", reason: "forged results" } };

describe("agent registration and approval", () => {
  it("a new agent waits for approval unless the coordinator approves automatically", () => {
    given(agentDecider).when({ kind: "register", profile, autoApprove: false }).then([registered]);
    given(agentDecider).when({ kind: "register", profile, autoApprove: true }).then([registered, { type: "agent.approved", data: { by: "auto-approval" } }]);
  });

  it("registering again with the same profile changes nothing; a new profile is recorded", () => {
    given(agentDecider, [registered, approved]).when({ kind: "register", profile, autoApprove: false }).then([]);
    const withJs = { ...profile, capabilities: { ...profile.capabilities, languages: ["python" as const, "javascript" as const] } };
    given(agentDecider, [registered, approved])
      .when({ kind: "register", profile: withJs, autoApprove: false })
      .then([{ type: "agent.profileChanged", data: withJs }]);
  });

  it("a person approves a pending agent; approving twice is a no-op", () => {
    given(agentDecider, [registered]).when({ kind: "approve", by: "admin" }).then([approved]);
    given(agentDecider, [registered, approved]).when({ kind: "approve", by: "admin" }).then([]);
    given(agentDecider).when({ kind: "approve", by: "admin" }).thenThrows("not_registered");
  });

  it("a blacklisted agent stays out: no registration, no approval", () => {
    given(agentDecider, [registered, approved]).when({ kind: "blacklist", by: "admin", reason: "forged results" }).then([blacklisted]);
    given(agentDecider).when({ kind: "blacklist", by: "admin", reason: "forged results" }).then([blacklisted]);
    given(agentDecider, [registered, blacklisted]).when({ kind: "register", profile, autoApprove: true }).thenThrows("blacklisted");
    given(agentDecider, [registered, blacklisted]).when({ kind: "approve", by: "admin" }).thenThrows("blacklisted");
    given(agentDecider, [registered, blacklisted]).when({ kind: "blacklist", by: "admin", reason: "again" }).thenThrows("blacklisted");
  });
});
