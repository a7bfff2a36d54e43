import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { commandHandler } from "../../src/adapters/events/commandHandler.js";
import { createEventStore } from "../../src/adapters/nats/eventStore.js";
import { DomainRuleViolation } from "../../src/domain/decider.js";
import { subtaskDecider, subtaskSubject, type SubtaskCommand } from "../../src/domain/tasks/subtask.js";
import { subtaskEvents } from "../../src/domain/tasks/subtaskEvents.js";
import { newSigner } from "../support/events.js";
import { startTestNats, type TestNats } from "../support/nats.js";

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(() => nats?.close());

const coordinator = async (name: string) =>
  commandHandler({ store: await createEventStore(await nats.connect(name)), decider: subtaskDecider, registry: subtaskEvents, sealer: inlineSealer(newSigner()) });

const spec = { taskId: "task-1", index: 0, input: "print(1)", language: "python" as const, timeoutMs: 5_000, priority: 50, resourceClass: "cpu" as const, sandboxRequired: true, maxAttempts: 3 };

describe("two coordinators racing for one subtask", () => {
  it("exactly one assignment wins, every time; the loser is told it is already assigned", async () => {
    const [a, b] = await Promise.all([coordinator("coordinator-a"), coordinator("coordinator-b")]);
    for (let round = 0; round < 25; round++) {
      const subject = subtaskSubject(`st-${round}`);
      await a(subject, { kind: "queue", spec }, { now: new Date() });
      const now = new Date();
      const assign = (agentId: string): SubtaskCommand => ({ kind: "assign", agentId, leaseId: `lease-${agentId}-${round}`, leaseMs: 30_000, now });
      const outcomes = await Promise.allSettled([a(subject, assign("agent-a"), { now }), b(subject, assign("agent-b"), { now })]);
      const won = outcomes.filter((o) => o.status === "fulfilled");
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(DomainRuleViolation);
      expect((lost[0]!.reason as DomainRuleViolation).code).toBe("already_assigned");
    }
  });
});
