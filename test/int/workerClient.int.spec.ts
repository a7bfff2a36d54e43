import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { freePort } from "../../src/adapters/nats/natsServerProcess.js";
import { kvNonceStore, verifySignedRequest, type NonceStore } from "../../src/adapters/security/signedRequests.js";
import { coordinatorClient, CoordinatorRequestError, CoordinatorUnreachableError } from "../../src/worker/coordinatorClient.js";
import { newSigner } from "../support/events.js";
import { startTestNats, type TestNats } from "../support/nats.js";

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: Buffer;
  readonly check: Awaited<ReturnType<typeof verifySignedRequest>>;
}

const worker = newSigner();
const power = { deviceType: "desktop", cpuLoadPct: 10, thermalState: "nominal", onExternalPower: true } as const;
let nats: TestNats;
let nonces: NonceStore;
let server: Server;
let url: string;
let seen: Seen[];
let reply: (path: string) => { status: number; body: string };

beforeAll(async () => {
  nats = await startTestNats();
  nonces = await kvNonceStore(await nats.connect("coordinator"));
  // A bare coordinator stand-in: it checks each request the way the real one does, over the exact bytes received.
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const path = req.url ?? "";
    const check = await verifySignedRequest(req.headers, req.method ?? "", path, body, nonces);
    seen.push({ method: req.method ?? "", path, headers: req.headers, body, check });
    const r = check.ok ? reply(path) : { status: 401, body: JSON.stringify({ error: "unauthorized", message: check.reason }) };
    res.writeHead(r.status, { "content-type": "application/json" }).end(r.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await nats?.close();
});
beforeEach(() => {
  seen = [];
  reply = (path) =>
    path === "/register"
      ? { status: 200, body: JSON.stringify({ agentId: worker.publicKey, status: "approved", heartbeatIntervalMs: 15_000 }) }
      : path === "/pull"
        ? { status: 200, body: JSON.stringify({ assigned: false, reason: "no_work", message: "nothing queued" }) }
        : path === "/heartbeat"
          ? { status: 200, body: JSON.stringify({ ok: true, status: "approved", heartbeatIntervalMs: 15_000 }) }
          : { status: 200, body: JSON.stringify({ accepted: true, events: ["subtask.completed"] }) };
});

const client = () => coordinatorClient({ url, signer: worker });

describe("coordinator client: signed requests", () => {
  it("signs method, path and the exact body bytes it sends; the coordinator's check accepts them once", async () => {
    const registered = await client().register({ mode: "worker", capabilities: { models: ["qwen2.5-coder:1.5b"], languages: ["python"], sandbox: "bwrap" } });
    expect(registered).toEqual({ agentId: worker.publicKey, status: "approved", heartbeatIntervalMs: 15_000 });
    const [r] = seen;
    expect(r?.check).toEqual({ ok: true, agent: worker.publicKey });
    expect(r?.method).toBe("POST");
    expect(r?.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(r!.body.toString())).toEqual({
      mode: "worker",
      capabilities: { models: ["qwen2.5-coder:1.5b"], languages: ["python"], sandbox: "bwrap", resourceClass: "cpu", maxConcurrent: 1 },
      // Unstated, a device type is a server's: the coordinator holds every later request to it.
      deviceType: "server",
    });
    // The same headers again are a replay.
    expect(await verifySignedRequest(r!.headers, "POST", "/register", r!.body, nonces)).toMatchObject({ ok: false, reason: expect.stringMatching(/replayed/) });
  });

  it("signs every call with a fresh nonce: heartbeat, pull and result all verify", async () => {
    const c = client();
    expect(await c.heartbeat({ power, models: [] })).toEqual({ ok: true, status: "approved", heartbeatIntervalMs: 15_000 });
    expect(await c.pull({ power })).toEqual({ assigned: false, reason: "no_work", message: "nothing queued" });
    expect(await c.result({ subtaskId: "s-1", leaseId: "l-1", ok: true, code: "print(1)", output: "1\n", stderr: "", durationMs: 12 })).toEqual({
      accepted: true,
      events: ["subtask.completed"],
    });
    await c.pull({ power });
    expect(seen.map((s) => [s.path, s.check.ok])).toEqual([
      ["/heartbeat", true],
      ["/pull", true],
      ["/result", true],
      ["/pull", true],
    ]);
    expect(new Set(seen.map((s) => s.headers["x-ec-nonce"])).size).toBe(4);
  });

  it("signs the path as the coordinator receives it, behind a base URL with a trailing slash", async () => {
    await coordinatorClient({ url: `${url}/`, signer: worker }).pull({ power });
    expect(seen[0]).toMatchObject({ path: "/pull", check: { ok: true } });
  });

  it("parses an assigned subtask", async () => {
    const subtask = { subtaskId: "s-1", taskId: "t-1", leaseId: "l-1", leaseExpiresAt: new Date().toISOString(), attempt: 1, input: "print 1", language: "python", timeoutMs: 5_000 };
    reply = () => ({ status: 200, body: JSON.stringify({ assigned: true, subtask }) });
    expect(await client().pull({ power })).toEqual({ assigned: true, subtask });
  });
});

describe("coordinator client: errors", () => {
  it("turns a 4xx reply into an error with its status, error code and message", async () => {
    reply = () => ({ status: 409, body: JSON.stringify({ error: "lease_lost", message: "the lease of s-1 expired" }) });
    const err = await client()
      .result({ subtaskId: "s-1", leaseId: "l-1", ok: true, code: "", output: "", stderr: "", durationMs: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CoordinatorRequestError);
    expect(err).toMatchObject({ status: 409, code: "lease_lost", path: "/result", message: "the lease of s-1 expired" });
    expect(String(err)).toBe("POST /result: 409 lease_lost: the lease of s-1 expired");
  });

  it("keeps the status of a reply that is not JSON", async () => {
    reply = () => ({ status: 502, body: "Bad Gateway" });
    await expect(client().pull({ power })).rejects.toMatchObject({ status: 502, code: "http_error", message: "Bad Gateway" });
  });

  it("refuses a reply that is not the contract's", async () => {
    reply = () => ({ status: 200, body: JSON.stringify({ assigned: "maybe" }) });
    await expect(client().pull({ power })).rejects.toBeInstanceOf(CoordinatorUnreachableError);
  });

  it("refuses to send a body that is not the contract's", async () => {
    await expect(client().pull({ power: { ...power, cpuLoadPct: 400 } })).rejects.toThrow();
    expect(seen).toHaveLength(0);
  });

  it("names the address when nothing answers", async () => {
    const port = await freePort();
    const c = coordinatorClient({ url: `http://127.0.0.1:${port}`, signer: worker });
    await expect(c.pull({ power })).rejects.toThrow(new RegExp(`^coordinator unreachable at http://127\\.0\\.0\\.1:${port}/pull: .*ECONNREFUSED`));
  });
});
