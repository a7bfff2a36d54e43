import { describe, expect, it } from "vitest";
import { agentDecider, agentRecord, noAgent, type Agent } from "../../src/domain/agents/agent.js";
import type { AgentEvent, AgentProfile } from "../../src/domain/agents/agentEvents.js";
import { given } from "../support/decider.js";

const profile = {
  mode: "worker" as const,
  capabilities: { models: ["qwen2.5-coder:1.5b"], languages: ["python" as const], sandbox: "bwrap" as const, resourceClass: "cpu" as const, maxConcurrent: 1 },
  deviceType: "server" as const,
};
const withCaps = (caps: Partial<AgentProfile["capabilities"]>, more: Partial<AgentProfile> = {}): AgentProfile => ({ ...profile, ...more, capabilities: { ...profile.capabilities, ...caps } });
const registered: AgentEvent = { type: "agent.registered", data: profile };
const approved: AgentEvent = { type: "agent.approved", data: { by: "admin" } };
const autoApproved: AgentEvent = { type: "agent.approved", data: { by: "auto-approval" } };
const blacklisted: AgentEvent = { type: "agent.blacklisted", data: { by: "admin", reason: "forged results" } };
const now = new Date("2026-11-23T10:00:00.000Z");
const check = (subtaskId: string, leaseId: string, ok: boolean, at = now.toISOString()): AgentEvent => ({
  type: "agent.resultChecked",
  data: { subtaskId, leaseId, ok, ...(ok ? {} : { reason: "the output differs" }), at },
});
const fold = (events: AgentEvent[]): Agent => events.reduce(agentDecider.evolve, noAgent());

describe("agent registration and approval", () => {
  it("a new agent waits for approval unless the coordinator approves automatically", () => {
    given(agentDecider).when({ kind: "register", profile, autoApprove: false }).then([registered]);
    given(agentDecider).when({ kind: "register", profile, autoApprove: true }).then([registered, autoApproved]);
  });

  it("registering again with the same profile changes nothing; a new profile is recorded", () => {
    given(agentDecider, [registered, approved]).when({ kind: "register", profile, autoApprove: false }).then([]);
    const renamed = { ...profile, name: "my laptop" };
    given(agentDecider, [registered, approved]).when({ kind: "register", profile: renamed, autoApprove: false }).then([{ type: "agent.profileChanged", data: renamed }]);
  });

  it("the same profile in another order or with repeats is the same profile, and is stored in one form", () => {
    const both = withCaps({ models: ["b", "a"], languages: ["python", "javascript"] });
    const canonical = withCaps({ models: ["a", "b"], languages: ["javascript", "python"] });
    given(agentDecider).when({ kind: "register", profile: both, autoApprove: false }).then([{ type: "agent.registered", data: canonical }]);
    const stored: AgentEvent = { type: "agent.registered", data: canonical };
    given(agentDecider, [stored]).when({ kind: "register", profile: withCaps({ models: ["a", "b", "a"], languages: ["javascript", "python", "python"] }), autoApprove: false }).then([]);
    // Histories from before profiles were stored in one form compare the same way.
    given(agentDecider, [{ type: "agent.registered", data: both }]).when({ kind: "register", profile: canonical, autoApprove: false }).then([]);
  });

  it("a person approves a pending agent; approving twice is a no-op; who approved is kept", () => {
    given(agentDecider, [registered]).when({ kind: "approve", by: "admin" }).then([approved]);
    given(agentDecider, [registered, approved]).when({ kind: "approve", by: "admin" }).then([]);
    given(agentDecider).when({ kind: "approve", by: "admin" }).thenThrows("not_registered");
    expect(fold([registered, approved])).toMatchObject({ status: "approved", approvedBy: "admin", approvedProfile: profile });
    expect(fold([registered, autoApproved])).toMatchObject({ status: "approved", approvedBy: "auto-approval" });
  });

  it("a blacklisted agent stays out: no registration, no approval", () => {
    given(agentDecider, [registered, approved]).when({ kind: "blacklist", by: "admin", reason: "forged results" }).then([blacklisted]);
    given(agentDecider).when({ kind: "blacklist", by: "admin", reason: "forged results" }).then([blacklisted]);
    given(agentDecider, [registered, blacklisted]).when({ kind: "register", profile, autoApprove: true }).thenThrows("blacklisted");
    given(agentDecider, [registered, blacklisted]).when({ kind: "approve", by: "admin" }).thenThrows("blacklisted");
    given(agentDecider, [registered, blacklisted]).when({ kind: "blacklist", by: "admin", reason: "again" }).thenThrows("blacklisted");
  });
});

