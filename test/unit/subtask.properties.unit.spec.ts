import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DomainRuleViolation, foldCommit } from "../../src/domain/decider.js";
import { subtaskDecider, type Subtask, type SubtaskCommand } from "../../src/domain/tasks/subtask.js";
import type { SubtaskEvent } from "../../src/domain/tasks/subtaskEvents.js";

const spec = { taskId: "t1", index: 0, input: "x", language: "python" as const, timeoutMs: 5_000, priority: 50, resourceClass: "cpu" as const, sandboxRequired: true, maxAttempts: 3 };
const t0 = Date.parse("2026-11-23T10:00:00.000Z");
const agents = ["a1", "a2", "a3"];

const command = fc.oneof(
  fc.record({ kind: fc.constant("assign" as const), agentId: fc.constantFrom(...agents), leaseId: fc.constantFrom("L1", "L2", "L3", "L4"), leaseMs: fc.constant(30_000), t: fc.nat(200) }),
  fc.record({ kind: fc.constant("report" as const), agentId: fc.constantFrom(...agents), leaseId: fc.constantFrom("L1", "L2", "L3", "L4"), t: fc.nat(200), ok: fc.boolean() }),
  fc.record({ kind: fc.constant("expireLease" as const), t: fc.nat(200) }),
);

type RawCommand = typeof command extends fc.Arbitrary<infer T> ? T : never;

function toCommand(c: RawCommand): SubtaskCommand {
  const now = new Date(t0 + c.t * 1000);
  if (c.kind === "expireLease") return { kind: "expireLease", now };
  if (c.kind === "assign") return { kind: "assign", agentId: c.agentId, leaseId: c.leaseId, leaseMs: c.leaseMs, now };
  return { kind: "report", agentId: c.agentId, leaseId: c.leaseId, now, ok: c.ok, output: "o", stderr: c.ok ? "" : "e", durationMs: 1 };
}

describe("subtask invariants under any sequence of commands", () => {
  it("decided events always fold; it completes at most once, by the holder of a live lease; tries never exceed the limit", () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), (raw) => {
        let state: Subtask = subtaskDecider.evolve(subtaskDecider.initialState(), { type: "subtask.queued", data: spec });
        let completions = 0;
        for (const c of raw) {
          const cmd = toCommand(c);
          let events: readonly SubtaskEvent[];
          try {
            events = subtaskDecider.decide(cmd, state);
          } catch (err) {
            expect(err).toBeInstanceOf(DomainRuleViolation);
            continue;
          }
          const folded = foldCommit(subtaskDecider, state, events);
          expect(folded.ok).toBe(true);
          for (const e of events) {
            if (e.type !== "subtask.completed") continue;
            completions++;
            expect(state.status).toBe("assigned");
            if (state.status === "assigned" && cmd.kind === "report") {
              expect(e.data.leaseId).toBe(state.lease.leaseId);
              expect(cmd.now.getTime()).toBeLessThanOrEqual(Date.parse(state.lease.expiresAt));
            }
          }
          if (folded.ok) state = folded.state;
          if (state.status !== "none") expect(state.attempts).toBeLessThanOrEqual(spec.maxAttempts);
        }
        expect(completions).toBeLessThanOrEqual(1);
      }),
      { numRuns: 500 },
    );
  });
});
