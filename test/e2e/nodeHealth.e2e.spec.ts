import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NatsServerProcess } from "../../src/adapters/nats/natsServerProcess.js";
import { eventually, startTestNode, type TestNode } from "../support/node.js";

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as { ok: boolean; checks: Record<string, { ok: boolean; reason?: string }> } };
};

describe("a node's /health and /ready", () => {
  let t: TestNode;
  const fatal: string[] = [];
  let replacement: NatsServerProcess | undefined;
  beforeAll(async () => {
    t = await startTestNode({}, { embeddedPostgres: true, onFatal: (reason) => fatal.push(reason) });
  }, 120_000);
  afterAll(async () => {
    await t?.close().catch(() => undefined);
    await replacement?.stop();
  });

  it("say every dependency is up on a running node, on the coordinator and the control plane", async () => {
    for (const base of [t.node.coordinatorUrl, t.node.controlPlaneUrl]) {
      const health = await eventually("the worker to be up", async () => {
        const h = await get(`${base}/health`);
        return h.body.ok ? h : undefined;
      });
      expect(health.status).toBe(200);
      expect(Object.keys(health.body.checks).sort()).toEqual(["embedded postgres", "nats", "postgres", "worker"]);
      expect((await get(`${base}/ready`)).status).toBe(200);
    }
  });

  it("say what is down while NATS is away, and are ready again once it is back", async () => {
    const port = t.nats.server.port;
    await t.nats.server.stop("SIGKILL");
    const down = await eventually("/ready to turn 503", async () => {
      const r = await get(`${t.node.coordinatorUrl}/ready`);
      return r.status === 503 ? r : undefined;
    });
    expect(down.body.checks.nats).toMatchObject({ ok: false, reason: expect.stringMatching(/disconnected .*reconnecting/) });
    expect((await get(`${t.node.coordinatorUrl}/health`)).status).toBe(200);
    replacement = await NatsServerProcess.start({ storeDir: join(t.dataDir, "replacement-nats"), port });
    await eventually("/ready to turn 200 again", async () => ((await get(`${t.node.coordinatorUrl}/ready`)).status === 200 ? true : undefined), 30_000);
  }, 60_000);

  it("say the embedded Postgres is down when it is killed, and tell the node to stop", async () => {
    const pid = Number((await readFile(join(t.dataDir, "pglite.lock"), "utf8")).split(/\s+/)[0]);
    process.kill(pid, "SIGKILL");
    const down = await eventually("/ready to turn 503", async () => {
      const r = await get(`${t.node.coordinatorUrl}/ready`);
      return r.status === 503 && !r.body.checks.postgres?.ok && !r.body.checks["embedded postgres"]?.ok ? r : undefined;
    });
    expect(down.body.checks["embedded postgres"]).toEqual({ ok: false, reason: "the embedded Postgres process exited" });
    expect(fatal.some((f) => /^the embedded Postgres is down: embedded Postgres exited \(SIGKILL\)/.test(f))).toBe(true);
  }, 60_000);
});