describe("registering beyond the approved profile", () => {
  const claims: [string, AgentProfile, RegExp][] = [
    ["a model it was not approved with", withCaps({ models: ["llama3:70b", "qwen2.5-coder:1.5b"] }), /model llama3:70b/],
    ["a GPU", withCaps({ resourceClass: "gpu" }), /resource class gpu/],
    ["another language", withCaps({ languages: ["javascript", "python"] }), /language javascript/],
    ["more concurrent work", withCaps({ maxConcurrent: 8 }), /maxConcurrent 8 \(approved: 1\)/],
    ["another sandbox", withCaps({ sandbox: "docker" }), /sandbox docker \(approved: bwrap\)/],
    ["ide mode", withCaps({}, { mode: "ide" }), /mode ide \(approved: worker\)/],
    ["another device type", withCaps({}, { deviceType: "laptop" }), /device type laptop \(approved: server\)/],
    ["another owner account", withCaps({}, { owner: "someone-else" }), /owner someone-else \(approved: none\)/],
  ];

  it.each(claims)("an operator's approval is withdrawn for %s, even where the policy approves everyone", (_what, next, reason) => {
    for (const autoApprove of [false, true]) {
      const events = agentDecider.decide({ kind: "register", profile: next, autoApprove }, fold([registered, approved]));
      expect(events.map((e) => e.type)).toEqual(["agent.profileChanged", "agent.approvalWithdrawn", ...(autoApprove ? ["agent.approved"] : [])]);
      expect(events[1]!.data).toEqual({ reason: expect.stringMatching(reason) });
      const after = events.reduce(agentDecider.evolve, fold([registered, approved]));
      expect(after).toMatchObject(autoApprove ? { status: "approved", approvedBy: "auto-approval", approvedProfile: next } : { status: "pending", profile: next });
    }
  });

  it("an approval by the policy is decided again by the policy at that registration", () => {
    const gpu = withCaps({ resourceClass: "gpu" });
    given(agentDecider, [registered, autoApproved])
      .when({ kind: "register", profile: gpu, autoApprove: false })
      .thenState({ ...(fold([registered]) as object), status: "pending", profile: gpu } as Agent);
    const again = agentDecider.decide({ kind: "register", profile: gpu, autoApprove: true }, fold([registered, autoApproved]));
    expect(again.reduce(agentDecider.evolve, fold([registered, autoApproved]))).toMatchObject({ status: "approved", approvedProfile: gpu });
  });

  it("claiming less keeps the approval, and claiming again what was approved needs none", () => {
    const noModel = withCaps({ models: [] });
    given(agentDecider, [registered, approved]).when({ kind: "register", profile: noModel, autoApprove: false }).then([{ type: "agent.profileChanged", data: noModel }]);
    const narrowed: AgentEvent = { type: "agent.profileChanged", data: noModel };
    given(agentDecider, [registered, approved, narrowed]).when({ kind: "register", profile, autoApprove: false }).then([{ type: "agent.profileChanged", data: profile }]);
    expect(fold([registered, approved, narrowed, { type: "agent.profileChanged", data: profile }])).toMatchObject({ status: "approved" });
  });

  it("a profile approved before device types were recorded takes one without review", () => {
    const { deviceType: _, ...old } = profile;
    const history: AgentEvent[] = [{ type: "agent.registered", data: old }, approved];
    given(agentDecider, history).when({ kind: "register", profile, autoApprove: false }).then([{ type: "agent.profileChanged", data: profile }]);
  });

  it("a pending agent that registers again is decided by the policy as before", () => {
    given(agentDecider, [registered]).when({ kind: "register", profile, autoApprove: false }).then([]);
    given(agentDecider, [registered]).when({ kind: "register", profile, autoApprove: true }).then([autoApproved]);
  });
});

