import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ed25519Signer } from "../../src/adapters/crypto/ed25519.js";
import { signRequest } from "../../src/adapters/security/signedRequests.js";
import { splitsIntoTwoPrints } from "../support/fakeOllama.js";
import { appendedEvents, expectRefused as refused, replyOf, type AppendedEvents, type Reply } from "../support/appendedEvents.js";
import { newSigner } from "../support/events.js";
import { eventually, startTestNode, submitTwoPrints, type TestNode } from "../support/node.js";
import { idlePower, pythonCapabilities } from "../support/agents.js";

/**
 * The coordinator's signed worker routes (register, heartbeat, pull, result) refuse bad input with
 * a 4xx, an error code and a message naming the problem, and append no event. This test acts as
 * the workers itself: the node runs none of its own.
 */

interface SendOptions {
  /** Sign these bytes instead of the ones sent. */
  readonly signed?: string | Uint8Array;
  /** Sign for another path than the one posted to. */
  readonly signedPath?: string;
  readonly signAt?: number;
  readonly headers?: Record<string, string>;
  readonly contentType?: string | null;
}

const power = idlePower;
const capabilities = pythonCapabilities;

let t: TestNode;
let events: AppendedEvents;
const worker = newSigner();
const other = newSigner();
const outcast = newSigner();
const stranger = newSigner();
let taskId: string;

/** POSTs bytes signed by `signer` (or as `opts` twists them); null signer: no signature headers. */
async function post(signer: Ed25519Signer | null, path: string, body: unknown, opts: SendOptions = {}): Promise<Reply> {
  const bytes = typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body);
  const signature = signer ? signRequest(signer, "POST", opts.signedPath ?? path, opts.signed ?? bytes, opts.signAt) : {};
  const contentType = opts.contentType === undefined ? "application/json" : opts.contentType;
  const res = await fetch(new URL(path, t.node.coordinatorUrl), {
    method: "POST",
    headers: { ...(contentType ? { "content-type": contentType } : {}), ...signature, ...opts.headers },
    // Without a content type an empty body is no body: fetch would call a string text/plain.
    ...(contentType === null && bytes.length === 0 ? {} : { body: bytes }),
  });
  return replyOf(res);
}

const expectRefused = (name: string, request: () => Promise<Reply>, status: number, error: string | RegExp, message: RegExp) =>
  refused(events, name, request, status, error, message);

const result = (subtaskId: string, leaseId: string, extra: Record<string, unknown> = {}) => ({
  subtaskId,
  leaseId,
  ok: true,
  code: "print(1)",
  output: "1\n",
  stderr: "",
  durationMs: 12,
  ...extra,
});

async function registerApproved(signer: Ed25519Signer) {
  const r = await post(signer, "/register", { capabilities });
  expect(r).toMatchObject({ status: 200, body: { status: "approved" } });
  await eventually("the agent's approval in the projection", async () => {
    const row = await t.db.pool.query("SELECT 1 FROM agents WHERE agent_id = $1 AND status = 'approved'", [signer.publicKey]);
    return row.rowCount ? true : undefined;
  });
}

async function pull(signer: Ed25519Signer): Promise<{ subtaskId: string; leaseId: string; leaseExpiresAt: string }> {
  const r = await post(signer, "/pull", { power });
  expect(r.status).toBe(200);
  expect(r.body, JSON.stringify(r.body)).toMatchObject({ assigned: true });
  return r.body.subtask as { subtaskId: string; leaseId: string; leaseExpiresAt: string };
}

beforeAll(async () => {
  // A 1 s minimum lease: a subtask's own lease is then three of its timeouts (15 s for a short
  // input). Beats every 10 s keep the reaper from ending leases of agents that beat rarely, and ten
  // tries keep a reaped subtask in the queue.
  t = await startTestNode({ worker: false, leaseMs: 1_000, heartbeatMs: 10_000, maxAttempts: 10 });
  t.model.answer = splitsIntoTwoPrints("```python\nprint(1)\n```");
  events = await appendedEvents(await t.nats.connect("bad-input-reader"));
  for (const signer of [worker, other, outcast]) await registerApproved(signer);
  taskId = await submitTwoPrints(t);
  await events.settle();
}, 120_000);
afterAll(async () => t?.close());

