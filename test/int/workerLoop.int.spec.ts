import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSandbox, type Sandbox } from "../../src/adapters/executor/sandbox.js";
import { freePort } from "../../src/adapters/nats/natsServerProcess.js";
import { ollamaProvider } from "../../src/adapters/models/ollamaProvider.js";
import { verifySignedRequest, type NonceStore } from "../../src/adapters/security/signedRequests.js";
import { startWorker, type RunningWorker, type WorkerOptions } from "../../src/worker/workerLoop.js";
import { newSigner } from "../support/events.js";
import { startFakeOllama, type FakeOllama } from "../support/fakeOllama.js";

const model = "qwen2.5-coder:1.5b";
const power = { deviceType: "desktop", cpuLoadPct: 5, thermalState: "nominal", onExternalPower: true, lowPowerMode: false, batteryStopPct: 20 } as const;

interface Received {
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly at: number;
}
type Reply = { status: number; body: unknown };

/** A coordinator stand-in that checks signatures like the real one and answers from `handle`. */
interface FakeCoordinator {
  readonly url: string;
  readonly received: Received[];
  handle: (path: string, body: Record<string, unknown>) => Reply;
  close(): Promise<void>;
}

const defaultHandle = (path: string): Reply => {
  if (path === "/register") return { status: 200, body: { agentId: "a", status: "approved", heartbeatIntervalMs: 150 } };
  if (path === "/heartbeat") return { status: 200, body: { ok: true, status: "approved", heartbeatIntervalMs: 150 } };
  if (path === "/pull") return { status: 200, body: { assigned: false, reason: "no_work", message: "nothing queued" } };
  if (path === "/result") return { status: 200, body: { accepted: true, events: ["subtask.completed"] } };
  return { status: 404, body: { error: "not_found", message: path } };
};