describe("the record of checked results", () => {
  const recordCheck = (subtaskId: string, leaseId: string, ok: boolean) =>
    ({ kind: "recordCheck", subtaskId, leaseId, ok, ...(ok ? {} : { reason: "the output differs" }), now }) as const;

  it("a check is recorded with its outcome and time", () => {
    given(agentDecider, [registered, approved]).when(recordCheck("t-0", "L1", true)).then([check("t-0", "L1", true)]);
    given(agentDecider, [registered, approved]).when(recordCheck("t-0", "L1", false)).then([check("t-0", "L1", false)]);
  });

  it("the same check recorded twice appends nothing the second time", () => {
    given(agentDecider, [registered, approved, check("t-0", "L1", true)]).when(recordCheck("t-0", "L1", true)).then([]);
    given(agentDecider, [registered, approved, check("t-0", "L1", true)]).when(recordCheck("t-0", "L1", false)).then([]);
    given(agentDecider, [registered, approved, check("t-0", "L1", true)]).when(recordCheck("t-0", "L2", true)).then([check("t-0", "L2", true)]);
  });

  it("a failure resets the streak; passes count it up again", () => {
    const history = [registered, approved, check("t-0", "L1", true), check("t-1", "L2", true), check("t-2", "L3", false, "2026-11-23T11:00:00.000Z"), check("t-3", "L4", true)];
    expect(agentRecord(fold(history))).toEqual({ checked: 4, failed: 1, streak: 1, lastFailedAt: "2026-11-23T11:00:00.000Z" });
  });

  it("pending, approved and blacklisted agents all keep it; an old history folds to zeros; an unknown key has none", () => {
    expect(agentRecord(noAgent())).toEqual({ checked: 0, failed: 0, streak: 0 });
    expect(agentRecord(fold([registered, approved]))).toEqual({ checked: 0, failed: 0, streak: 0 });
    expect(agentRecord(fold([registered, check("t-0", "L1", true)]))).toMatchObject({ checked: 1, streak: 1 });
    const out = fold([registered, approved, check("t-0", "L1", false), blacklisted]);
    expect(out).toMatchObject({ status: "blacklisted", record: { checked: 1, failed: 1, streak: 0 } });
    given(agentDecider, [registered, approved, blacklisted]).when(recordCheck("t-0", "L1", false)).then([check("t-0", "L1", false)]);
    given(agentDecider).when(recordCheck("t-0", "L1", true)).thenThrows("not_registered");
  });

  it("a stored check for a (subtask, lease) already counted is refused on replay", () => {
    expect(agentDecider.ruleBreak!(fold([registered, check("t-0", "L1", true)]), check("t-0", "L1", false))).toMatchObject({ code: "already_checked" });
  });
});

describe("the account an agent's work pays", () => {
  const ownerChanged: AgentEvent = { type: "agent.ownerChanged", data: { owner: "team-a", by: "alice" } };

  it("given an approved agent, when an operator names an owner, then it is recorded, and naming the same again changes nothing", () => {
    given(agentDecider, [registered, approved]).when({ kind: "setOwner", owner: "team-a", by: "alice" }).then([ownerChanged]);
    given(agentDecider, [registered, approved, ownerChanged]).when({ kind: "setOwner", owner: "team-a", by: "bob" }).then([]);
  });

  it("given an operator's owner, when the agent registers naming another, then the operator's stands and the approval holds", () => {
    const state = fold([registered, approved, ownerChanged]);
    expect(state.status === "approved" && state.profile.owner).toBe("team-a");
    given(agentDecider, [registered, approved, ownerChanged]).when({ kind: "register", profile: { ...profile, owner: "mallory" }, autoApprove: false }).then([]);
  });

  it("an unknown agent has no owner to change", () => {
    expect(() => agentDecider.decide({ kind: "setOwner", owner: "team-a", by: "alice" }, noAgent())).toThrow(/no agent registered/);
  });

  it("a blacklisting keeps the evidence's hash and who decided", () => {
    const evidenceHash = "ab".repeat(32);
    given(agentDecider, [registered, approved])
      .when({ kind: "blacklist", by: "alice", reason: "forged results", evidenceHash })
      .then([{ type: "agent.blacklisted", data: { by: "alice", reason: "forged results", evidenceHash } }]);
  });
});