describe("coordinator worker routes refuse bad input, appending nothing", () => {
  it("401 for an unsigned, forged, altered, misdirected, stale or replayed request", async () => {
    const beat = JSON.stringify({ power });
    const forged = { "x-ec-agent": worker.publicKey };
    await expectRefused("unsigned", () => post(null, "/heartbeat", beat), 401, "unauthorized", /unsigned or malformed request/);
    await expectRefused("unsigned register", () => post(null, "/register", { capabilities }), 401, "unauthorized", /unsigned or malformed request/);
    await expectRefused("malformed signature", () => post(worker, "/pull", { power }, { headers: { "x-ec-signature": "not-a-signature" } }), 401, "unauthorized", /x-ec-signature/);
    await expectRefused("signed by another key", () => post(other, "/pull", { power }, { headers: forged }), 401, "unauthorized", /bad request signature/);
    await expectRefused("body changed after signing", () => post(worker, "/heartbeat", beat.replace('"cpuLoadPct":5', '"cpuLoadPct":6'), { signed: beat }), 401, "unauthorized", /bad request signature/);
    await expectRefused("signed for another path", () => post(worker, "/pull", { power }, { signedPath: "/heartbeat" }), 401, "unauthorized", /bad request signature/);
    await expectRefused("stale timestamp", () => post(worker, "/pull", { power }, { signAt: Date.now() - 120_000 }), 401, "unauthorized", /stale request/);
    await expectRefused("timestamp from the future", () => post(worker, "/pull", { power }, { signAt: Date.now() + 120_000 }), 401, "unauthorized", /stale request/);

    // A replay of a request that did append (a new agent's registration) appends nothing more.
    const newcomer = newSigner();
    const body = JSON.stringify({ capabilities });
    const headers = { "content-type": "application/json", ...signRequest(newcomer, "POST", "/register", body) };
    const first = await fetch(new URL("/register", t.node.coordinatorUrl), { method: "POST", headers, body });
    expect(first.status).toBe(200);
    await events.settle();
    const replay = async () => replyOf(await fetch(new URL("/register", t.node.coordinatorUrl), { method: "POST", headers, body }));
    await expectRefused("replayed nonce", replay, 401, "unauthorized", /replayed request: nonce already used/);
  });

  it("400 for malformed JSON (signed over its bytes), wrong types and missing fields; 415 for a body that is not JSON", async () => {
    for (const path of ["/register", "/heartbeat", "/pull", "/result"]) {
      await expectRefused(`malformed JSON on ${path}`, () => post(worker, path, '{"power": {'), 400, "malformed_json", /malformed JSON body/);
    }
    const cases: [string, string, unknown, RegExp][] = [
      ["register without capabilities", "/register", { name: "w" }, /capabilities/],
      ["register with languages as a string", "/register", { capabilities: { ...capabilities, languages: "python" } }, /languages/],
      ["register with an unknown language", "/register", { capabilities: { ...capabilities, languages: ["cobol"] } }, /languages/],
      ["register with an unknown mode", "/register", { mode: "robot", capabilities }, /mode/],
      ["register with a blank name", "/register", { name: "  ", capabilities }, /name/],
      ["register with an array body", "/register", [capabilities], /expected object/],
      ["heartbeat without power", "/heartbeat", {}, /power/],
      ["heartbeat with cpu load as text", "/heartbeat", { power: { ...power, cpuLoadPct: "low" } }, /cpuLoadPct/],
      ["heartbeat with cpu load over 100", "/heartbeat", { power: { ...power, cpuLoadPct: 250 } }, /cpuLoadPct/],
      ["pull with an unknown device type", "/pull", { power: { ...power, deviceType: "toaster" } }, /deviceType/],
      ["pull with an empty body", "/pull", "", /power/],
      ["result without a lease", "/result", { subtaskId: "s-0", ok: true, code: "", output: "", stderr: "", durationMs: 1 }, /leaseId/],
      ["result with ok as text", "/result", result("s-0", "l-1", { ok: "yes" }), /ok/],
      ["result with a negative duration", "/result", result("s-0", "l-1", { durationMs: -1 }), /durationMs/],
      ["result with a dotted subtask id", "/result", result("a.b", "l-1"), /subtaskId/],
      ["result with output over 256 KiB", "/result", result("s-0", "l-1", { output: "x".repeat(256 * 1024 + 1) }), /output/],
    ];
    for (const [name, path, body, message] of cases) await expectRefused(name, () => post(worker, path, body), 400, "invalid_request", message);
    await expectRefused("no body at all", () => post(worker, "/pull", "", { contentType: null }), 400, "invalid_request", /body/);
    await expectRefused("a text/plain body", () => post(worker, "/pull", JSON.stringify({ power }), { contentType: "text/plain" }), 415, "FST_ERR_CTP_INVALID_MEDIA_TYPE", /Unsupported Media Type/);
    await expectRefused(
      "sandbox none for a worker",
      () => post(newSigner(), "/register", { mode: "worker", capabilities: { ...capabilities, sandbox: "none" } }),
      400,
      "sandbox_required",
      /sandbox "none" is only for agents in ide mode/,
    );
  });

  it("413 for a body over the coordinator's 1 MiB limit", async () => {
    const huge = result(`${taskId}-0`, "l-1", { code: "x".repeat(1024 * 1024) });
    await expectRefused("1 MiB of code", () => post(worker, "/result", huge), 413, /BODY_TOO_LARGE/, /too large/i);
  });

  it("404 on heartbeat, pull and result for a key that never registered", async () => {
    await expectRefused("heartbeat", () => post(stranger, "/heartbeat", { power }), 404, "unknown_agent", /no agent registered with this key/);
    await expectRefused("pull", () => post(stranger, "/pull", { power }), 404, "unknown_agent", /no agent registered with this key/);
    await expectRefused("result", () => post(stranger, "/result", result(`${taskId}-0`, "l-1")), 404, "unknown_agent", /no agent registered with this key/);
  });

  it("403 on pull and register for an agent the operator blacklisted", async () => {
    const res = await fetch(new URL(`/agents/${outcast.publicKey}/blacklist`, t.node.controlPlaneUrl), {
      method: "POST",
      headers: { authorization: `Bearer ${t.node.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ reason: "ran a crypto miner" }),
    });
    expect(res.status).toBe(200);
    await eventually("the blacklisting in the projection", async () => {
      const r = await t.db.pool.query("SELECT 1 FROM agents WHERE agent_id = $1 AND status = 'blacklisted'", [outcast.publicKey]);
      return r.rowCount ? true : undefined;
    });
    await events.settle();
    await expectRefused("pull", () => post(outcast, "/pull", { power }), 403, "blacklisted", /blacklisted: ran a crypto miner/);
    await expectRefused("register again", () => post(outcast, "/register", { capabilities }), 403, "blacklisted", /blacklisted: ran a crypto miner/);
  });

  it("409 for a result on another agent's lease, a made-up lease, or a subtask not leased; 404 for an unknown subtask; then 409 lease_expired once the lease ended", async () => {
    let lease = await pull(worker);
    const queued = [`${taskId}-0`, `${taskId}-1`].find((id) => id !== lease.subtaskId)!;
    await events.settle();
    await expectRefused("another agent's lease", () => post(other, "/result", result(lease.subtaskId, lease.leaseId)), 409, "not_your_lease", /is not the subtask's current lease/);
    await expectRefused("a made-up lease, by another agent", () => post(other, "/result", result(lease.subtaskId, "made-up-lease")), 409, "not_your_lease", /is not the subtask's current lease/);
    await expectRefused("a made-up lease, by the holder", () => post(worker, "/result", result(lease.subtaskId, "made-up-lease")), 409, "not_your_lease", /is not the subtask's current lease/);
    await expectRefused("a subtask still queued", () => post(worker, "/result", result(queued, lease.leaseId)), 409, "not_assigned", /is queued, not assigned/);
    await expectRefused("an unknown subtask", () => post(worker, "/result", result(`${taskId}-7`, lease.leaseId)), 404, "unknown_subtask", new RegExp(`no subtask ${taskId}-7`));
    await expectRefused("an unknown task's subtask", () => post(worker, "/result", result("no-such-task-0", lease.leaseId)), 404, "unknown_subtask", /no subtask no-such-task-0/);

    // Bodies within the limit whose event would not fit in one stream message (1 MiB): two-byte
    // characters up to a few bytes short of the limit, and bytes that are not UTF-8 at all.
    const wide = result(lease.subtaskId, lease.leaseId, { code: "é".repeat(256 * 1024), output: "x".repeat(256 * 1024), stderr: "" });
    const stderr = "x".repeat(1024 * 1024 - 16 - Buffer.byteLength(JSON.stringify(wide)));
    const nearLimit = JSON.stringify({ ...wide, stderr });
    expect(Buffer.byteLength(nearLimit)).toBe(1024 * 1024 - 16);
    await expectRefused("a result a few bytes under the limit", () => post(worker, "/result", nearLimit), 413, "events_too_large", /take \d+ bytes, more than one stream message may hold/);
    const json = JSON.stringify(result(lease.subtaskId, lease.leaseId, { code: "@".repeat(200_000), output: "#".repeat(200_000) }));
    const notUtf8 = Buffer.from(json.replace(/[@#]/g, "\u00ff"), "latin1");
    await expectRefused("a result that is not UTF-8", () => post(worker, "/result", notUtf8), 400, "malformed_json", /malformed JSON body: .*not valid .*utf-8/i);

    // After the lease's end, before the reaper's next pass (every 5 s), the holder's result is too
    // late. Should the reaper get there first, the subtask is queued again: lease it anew and retry.
    for (let round = 1; ; round++) {
      await sleep(Math.max(0, Date.parse(lease.leaseExpiresAt) - Date.now() + 5));
      const before = await events.mark();
      const late = await post(worker, "/result", result(lease.subtaskId, lease.leaseId));
      // The reaper may append its own leaseExpired (and nothing else) before or after the reply.
      const appended = (await events.since(before)).filter((e) => !e.endsWith(" subtask.leaseExpired"));
      expect({ round, appended }).toEqual({ round, appended: [] });
      if (late.status === 409 && late.body.error === "lease_expired") {
        expect(late.body.message).toMatch(new RegExp(`the lease ended at ${lease.leaseExpiresAt}`));
        break;
      }
      expect({ round, reply: late }).toMatchObject({ round, reply: { status: 409, body: { error: "not_assigned" } } });
      expect(round).toBeLessThan(3);
      await events.settle();
      lease = await pull(worker);
    }

    // Once the reaper has taken the lease back, the result is refused as well.
    await eventually(
      "the reaper to end the lease",
      async () => {
        const r = await t.db.pool.query("SELECT 1 FROM subtasks WHERE subtask_id = $1 AND status = 'queued'", [lease.subtaskId]);
        return r.rowCount ? true : undefined;
      },
      15_000,
    );
    await events.settle();
    await expectRefused("a lease the reaper ended", () => post(worker, "/result", result(lease.subtaskId, lease.leaseId)), 409, "not_assigned", /is queued, not assigned/);
  }, 120_000);
});
