import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chainedStreams } from "../../src/domain/contexts.js";
import { freePort } from "../../src/adapters/nats/natsServerProcess.js";
import { cli } from "../support/cli.js";
import { splitsIntoTwoPrints } from "../support/fakeOllama.js";
import { eventually, startTestNode, submitTwoPrints, type TestNode } from "../support/node.js";
import { parsePrometheus, scrape, valueOf } from "../support/prometheus.js";

/**
 * What an operator reads of a running node: each gateway's API description (/docs), its
 * metrics (/metrics) and `edgecoder status`, with work submitted and no worker to take it, so
 * the queue holds what the test put there.
 */
let t: TestNode;
let taskId: string;
const gateways = () => ({ coordinator: t.node.coordinatorUrl, inference: t.node.inferenceUrl, "control plane": t.node.controlPlaneUrl });

/** Counts of a read model by status, as the database has them. */
async function byStatus(table: "tasks" | "subtasks" | "agents"): Promise<Record<string, number>> {
  const r = await t.db.pool.query<{ status: string; n: string }>(`SELECT status, count(*) AS n FROM ${table} GROUP BY status`);
  return Object.fromEntries(r.rows.map((row) => [row.status, Number(row.n)]));
}

async function streamLastSeq(stream: string): Promise<number> {
  const nc = await t.nats.connect("operability-test");
  try {
    return (await (await jetstreamManager(nc)).streams.info(stream)).state.last_seq;
  } finally {
    await nc.close();
  }
}

const statusEnv = () => ({ EC_DATA_DIR: t.dataDir, CONTROL_PLANE_PORT: new URL(t.node.controlPlaneUrl).port, NATS_URL: t.nats.url, DATABASE_URL: t.db.url });

beforeAll(async () => {
  t = await startTestNode({ worker: false });
  t.model.answer = splitsIntoTwoPrints("print(1)");
  taskId = await submitTwoPrints(t);
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe("/docs on every gateway of a node", () => {
  it("serves Swagger UI at /docs and an OpenAPI 3.1 document at /docs/json that lists the gateway's routes", async () => {
    const expected: Record<string, string[]> = {
      coordinator: ["/health", "/ready", "/metrics", "/register", "/heartbeat", "/pull", "/result", "/submit", "/tasks", "/tasks/{taskId}", "/tasks/{taskId}/result", "/escalate/{subtaskId}"],
      inference: ["/health", "/metrics", "/decompose", "/escalate"],
      "control plane": ["/health", "/ready", "/metrics", "/status", "/credits/{accountId}/balance", "/agents", "/agents/{agentId}/approve"],
    };
    for (const [name, base] of Object.entries(gateways())) {
      const page = await fetch(new URL("/docs", base), { redirect: "follow" });
      expect({ name, status: page.status, type: page.headers.get("content-type") }).toMatchObject({ name, status: 200, type: expect.stringMatching(/^text\/html/) });
      expect(await page.text()).toMatch(/swagger/i);
      const doc = (await (await fetch(new URL("/docs/json", base))).json()) as { openapi: string; info: { title: string }; paths: Record<string, unknown> };
      expect(doc.openapi).toBe("3.1.0");
      expect(doc.info.title).toBe(`EdgeCoder ${name}`);
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(expected[name]!));
      // The docs' own routes are not part of the API they describe.
      expect(Object.keys(doc.paths).filter((p) => p.startsWith("/docs"))).toEqual([]);
    }
  });

  it("describes a route's body from the zod schema that validates it", async () => {
    const doc = (await (await fetch(new URL("/docs/json", t.node.coordinatorUrl))).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown>; required?: string[] } }> } }>>;
    };
    const submit = doc.paths["/submit"]!.post!.requestBody!.content["application/json"]!.schema;
    expect(Object.keys(submit.properties)).toEqual(expect.arrayContaining(["prompt", "language"]));
    expect(submit.required).toContain("prompt");
  });
});

