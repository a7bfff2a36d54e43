import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOllama, type FakeOllama } from "../support/fakeOllama.js";

let dataDir: string;
let ollama: FakeOllama;
let coordinator: Server;
let coordinatorUrl: string;
const received: { path: string; body: Record<string, unknown> }[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "ec-worker-main-"));
  ollama = await startFakeOllama(["some-other-model:1b"]);
  coordinator = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    received.push({ path: req.url ?? "", body: JSON.parse(Buffer.concat(chunks).toString() || "{}") as Record<string, unknown> });
    const body = req.url === "/register" ? { agentId: "a", status: "approved", heartbeatIntervalMs: 60_000 } : { ok: true, status: "approved", heartbeatIntervalMs: 60_000 };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => coordinator.listen(0, "127.0.0.1", resolve));
  coordinatorUrl = `http://127.0.0.1:${(coordinator.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => coordinator?.close(resolve));
  await ollama?.close();
  await rm(dataDir, { recursive: true, force: true });
});

function worker(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/worker/main.ts"], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

const waitFor = async (what: string, ok: () => boolean, timeoutMs = 20_000) => {
  const until = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe("the worker process", () => {
  it("exits 2 with one clear message on bad configuration", async () => {
    const w = worker({ EC_COORDINATOR_URL: "not a url", EC_AGENT_MODE: "robot" });
    expect(await w.exited).toBe(2);
    expect(w.err().trim().split("\n")).toHaveLength(1);
    expect(w.err()).toMatch(/^worker: bad worker configuration: EC_COORDINATOR_URL="not a url": .*; EC_AGENT_MODE="robot": /);
  });

  it("exits 2 when SANDBOX_REQUIRED=true and the sandbox is none", async () => {
    const w = worker({ EC_SANDBOX: "none", EC_AGENT_MODE: "ide", SANDBOX_REQUIRED: "true", EC_WORKER_DATA_DIR: dataDir });
    expect(await w.exited).toBe(2);
    expect(w.err()).toContain("SANDBOX_REQUIRED=true");
  });

  it("without its model registers with none and takes no work; SIGTERM stops it with exit 0", async () => {
    const w = worker({ EC_COORDINATOR_URL: coordinatorUrl, OLLAMA_HOST: ollama.url, EC_WORKER_DATA_DIR: dataDir, EC_DEVICE_TYPE: "server" });
    await waitFor("a registration", () => received.some((r) => r.path === "/register"));
    await waitFor("the no-model message", () => w.out().includes("taking no code work"));
    expect(w.out()).toContain(`worker: no model qwen2.5-coder:1.5b reachable at ${ollama.url}`);
    expect(received.find((r) => r.path === "/register")?.body).toMatchObject({ mode: "worker", capabilities: { models: [], sandbox: "bwrap" } });
    expect(received.map((r) => r.path)).not.toContain("/pull");
    expect((await stat(join(dataDir, "node-identity.pem"))).mode & 0o777).toBe(0o600);
    w.child.kill("SIGTERM");
    expect(await w.exited).toBe(0);
    expect(w.out()).toContain("worker: SIGTERM: stopping");
    expect(w.out()).toContain("worker: stopped");
  });
});