async function startFakeCoordinator(): Promise<FakeCoordinator> {
  const seen = new Set<string>();
  const nonces: NonceStore = { claim: async (agent, nonce) => !seen.has(`${agent}.${nonce}`) && Boolean(seen.add(`${agent}.${nonce}`)) };
  const fake: Omit<FakeCoordinator, "url" | "close"> = { received: [], handle: defaultHandle };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const path = req.url ?? "";
    const check = await verifySignedRequest(req.headers, "POST", path, raw, nonces);
    const r = check.ok ? fake.handle(path, JSON.parse(raw.toString()) as Record<string, unknown>) : { status: 401, body: { error: "unauthorized", message: check.reason } };
    if (check.ok) fake.received.push({ path, body: JSON.parse(raw.toString()) as Record<string, unknown>, at: Date.now() });
    res.writeHead(r.status, { "content-type": "application/json" }).end(JSON.stringify(r.body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(fake, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

const waitFor = async (what: string, ok: () => boolean, timeoutMs = 10_000) => {
  const until = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

let sandbox: Sandbox;
let coordinator: FakeCoordinator;
let ollama: FakeOllama;
let ollamaModels: string[];
let worker: RunningWorker | undefined;
let logs: string[];

beforeAll(async () => {
  sandbox = await createSandbox({ mode: "bwrap", agentMode: "worker", sandboxRequired: true });
});
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await coordinator?.close();
  await ollama?.close();
});
afterAll(() => undefined);

async function setUp(models: string[] = [model]) {
  ollamaModels = [...models];
  ollama = await startFakeOllama(ollamaModels);
  coordinator = await startFakeCoordinator();
  logs = [];
}

const start = (extra: Partial<WorkerOptions> = {}) => {
  worker = startWorker({
    coordinatorUrl: coordinator.url,
    signer: newSigner(),
    provider: ollamaProvider(ollama.url, model),
    modelHost: ollama.url,
    sandbox,
    mode: "worker",
    log: (line) => logs.push(line),
    telemetry: async () => power,
    modelRecheckMs: 200,
    idlePoll: { minMs: 20, maxMs: 50 },
    retry: { minMs: 20, maxMs: 50 },
    blockedWaitMs: 50,
    ...extra,
  });
  return worker;
};
const paths = () => coordinator.received.map((r) => r.path);
const subtask = (id: string, input = "print 42") => ({
  subtaskId: id,
  taskId: "t-1",
  leaseId: `lease-${id}`,
  leaseExpiresAt: new Date(Date.now() + 60_000).toISOString(),
  attempt: 1,
  input,
  language: "python",
  timeoutMs: 5_000,
});

describe("worker loop without a model", () => {
  it("registers with no models, takes no code work, says why, and starts pulling once the model appears", async () => {
    await setUp(["llama3:8b"]);
    start();
    await waitFor("a registration and two heartbeats", () => paths().filter((p) => p === "/heartbeat").length >= 2);
    const first = coordinator.received[0]!;
    expect(first.path).toBe("/register");
    expect(first.body).toMatchObject({ mode: "worker", capabilities: { models: [], sandbox: "bwrap", languages: ["python", "javascript"] }, deviceType: power.deviceType });
    expect(paths()).not.toContain("/pull");
    expect(logs.join("\n")).toContain(`no model ${model} reachable at ${ollama.url} (it has llama3:8b; run: ollama pull ${model}): taking no code work`);
    expect(logs.filter((l) => l.includes("taking no code work"))).toHaveLength(1);

    ollamaModels.push(`${model}`);
    await waitFor("a pull", () => paths().includes("/pull"));
    const registrations = coordinator.received.filter((r) => r.path === "/register");
    expect(registrations.at(-1)?.body).toMatchObject({ capabilities: { models: [model] } });
    expect(logs.join("\n")).toContain(`model ${model} is reachable again`);
  });

  it("with Ollama unreachable, logs the provider's reason and does not pull", async () => {
    await setUp();
    const port = await freePort();
    start({ provider: ollamaProvider(`http://127.0.0.1:${port}`, model) });
    await waitFor("a heartbeat", () => paths().includes("/heartbeat"));
    await new Promise((r) => setTimeout(r, 300));
    expect(paths()).not.toContain("/pull");
    expect(logs.join("\n")).toMatch(new RegExp(`no model ${model} reachable at http://127\\.0\\.0\\.1:${port}: .*: taking no code work`));
  });
});

describe("worker loop with a model", () => {
  it("pulls a subtask, runs it in the sandbox and posts a signed result, heartbeating meanwhile", async () => {
    await setUp();
    ollama.answer = () => "```python\n# 1. print\nprint(6 * 7)\n```";
    let handed = false;
    coordinator.handle = (path, body) => {
      if (path === "/pull" && !handed) {
        handed = true;
        return { status: 200, body: { assigned: true, subtask: subtask("s-1") } };
      }
      return defaultHandle(path);
    };
    start();
    await waitFor("a result", () => paths().includes("/result"));
    const result = coordinator.received.find((r) => r.path === "/result")!;
    expect(result.body).toMatchObject({ subtaskId: "s-1", leaseId: "lease-s-1", ok: true, code: "# 1. print\nprint(6 * 7)", output: "42\n", stderr: "" });
    expect(result.body.durationMs).toBeGreaterThan(0);
    await waitFor("a pull after the result, and a heartbeat", () => paths().lastIndexOf("/pull") > paths().indexOf("/result") && paths().includes("/heartbeat"));
    expect(logs).toContainEqual(expect.stringMatching(/^subtask s-1: result accepted \(ok=true, 1 tries, \d+ ms\): subtask\.completed$/));
    const pull = coordinator.received.find((r) => r.path === "/pull")!;
    // Each pull may wait at the coordinator for work, never past the next model check (200 ms here).
    expect(pull.body).toEqual({ power, waitMs: expect.any(Number) });
    expect((pull.body as { waitMs: number }).waitMs).toBeLessThanOrEqual(200);
    expect(coordinator.received.find((r) => r.path === "/heartbeat")?.body).toEqual({ power, models: [model] });
  });

  it("logs a 409 on /result (lease lost) and keeps working", async () => {
    await setUp();
    ollama.answer = () => "```python\nprint(1)\n```";
    let handed = 0;
    coordinator.handle = (path) => {
      if (path === "/pull" && handed < 2) return { status: 200, body: { assigned: true, subtask: subtask(`s-${++handed}`) } };
      if (path === "/result") return { status: 409, body: { error: "lease_lost", message: "the lease expired" } };
      return defaultHandle(path);
    };
    start();
    const lost = () => logs.filter((l) => /result refused, the lease was lost \(lease_lost: the lease expired\); moving on/.test(l));
    await waitFor("two lost leases", () => lost().length === 2);
    await waitFor("a pull after them", () => paths().lastIndexOf("/pull") > paths().lastIndexOf("/result"));
    expect(paths().filter((p) => p === "/result")).toHaveLength(2);
  });

  it("waits the deferMs of a power-deferred reply before pulling again", async () => {
    await setUp();
    let pulls = 0;
    coordinator.handle = (path) =>
      path === "/pull" && ++pulls === 1 ? { status: 200, body: { assigned: false, reason: "power_deferred", message: "cpu busy", deferMs: 400 } } : defaultHandle(path);
    start();
    await waitFor("two pulls", () => paths().filter((p) => p === "/pull").length >= 2);
    const [a, b] = coordinator.received.filter((r) => r.path === "/pull");
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(380);
  });

  it("retries with backoff while the coordinator fails, then registers", async () => {
    await setUp();
    let failures = 0;
    coordinator.handle = (path) => (path === "/register" && ++failures <= 3 ? { status: 503, body: { error: "unavailable", message: "starting" } } : defaultHandle(path));
    start();
    await waitFor("a pull", () => paths().includes("/pull"));
    expect(logs.filter((l) => /^POST \/register: 503 unavailable: starting; retrying/.test(l))).toHaveLength(3);
  });

  it("registers again when the coordinator no longer knows it", async () => {
    await setUp();
    let refused = false;
    coordinator.handle = (path) => {
      if (path === "/pull" && !refused) {
        refused = true;
        return { status: 404, body: { error: "unknown_agent", message: "register first" } };
      }
      return defaultHandle(path);
    };
    start();
    await waitFor("a second registration", () => paths().filter((p) => p === "/register").length >= 2);
  });

  it("registers again when a heartbeat says the coordinator does not know it", async () => {
    await setUp();
    let forgotten = false;
    coordinator.handle = (path) => {
      if (path === "/heartbeat" && !forgotten) {
        forgotten = true;
        return { status: 200, body: { ok: false, status: "none", heartbeatIntervalMs: 150 } };
      }
      return defaultHandle(path);
    };
    start();
    await waitFor("a second registration", () => paths().filter((p) => p === "/register").length >= 2);
    expect(logs).toContain("the coordinator does not know this worker (any more); registering again");
  });

  it("abandons a subtask whose model disappears, without posting a result, and registers with no models", async () => {
    await setUp();
    coordinator.handle = (path) => (path === "/pull" ? { status: 200, body: { assigned: true, subtask: subtask("s-9") } } : defaultHandle(path));
    ollamaModels.length = 0;
    // The model is listed at the first check, then gone when it is asked to write code.
    const provider = ollamaProvider(ollama.url, model);
    let listed = false;
    start({ provider: { ...provider, model, available: async () => (listed ? [] : ((listed = true), [model])) } });
    await waitFor("a registration with no models", () => coordinator.received.some((r) => r.path === "/register" && (r.body.capabilities as { models: string[] }).models.length === 0));
    expect(paths()).not.toContain("/result");
    expect(logs.join("\n")).toMatch(/subtask s-9: abandoned, no model .* reachable/);
  });

  it("stops cleanly: no request after stop() and no timer left behind", async () => {
    await setUp();
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    start();
    await waitFor("a heartbeat and a pull", () => paths().includes("/heartbeat") && paths().includes("/pull"));
    await worker!.stop();
    worker = undefined;
    const count = coordinator.received.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(coordinator.received.length).toBe(count);
    expect(process.getActiveResourcesInfo().filter((r) => r === "Timeout").length).toBeLessThanOrEqual(timersBefore);
  });

  it("stops while a subtask runs: the subtask is abandoned and no result is posted", async () => {
    await setUp();
    ollama.answer = () => "```python\nwhile True:\n    pass\n```";
    coordinator.handle = (path) => (path === "/pull" ? { status: 200, body: { assigned: true, subtask: { ...subtask("s-long"), timeoutMs: 1_500 } } } : defaultHandle(path));
    start();
    await waitFor("the subtask to start", () => logs.some((l) => l.startsWith("subtask s-long:")));
    await worker!.stop();
    worker = undefined;
    expect(paths()).not.toContain("/result");
    expect(logs.join("\n")).toContain("subtask s-long: abandoned, the worker is stopping");
  });
});