describe("/metrics of a node", () => {
  it("counts requests by route pattern and status, and the counts move with requests", async () => {
    const route = { service: "coordinator", method: "GET", route: "/tasks/:taskId", status: "200" };
    const before = valueOf(await scrape(t.node.coordinatorUrl), "ec_http_requests_total", route) ?? 0;
    for (let i = 0; i < 3; i++) expect((await t.admin("GET", `/tasks/${taskId}`)).status).toBe(200);
    expect((await t.admin("GET", "/tasks/no-such-task")).status).toBe(404);
    expect((await fetch(new URL("/no/such/route/secret-looking-path", t.node.coordinatorUrl))).status).toBe(404);
    const after = await scrape(t.node.coordinatorUrl);
    expect(valueOf(after, "ec_http_requests_total", route)).toBe(before + 3);
    expect(valueOf(after, "ec_http_requests_total", { ...route, status: "404" })).toBeGreaterThanOrEqual(1);
    expect(valueOf(after, "ec_http_requests_total", { service: "coordinator", method: "GET", route: "unmatched", status: "404" })).toBeGreaterThanOrEqual(1);
    expect(valueOf(after, "ec_http_request_duration_seconds_count", route)).toBe(before + 3);
    // Labels hold patterns, never the URL asked.
    const text = await (await fetch(new URL("/metrics", t.node.coordinatorUrl))).text();
    expect(text).not.toContain("secret-looking-path");
    expect(text).not.toContain(taskId);
  });

  it("every gateway of the node serves the node's one registry", async () => {
    for (const base of Object.values(gateways())) {
      const samples = await scrape(base);
      expect(valueOf(samples, "ec_observation_up", { part: "queue" })).toBe(1);
      expect(samples.some((s) => s.name === "process_resident_memory_bytes")).toBe(true);
    }
  });

  it("shows the queue's depth by state as the tasks projection holds it", async () => {
    const samples = await scrape(t.node.controlPlaneUrl);
    const subtasks = await byStatus("subtasks");
    expect(subtasks).toEqual({ queued: 2 });
    for (const [status, n] of Object.entries(subtasks)) expect(valueOf(samples, "ec_subtasks", { status })).toBe(n);
    for (const [status, n] of Object.entries(await byStatus("tasks"))) expect(valueOf(samples, "ec_tasks", { status })).toBe(n);
  });

  it("shows projection lag (stream sequence minus checkpoint) and ledger lag, 0 once caught up", async () => {
    const last = await streamLastSeq("EC_TASKS");
    expect(last).toBeGreaterThan(0);
    const samples = await eventually("the tasks projection and the ledger to catch up", async () => {
      const s = await scrape(t.node.controlPlaneUrl);
      return valueOf(s, "ec_projection_lag", { projection: "tasks", stream: "EC_TASKS" }) === 0 && valueOf(s, "ec_ledger_lag", { stream: "EC_TASKS" }) === 0 ? s : undefined;
    });
    expect(valueOf(samples, "ec_projection_checkpoint", { projection: "tasks", stream: "EC_TASKS" })).toBe(last);
    expect(valueOf(samples, "ec_stream_last_sequence", { stream: "EC_TASKS" })).toBe(last);
    expect(valueOf(samples, "ec_stream_messages", { stream: "EC_TASKS" })).toBe(last);
    expect(valueOf(samples, "ec_ledger_records")).toBeGreaterThanOrEqual(last);
    expect(valueOf(samples, "ec_consumer_redelivered", { stream: "EC_TASKS", consumer: "ec-chainer-ec_tasks" })).toBeGreaterThanOrEqual(0);
    // The decomposer asked the model once, and the call was counted.
    expect(valueOf(samples, "ec_model_calls_total", { model: "qwen2.5-coder:1.5b", outcome: "ok" })).toBe(1);
    expect(valueOf(samples, "ec_model_call_duration_seconds_count", { model: "qwen2.5-coder:1.5b", outcome: "ok" })).toBe(1);
  });

  it("needs no token, and what it shows holds no agent key", async () => {
    const text = await (await fetch(new URL("/metrics", t.node.coordinatorUrl))).text();
    expect(parsePrometheus(text).length).toBeGreaterThan(50);
    expect(text).not.toContain(t.node.publicKey);
    expect(text).not.toContain(t.node.adminToken);
  });
});

