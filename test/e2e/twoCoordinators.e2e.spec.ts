import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatePrivateKeyPem, signerFromPrivateKeyPem } from "../../src/adapters/crypto/ed25519.js";
import { createEventStore } from "../../src/adapters/nats/eventStore.js";
import { coordinatorClient, type CoordinatorClient } from "../../src/worker/coordinatorClient.js";
import { eventually, startTestNode, type TestNode } from "../support/node.js";

const power = { deviceType: "server", cpuLoadPct: 5, thermalState: "nominal", onExternalPower: true, lowPowerMode: false, batteryStopPct: 20 } as const;
const capabilities = { models: ["qwen2.5-coder:1.5b"], languages: ["python" as const], sandbox: "bwrap" as const, resourceClass: "cpu" as const, maxConcurrent: 5 };

/** Two coordinators on one NATS, each with its own Postgres: the federation's shape. */
describe("two coordinators racing for the same subtasks", () => {
  let a: TestNode;
  let b: TestNode;
  beforeAll(async () => {
    a = await startTestNode({ worker: false, autoApprove: "all" });
    b = await startTestNode({ worker: false, autoApprove: "all" }, { nats: a.nats });
    for (const n of [a, b]) {
      n.model.answer = (p) =>
        p.includes("JSON array") ? JSON.stringify([{ input: "print 1", language: "python" }, { input: "print 2", language: "python" }]) : "```python\nprint(1)\n```";
    }
  }, 180_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  // Each agent keeps the lease it wins in every round (it never reports): five at once.
  it("exactly one assignment wins each subtask; the loser's pull gets the next one", async () => {
    const agent = async (node: TestNode): Promise<CoordinatorClient> => {
      const client = coordinatorClient({ url: node.node.coordinatorUrl, signer: signerFromPrivateKeyPem(generatePrivateKeyPem()) });
      await client.register({ mode: "worker", capabilities });
      return client;
    };
    const onA = await agent(a);
    const onB = await agent(b);
    // Both agents must be known to both coordinators' projections before the race.
    for (const n of [a, b]) {
      await eventually("agents projected", async () => ((await n.db.pool.query("SELECT 1 FROM agents")).rowCount === 2 ? true : undefined));
    }
    for (let round = 0; round < 5; round++) {
      const taskId = (await a.admin("POST", "/submit", { prompt: `round ${round}` })).body.taskId as string;
      for (const n of [a, b]) {
        await eventually("both subtasks queued in this coordinator's projection", async () =>
          (await n.db.pool.query("SELECT 1 FROM subtasks WHERE task_id = $1 AND status = 'queued'", [taskId])).rowCount === 2 ? true : undefined,
        );
      }
      const [fromA, fromB] = await Promise.all([onA.pull({ power }), onB.pull({ power })]);
      expect(fromA.assigned && fromB.assigned, JSON.stringify({ fromA, fromB })).toBe(true);
      if (!fromA.assigned || !fromB.assigned) return;
      expect(new Set([fromA.subtask.subtaskId, fromB.subtask.subtaskId]).size).toBe(2);

      const store = await createEventStore(await a.nats.connect(`reader-${round}`));
      for (const i of [0, 1]) {
        const { commits } = await store.readAggregate(`ec.tasks.subtask.${taskId}-${i}`);
        const types = commits.flatMap((c) => (JSON.parse(new TextDecoder().decode(c.data)) as { type: string }[]).map((e) => e.type));
        expect(types).toEqual(["subtask.queued", "subtask.assigned"]);
      }
    }
  }, 120_000);
});
