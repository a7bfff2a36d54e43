import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { agentDecider, agentRecord, type Agent, type AgentCommand } from "../../src/domain/agents/agent.js";
import type { AgentEvent, AgentProfile } from "../../src/domain/agents/agentEvents.js";
import { beyondApproved } from "../../src/domain/agents/profileReview.js";
import { DomainRuleViolation, foldCommit } from "../../src/domain/decider.js";

const t0 = Date.parse("2026-11-23T10:00:00.000Z");

const profile: fc.Arbitrary<AgentProfile> = fc.record({
  mode: fc.constantFrom("worker" as const, "ide" as const),
  capabilities: fc.record({
    models: fc.array(fc.constantFrom("a", "b", "c"), { maxLength: 4 }),
    languages: fc.array(fc.constantFrom("python" as const, "javascript" as const), { minLength: 1, maxLength: 2 }),
    sandbox: fc.constantFrom("bwrap" as const, "docker" as const),
    resourceClass: fc.constantFrom("cpu" as const, "gpu" as const),
    maxConcurrent: fc.integer({ min: 1, max: 3 }),
  }),
  deviceType: fc.constantFrom("server" as const, "laptop" as const),
});

const command: fc.Arbitrary<AgentCommand> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("register" as const), profile, autoApprove: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("approve" as const), by: fc.constantFrom("operator", "auto-approval") }) },
  { weight: 1, arbitrary: fc.constant({ kind: "blacklist" as const, by: "operator", reason: "x" }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("recordCheck" as const),
      subtaskId: fc.constantFrom("t-0", "t-1", "t-2", "t-3"),
      leaseId: fc.constantFrom("L1", "L2", "L3"),
      ok: fc.boolean(),
      now: fc.nat(3_600).map((s) => new Date(t0 + s * 1000)),
    }),
  },
);

/** Folds the decided events of each command, skipping refused ones; the decided events must always fold. */
function run(commands: readonly AgentCommand[], each?: (state: Agent, events: readonly AgentEvent[], c: AgentCommand) => void): Agent {
  let state = agentDecider.initialState();
  for (const c of commands) {
    let events: readonly AgentEvent[];
    try {
      events = agentDecider.decide(c, state);
    } catch (err) {
      expect(err).toBeInstanceOf(DomainRuleViolation);
      continue;
    }
    const folded = foldCommit(agentDecider, state, events);
    expect(folded.ok, JSON.stringify({ c, events, folded })).toBe(true);
    if (folded.ok) state = folded.state;
    each?.(state, events, c);
  }
  return state;
}

describe("agent invariants under any sequence of commands", () => {
  it("the record always adds up, and counts each (subtask, lease) once", () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), (commands) => {
        const counted = new Set<string>();
        run(commands, (state, events) => {
          for (const e of events) if (e.type === "agent.resultChecked") counted.add(`${e.data.subtaskId}/${e.data.leaseId}`);
          const r = agentRecord(state);
          expect(r.checked).toBeGreaterThanOrEqual(r.failed);
          expect(r.streak).toBeLessThanOrEqual(r.checked - r.failed);
          if (r.failed === 0) expect(r.streak).toBe(r.checked);
          expect(r.lastFailedAt !== undefined).toBe(r.failed > 0);
          // Fewer distinct keys than the agent remembers: each is counted exactly once.
          expect(r.checked).toBe(counted.size);
        });
      }),
      { numRuns: 500 },
    );
  });

  it("the same check twice counts once, whatever its outcome the second time", () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 30 }), fc.boolean(), fc.boolean(), (commands, first, second) => {
        const registered: AgentCommand[] = [{ kind: "register", profile: { mode: "worker", capabilities: { models: [], languages: ["python"], sandbox: "bwrap", resourceClass: "cpu", maxConcurrent: 1 } }, autoApprove: false }];
        const before = run([...registered, ...commands]);
        if (before.status === "none") return;
        const key = { kind: "recordCheck" as const, subtaskId: "fresh-0", leaseId: "L9", now: new Date(t0) };
        const once = run([...registered, ...commands, { ...key, ok: first }]);
        const twice = run([...registered, ...commands, { ...key, ok: first }, { ...key, ok: second }]);
        expect(agentRecord(twice)).toEqual(agentRecord(once));
        expect(agentRecord(once).checked).toBe(agentRecord(before).checked + 1);
      }),
    );
  });

  it("an approved agent never holds a profile beyond the one approved", () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), (commands) => {
        run(commands, (state) => {
          if (state.status === "approved") expect(beyondApproved(state.approvedProfile, state.profile)).toEqual([]);
        });
      }),
      { numRuns: 500 },
    );
  });

  it("a registration repeated at once appends nothing the second time", () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 30 }), profile, fc.boolean(), (commands, p, autoApprove) => {
        const state = run(commands);
        if (state.status === "blacklisted") return;
        const register = { kind: "register", profile: p, autoApprove } as const;
        const after = agentDecider.decide(register, state).reduce(agentDecider.evolve, state);
        expect(agentDecider.decide(register, after)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
});