describe("edgecoder status against the node", () => {
  it("prints a table of the node's identity, dependencies, streams, projection lag, queue, agents and ledger", async () => {
    const r = await cli(["status"], { env: statusEnv() });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain(t.node.publicKey);
    expect(r.stdout).toContain(t.node.coordinatorUrl);
    expect(r.stdout).toMatch(/dependencies: all up/);
    expect(r.stdout).toMatch(/^ {2}nats +up$/m);
    expect(r.stdout).toMatch(/^ {2}postgres +up$/m);
    expect(r.stdout).toMatch(new RegExp(`^ {2}EC_TASKS +${await streamLastSeq("EC_TASKS")} +[\\d.]+ (B|KiB) +\\d+$`, "m"));
    expect(r.stdout).toMatch(/^ {2}tasks +EC_TASKS +\d+ +\d+ +0$/m);
    expect(r.stdout).toMatch(/^ {2}subtasks +queued 2$/m);
    expect(r.stdout).toMatch(/^ {2}head +\d+ records, [0-9a-f]{16}\.\.\.$/m);
    expect(r.stdout).toMatch(/^ {2}last checkpoint +/m);
  });

  it("--json gives the same figures as the node's stores", async () => {
    const r = await cli(["status", "--json"], { env: statusEnv() });
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as {
      node: { publicKey: string };
      health: { ok: boolean; checks: Record<string, { ok: boolean }> };
      streams: { name: string; messages: number; bytes: number }[];
      projections: { projection: string; stream: string; lag: number; checkpoint: number }[];
      queue: { subtasks: Record<string, number>; tasks: Record<string, number> };
      agents: Record<string, number>;
      ledger: { size: number; headHash: string; lastCheckpoint: unknown; lag: Record<string, number> };
      consumers: { stream: string; name: string; redelivered: number }[];
    };
    expect(s.node.publicKey).toBe(t.node.publicKey);
    expect(s.health).toMatchObject({ ok: true, checks: { nats: { ok: true }, postgres: { ok: true } } });
    expect(s.streams.find((x) => x.name === "EC_TASKS")).toMatchObject({ messages: await streamLastSeq("EC_TASKS"), bytes: expect.any(Number) });
    expect(s.projections.find((p) => p.projection === "tasks" && p.stream === "EC_TASKS")).toMatchObject({ lag: 0, checkpoint: await streamLastSeq("EC_TASKS") });
    expect(s.queue.subtasks).toEqual(await byStatus("subtasks"));
    expect(s.queue.tasks).toEqual(await byStatus("tasks"));
    expect(s.agents).toEqual(await byStatus("agents"));
    expect(s.ledger.size).toBeGreaterThan(0);
    expect(s.ledger.headHash).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(s.ledger.lag).sort()).toEqual([...chainedStreams].sort());
    // The durable consumers only, by the names the flows and the chainer give them.
    expect(s.consumers.map((c) => c.name)).toEqual(expect.arrayContaining(["ec-chainer-ec_tasks", "ec-task-flow", "ec-decomposer"]));
    expect(s.consumers.filter((c) => !c.name.startsWith("ec-"))).toEqual([]);
  });

  it("a wrong token is refused with a clear message and exit 2", async () => {
    const r = await cli(["status"], { env: { ...statusEnv(), ADMIN_API_TOKEN: "not-the-token-0123456789" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^edgecoder status: the node at http:\/\/127\.0\.0\.1:\d+ refused the admin token/);
  });

  it("where no node runs, says so, with exit 2 and no stack", async () => {
    const port = await freePort();
    const r = await cli(["status"], { env: { ...statusEnv(), CONTROL_PLANE_PORT: String(port) } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(new RegExp(`^edgecoder status: no node answers at http://127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED.*\\); is it up\\?`));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  // Last: the node is stopped (its data folder, with the admin token, stays until afterAll).
  it("once the node has stopped, says no node answers, with exit 2 and no stack", async () => {
    const env = statusEnv();
    await t.node.stop();
    const r = await cli(["status", "--json"], { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(new RegExp(`^edgecoder status: no node answers at http://127\\.0\\.0\\.1:${env.CONTROL_PLANE_PORT} .*is it up\\?`));
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});
