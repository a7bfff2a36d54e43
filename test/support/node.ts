import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LightningProvider } from "../../src/adapters/lightning/provider.js";
import { createPool } from "../../src/adapters/postgres/database.js";
import { nodeConfigFrom, type NodeConfig } from "../../src/node/config.js";
import { startNode, type RunningNode } from "../../src/node/startNode.js";
import { startFakeOllama, type FakeOllama } from "./fakeOllama.js";
import { startTestNats, type TestNats } from "./nats.js";
import { createTestDatabase, type TestDatabase } from "./postgres.js";

export interface TestNode {
  readonly node: RunningNode;
  readonly nats: TestNats;
  readonly db: TestDatabase;
  readonly model: FakeOllama;
  readonly logs: string[];
  readonly dataDir: string;
  /** Calls the coordinator with the admin token. */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

/**
 * A whole node as `edgecoder up` runs it (its own worker forked), on a private nats-server, a
 * fresh database and free ports, with the Ollama-protocol test server as its model.
 */
export async function startTestNode(
  overrides: Partial<Record<keyof NodeConfig, unknown>> = {},
  opts: {
    models?: string[];
    embeddedPostgres?: boolean;
    /** Another node's NATS: a federation of coordinators. */
    nats?: TestNats;
    /** Told when a part of the node died (`edgecoder up` then stops it to start it again). */
    onFatal?: (reason: string) => void;
    /** The result-check sampling's random source: 0 checks every result, 0.999 only those it must. */
    draw?: () => number;
    /** The node's Lightning provider (default: what the environment names, the mock). */
    lightning?: LightningProvider;
  } = {},
): Promise<TestNode> {
  const [nats, created, model] = await Promise.all([
    opts.nats ?? startTestNats(),
    opts.embeddedPostgres ? undefined : createTestDatabase(),
    startFakeOllama(opts.models),
  ]);
  const dataDir = await mkdtemp(join(tmpdir(), "ec-node-"));
  const logs: string[] = [];
  const config = nodeConfigFrom(
    {
      dataDir,
      natsUrl: nats.url,
      ...(created ? { databaseUrl: created.url } : {}),
      coordinatorPort: 0,
      inferencePort: 0,
      controlPlanePort: 0,
      ollamaHost: model.url,
      heartbeatMs: 500,
      // A desktop defers work while the load average is high, and a test machine running other
      // tests often is: the power policy has its own tests.
      deviceType: "server",
      // One price proposal, at start (before any test settles its streams): one a minute would land
      // in the middle of tests that show a refused request appends nothing. A test of prices sets its own.
      priceIntervalMs: 24 * 3600_000,
      ...overrides,
    },
    {},
  );
  const node = await startNode(config, (line) => logs.push(line), opts.onFatal, { ...(opts.draw ? { draw: opts.draw } : {}), ...(opts.lightning ? { lightning: opts.lightning } : {}) });
  // With the embedded Postgres the test reads the node's own database.
  const db: TestDatabase = created ?? { url: node.databaseUrl, pool: createPool(node.databaseUrl, 2), drop: async () => undefined };
  return {
    node,
    nats,
    db,
    model,
    logs,
    dataDir,
    async admin(method, path, body) {
      const res = await fetch(new URL(path, node.coordinatorUrl), {
        method,
        headers: { authorization: `Bearer ${node.adminToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
    },
    async close() {
      if (!created) await db.pool.end();
      await node.stop();
      await Promise.all([opts.nats ? undefined : nats.close(), db.drop(), model.close()]);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns a value, or fails naming what it waited for. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Submits "print 1 and then 2" in python (split in two by splitsIntoTwoPrints) and waits until both subtasks are queued; its task id. */
export async function submitTwoPrints(t: TestNode): Promise<string> {
  const submitted = await t.admin("POST", "/submit", { prompt: "print 1 and then 2", language: "python" });
  if (submitted.status !== 202) throw new Error(`submit answered ${submitted.status}: ${JSON.stringify(submitted.body)}`);
  const taskId = submitted.body.taskId as string;
  await eventually("both subtasks queued", async () => {
    const r = await t.db.pool.query("SELECT 1 FROM subtasks WHERE task_id = $1 AND status = 'queued'", [taskId]);
    return r.rowCount === 2 ? true : undefined;
  });
  return taskId;
}
