import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hasRoom, mayTake, RETRY_HOLD_OFF_MS } from "../../src/domain/tasks/claim.js";
import type { Subtask } from "../../src/domain/tasks/subtask.js";

const spec = { taskId: "t1", index: 0, input: "x", language: "python" as const, timeoutMs: 5_000, priority: 50, resourceClass: "cpu" as const, sandboxRequired: true, maxAttempts: 3 };
const queued = (triedBy?: string[]): Subtask => ({ status: "queued", spec, attempts: 1, ...(triedBy ? { triedBy } : {}) });

describe("who may take a subtask", () => {
  it("anyone who has not tried it, at once", () => {
    expect(mayTake(queued(), "a1", 0)).toBe(true);
    expect(mayTake(queued(["a2"]), "a1", 0)).toBe(true);
  });

  it("an agent whose try left it without a result only after the others had their chance", () => {
    expect(mayTake(queued(["a1"]), "a1", 0)).toBe(false);
    expect(mayTake(queued(["a1"]), "a1", RETRY_HOLD_OFF_MS - 1)).toBe(false);
    expect(mayTake(queued(["a1"]), "a1", RETRY_HOLD_OFF_MS)).toBe(true);
    // A lease that ran out but still shows as assigned counts as its holder's try.
    const lapsed: Subtask = { status: "assigned", spec, attempts: 1, lease: { agentId: "a1", leaseId: "L1", expiresAt: "2026-01-01T00:00:00.000Z" } };
    expect(mayTake(lapsed, "a1", 0)).toBe(false);
    expect(mayTake(lapsed, "a2", 0)).toBe(true);
  });

  it("nobody, once it is done or in escalation", () => {
    expect(mayTake({ status: "completed", spec, attempts: 1, agentId: "a2" }, "a1", 1e9)).toBe(false);
    expect(mayTake({ status: "escalated", spec, attempts: 3, tried: [] }, "a1", 1e9)).toBe(false);
  });

  it("never more leases at once than the agent declared it runs, and at least one", () => {
    fc.assert(
      fc.property(fc.nat(100), fc.integer({ min: -5, max: 64 }), (open, max) => {
        expect(hasRoom(open, max)).toBe(open < Math.max(1, max));
      }),
    );
    expect(hasRoom(0, 1)).toBe(true);
    expect(hasRoom(1, 1)).toBe(false);
  });
});
