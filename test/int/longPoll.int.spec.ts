import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ed25519Signer } from "../../src/adapters/crypto/ed25519.js";
import { signRequest } from "../../src/adapters/security/signedRequests.js";
import { idlePower, pythonCapabilities } from "../support/agents.js";
import { newSigner } from "../support/events.js";
import { eventually, startTestNode, type TestNode } from "../support/node.js";
import { signedPost } from "../support/signedAgent.js";

/**
 * POST /pull with waitMs: a pull that finds no work waits for some instead of answering no_work
 * at once, and is answered as soon as work is queued; a worker that hangs up gets no lease.
 */
let t: TestNode;
const worker = newSigner();
const quitter = newSigner();

/** A signed pull by fetch, so the test can hang up in the middle of it. */
async function pull(signer: Ed25519Signer, waitMs: number, abort?: AbortSignal) {
  const bytes = Buffer.from(JSON.stringify({ power: idlePower, waitMs }));
  const res = await fetch(new URL("/pull", t.node.coordinatorUrl), {
    method: "POST",
    headers: { "content-type": "application/json", ...signRequest(signer, "POST", "/pull", bytes) },
    body: bytes,
    ...(abort ? { signal: abort } : {}),
  });
  return { status: res.status, body: (await res.json()) as { assigned: boolean; reason?: string; subtask?: { subtaskId: string } } };
}

const queued = async () => (await t.db.pool.query<{ subtask_id: string; status: string; agent_id: string | null }>("SELECT subtask_id, status, agent_id FROM subtasks")).rows;

beforeAll(async () => {
  t = await startTestNode({ worker: false });
  t.model.answer = (prompt) => (prompt.includes("JSON array") ? JSON.stringify([{ input: "print 1", language: "python" }]) : "```python\nprint(1)\n```");
  for (const s of [worker, quitter]) expect(await signedPost(t.node.coordinatorUrl, s, "/register", { capabilities: pythonCapabilities })).toMatchObject({ status: 200, body: { status: "approved" } });
  await eventually("both agents approved in the projection", async () => ((await t.db.pool.query("SELECT 1 FROM agents WHERE status = 'approved'")).rowCount === 2 ? true : undefined));
}, 120_000);
afterAll(async () => t?.close());

describe("a pull that waits for work", () => {
  it("with nothing queued, answers no_work once its wait is over, not before", async () => {
    const started = performance.now();
    const r = await pull(worker, 1_200);
    const took = performance.now() - started;
    expect(r).toEqual({ status: 200, body: expect.objectContaining({ assigned: false, reason: "no_work" }) });
    expect(took).toBeGreaterThanOrEqual(1_100);
    expect(took).toBeLessThan(5_000);
  });

  it("is answered as soon as work is queued, long before its wait is over", async () => {
    const waiting = pull(worker, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    const submittedAt = performance.now();
    expect((await t.admin("POST", "/submit", { prompt: "print 1" })).status).toBe(202);
    const r = await waiting;
    const sinceSubmit = performance.now() - submittedAt;
    expect(r.body).toMatchObject({ assigned: true, subtask: { subtaskId: expect.any(String) } });
    // Decomposition and the projection take their time; the wait itself adds nothing close to 20 s.
    expect(sinceSubmit).toBeLessThan(10_000);
    const done = await signedPost(t.node.coordinatorUrl, worker, "/result", {
      subtaskId: r.body.subtask!.subtaskId,
      leaseId: (r.body.subtask as unknown as { leaseId: string }).leaseId,
      ok: true,
      code: "print(1)",
      output: "1\n",
      stderr: "",
      durationMs: 5,
    });
    expect(done.status).toBe(200);
  }, 30_000);

  it("a worker that hangs up while it waits is handed no lease", async () => {
    const abort = new AbortController();
    const waiting = pull(quitter, 20_000, abort.signal).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 300));
    abort.abort();
    await waiting;
    const taskId = (await t.admin("POST", "/submit", { prompt: "print 1" })).body.taskId as string;
    await eventually("the subtask queued", async () => ((await queued()).some((s) => s.subtask_id === `${taskId}-0` && s.status === "queued") ? true : undefined));
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await queued()).find((s) => s.subtask_id === `${taskId}-0`)).toMatchObject({ status: "queued", agent_id: null });
    // The work is still there for whoever asks next.
    expect((await pull(worker, 0)).body).toMatchObject({ assigned: true, subtask: { subtaskId: `${taskId}-0` } });
  }, 30_000);
});
