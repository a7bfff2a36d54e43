import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ed25519Signer } from "../../src/adapters/crypto/ed25519.js";
import { signRequest } from "../../src/adapters/security/signedRequests.js";
import { splitsIntoTwoPrints } from "../support/fakeOllama.js";
import { appendedEvents, expectRefused as refused, replyOf, type AppendedEvents, type Reply } from "../support/appendedEvents.js";
import { newSigner } from "../support/events.js";
import { eventually, startTestNode, submitTwoPrints, type TestNode } from "../support/node.js";
import { idlePower, pythonCapabilities } from "../support/agents.js";

/**
 * The operator's routes, on the coordinator (tasks, escalations) and the control plane (agents),
 * refuse bad input with a 4xx, an error code and a message naming the problem, and append no
 * event. The node runs no worker of its own; one signed agent here fails a subtask so that it
 * waits for a person.
 */

const power = idlePower;
const capabilities = pythonCapabilities;

let t: TestNode;
let events: AppendedEvents;
const agent = newSigner();
let taskId: string;
/** Waits for a person: its only try failed and the model answered the escalation without code. */
let awaiting: string;
/** Still queued: no one pulled it. */
let queued: string;

type Server = "coordinator" | "controlPlane";

/** A request with the admin token (or `auth`: another Authorization header, null for none). */
async function call(server: Server, method: string, path: string, body?: unknown, opts: { auth?: string | null; headers?: Record<string, string> } = {}): Promise<Reply> {
  const base = server === "coordinator" ? t.node.coordinatorUrl : t.node.controlPlaneUrl;
  const auth = opts.auth === undefined ? `Bearer ${t.node.adminToken}` : opts.auth;
  const bytes = body === undefined || typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body);
  const res = await fetch(new URL(path, base), {
    method,
    headers: { ...(auth === null ? {} : { authorization: auth }), ...(bytes === undefined ? {} : { "content-type": "application/json" }), ...opts.headers },
    ...(bytes === undefined ? {} : { body: bytes }),
  });
  return replyOf(res);
}

const expectRefused = (name: string, request: () => Promise<Reply>, status: number, error: string | RegExp, message: RegExp) =>
  refused(events, name, request, status, error, message);

async function signedPost(signer: Ed25519Signer, path: string, body: unknown): Promise<Reply> {
  const bytes = JSON.stringify(body);
  const res = await fetch(new URL(path, t.node.coordinatorUrl), {
    method: "POST",
    headers: { "content-type": "application/json", ...signRequest(signer, "POST", path, bytes) },
    body: bytes,
  });
  return replyOf(res);
}

beforeAll(async () => {
  // One try per subtask: a failed result escalates at once.
  t = await startTestNode({ worker: false, maxAttempts: 1, heartbeatMs: 10_000 });
  t.model.answer = splitsIntoTwoPrints("");
  events = await appendedEvents(await t.nats.connect("bad-input-reader"));

  expect(await signedPost(agent, "/register", { capabilities })).toMatchObject({ status: 200, body: { status: "approved" } });
  await eventually("the agent's approval in the projection", async () => {
    const r = await t.db.pool.query("SELECT 1 FROM agents WHERE agent_id = $1 AND status = 'approved'", [agent.publicKey]);
    return r.rowCount ? true : undefined;
  });
  taskId = await submitTwoPrints(t);
  const pulled = await signedPost(agent, "/pull", { power });
  const lease = pulled.body.subtask as { subtaskId: string; leaseId: string };
  expect(pulled.body, JSON.stringify(pulled.body)).toMatchObject({ assigned: true });
  awaiting = lease.subtaskId;
  queued = [`${taskId}-0`, `${taskId}-1`].find((id) => id !== awaiting)!;
  const failed = await signedPost(agent, "/result", { ...lease, ok: false, code: "print(1/0)", output: "", stderr: "ZeroDivisionError", durationMs: 5 });
  expect(failed).toMatchObject({ status: 200, body: { events: ["subtask.failed", "subtask.escalated"] } });
  await eventually(
    "the failed subtask to wait for a person",
    async () => {
      const r = await t.db.pool.query("SELECT 1 FROM subtasks WHERE subtask_id = $1 AND status = 'awaitingHuman'", [awaiting]);
      return r.rowCount ? true : undefined;
    },
    30_000,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\nnode log:\n${t.logs.slice(-30).join("\n")}`);
  });
  await events.settle();
}, 120_000);
afterAll(async () => t?.close());

describe("coordinator admin routes refuse bad input, appending nothing", () => {
  it("401 without the admin token, with a wrong one, or with another scheme", async () => {
    const routes: [string, string, unknown][] = [
      ["POST", "/submit", { prompt: "print 1" }],
      ["GET", "/tasks", undefined],
      ["GET", `/tasks/${taskId}`, undefined],
      ["GET", `/tasks/${taskId}/result`, undefined],
      ["GET", "/escalate", undefined],
      ["GET", `/escalate/${awaiting}`, undefined],
      ["POST", `/escalate/${awaiting}/result`, { code: "print(1)" }],
      ["POST", "/escalate", { subtaskId: "s", taskId: "t", language: "python", input: "x", history: [{ code: "", stderr: "e" }] }],
    ];
    for (const [method, path, body] of routes) {
      for (const auth of [null, "Bearer wrong-token", `Basic ${t.node.adminToken}`, "Bearer "]) {
        await expectRefused(`${method} ${path} with ${auth ?? "no token"}`, () => call("coordinator", method, path, body, { auth }), 401, "unauthorized", /admin bearer token is required/);
      }
    }
  });

  it("400 for a malformed or invalid submission; 413 for one over 1 MiB", async () => {
    const submit = (body: unknown, headers?: Record<string, string>) => () => call("coordinator", "POST", "/submit", body, headers ? { headers } : {});
    await expectRefused("malformed JSON", submit('{"prompt": "print 1",'), 400, "malformed_json", /malformed JSON body/);
    await expectRefused("an empty JSON body", submit(""), 400, "invalid_request", /body\/prompt/);
    const cases: [string, unknown, RegExp][] = [
      ["no prompt", { language: "python" }, /prompt/],
      ["a blank prompt", { prompt: "   " }, /prompt/],
      ["a prompt over 20,000 characters", { prompt: "p".repeat(20_001) }, /prompt/],
      ["a prompt that is a number", { prompt: 42 }, /prompt/],
      ["an unknown language", { prompt: "print 1", language: "cobol" }, /language/],
      ["a priority as text", { prompt: "print 1", priority: "high" }, /priority/],
      ["a priority over 100", { prompt: "print 1", priority: 101 }, /priority/],
      ["a dotted submitter", { prompt: "print 1", submitter: "a.b" }, /submitter/],
      ["an unknown resource class", { prompt: "print 1", resourceClass: "tpu" }, /resourceClass/],
      ["an array", [{ prompt: "print 1" }], /expected object/],
    ];
    for (const [name, body, message] of cases) await expectRefused(name, submit(body), 400, "invalid_request", message);
    await expectRefused("an idempotency key that is not a UUID", submit({ prompt: "print 1" }, { "idempotency-key": "again" }), 400, "invalid_request", /idempotency-key/);
    await expectRefused("over 1 MiB", submit({ prompt: "p".repeat(1024 * 1024) }), 413, /BODY_TOO_LARGE/, /too large/i);
  });

  it("400 for bad queries and ids on the task reads; 404 for unknown tasks", async () => {
    const get = (path: string) => () => call("coordinator", "GET", path);
    for (const [query, message] of [
      ["limit=0", /limit/],
      ["limit=201", /limit/],
      ["limit=many", /limit/],
      ["status=lost", /status/],
    ] as const) {
      await expectRefused(`GET /tasks?${query}`, get(`/tasks?${query}`), 400, "invalid_request", message);
    }
    await expectRefused("a dotted task id", get("/tasks/a.b"), 400, "invalid_request", /taskId/);
    await expectRefused("a dotted task id's result", get("/tasks/a.b/result"), 400, "invalid_request", /taskId/);
    const unknown = randomUUID();
    await expectRefused("an unknown task", get(`/tasks/${unknown}`), 404, "unknown_task", new RegExp(`no task ${unknown}`));
    await expectRefused("an unknown task's result", get(`/tasks/${unknown}/result`), 404, "unknown_task", new RegExp(`no task ${unknown}`));
    await expectRefused("an unknown route", get("/taskz"), 404, "not_found", /no route GET \/taskz/);
  });

  it("escalations: 400 for bad ids and resolutions, 404 for unknown subtasks, 409 for one not waiting for a person, 413 for a resolution too big for one commit", async () => {
    const resolve = (subtaskId: string, body: unknown) => () => call("coordinator", "POST", `/escalate/${subtaskId}/result`, body);
    await expectRefused("a dotted subtask id", () => call("coordinator", "GET", "/escalate/a.b"), 400, "invalid_request", /subtaskId/);
    await expectRefused("an unknown subtask", () => call("coordinator", "GET", "/escalate/nope-0"), 404, "unknown_subtask", /no subtask nope-0/);
    await expectRefused("resolving an unknown subtask", resolve("nope-0", { code: "print(1)" }), 404, "unknown_subtask", /no subtask nope-0/);
    await expectRefused("resolving with a dotted id", resolve("a.b", { code: "print(1)" }), 400, "invalid_request", /subtaskId/);
    await expectRefused("malformed JSON", resolve(awaiting, '{"code": '), 400, "malformed_json", /malformed JSON body/);
    const cases: [string, unknown, RegExp][] = [
      ["neither code nor abandon", {}, /code|abandon/],
      ["empty code", { code: "" }, /code/],
      ["code as a number", { code: 7 }, /code/],
      ["an empty reason to abandon", { abandon: "" }, /abandon/],
      ["an empty name", { code: "print(1)", by: "" }, /by/],
      ["code over 256 KiB", { code: "x".repeat(256 * 1024 + 1) }, /code/],
    ];
    for (const [name, body, message] of cases) await expectRefused(name, resolve(awaiting, body), 400, "invalid_request", message);

    await expectRefused("resolving a queued subtask", resolve(queued, { code: "print(2)" }), 409, "not_awaiting_human", /is queued, not waiting for a person/);
    await expectRefused("abandoning a queued subtask", resolve(queued, { abandon: "no one knows" }), 409, "not_awaiting_human", /is queued, not waiting for a person/);

    // Bytes that are not UTF-8 are refused, as on the worker routes: a lenient decode would read
    // each as U+FFFD, three bytes, and the event would hold other text than was sent.
    const json = JSON.stringify({ code: "@".repeat(200_000), output: "#".repeat(200_000) });
    const notUtf8 = Buffer.from(json.replace(/[@#]/g, "\u00ff"), "latin1");
    await expectRefused("a resolution that is not UTF-8", resolve(awaiting, notUtf8), 400, "malformed_json", /malformed JSON body: .*not valid .*utf-8/i);
    await expectRefused("one stray byte", resolve(awaiting, Buffer.from('{"code": "print(1)\xff"}', "latin1")), 400, "malformed_json", /not valid .*utf-8/i);
    // A body within the 1 MiB limit whose event, signed into an envelope, outgrows one stream message.
    const room = 1024 * 1024 - 16 - Buffer.byteLength(JSON.stringify({ code: "", output: "" }));
    const code = "\u20ac".repeat(Math.floor(room / 6));
    const left = room - Buffer.byteLength(code);
    const nearLimit = JSON.stringify({ code, output: "\u20ac".repeat(Math.floor(left / 3)) + "x".repeat(left % 3) });
    expect(Buffer.byteLength(nearLimit)).toBe(1024 * 1024 - 16);
    await expectRefused("a resolution too big for one commit", resolve(awaiting, nearLimit), 413, "events_too_large", /take \d+ bytes, more than one stream message may hold/);

    const done = await call("coordinator", "POST", `/escalate/${awaiting}/result`, { code: "print(1)", output: "1\n", by: "alice" });
    expect(done).toMatchObject({ status: 200, body: { events: ["subtask.resolved"] } });
    await events.settle();
    await expectRefused("resolving it again", resolve(awaiting, { code: "print(1)" }), 409, "not_awaiting_human", /is resolved, not waiting for a person/);
    await expectRefused("abandoning it after", resolve(awaiting, { abandon: "too late" }), 409, "not_awaiting_human", /is resolved, not waiting for a person/);
  });

  it("POST /escalate: 400 for a bad request, 413 over its 2 MiB limit", async () => {
    const escalate = (body: unknown) => () => call("coordinator", "POST", "/escalate", body);
    const valid = { subtaskId: `${taskId}-0`, taskId, language: "python", input: "print 1", history: [{ code: "print(1/0)", stderr: "ZeroDivisionError" }] };
    await expectRefused("malformed JSON", escalate("{"), 400, "malformed_json", /malformed JSON body/);
    await expectRefused("no history", escalate({ ...valid, history: [] }), 400, "invalid_request", /history/);
    await expectRefused("an unknown language", escalate({ ...valid, language: "cobol" }), 400, "invalid_request", /language/);
    await expectRefused("no input", escalate({ ...valid, input: undefined }), 400, "invalid_request", /input/);
    await expectRefused("over 2 MiB", escalate({ ...valid, input: "x".repeat(2 * 1024 * 1024) }), 413, /BODY_TOO_LARGE/, /too large/i);
  });
});

describe("control plane agent routes refuse bad input, appending nothing", () => {
  it("401 without the admin token", async () => {
    const routes: [string, string, unknown][] = [
      ["GET", "/agents", undefined],
      ["POST", `/agents/${agent.publicKey}/approve`, undefined],
      ["POST", `/agents/${agent.publicKey}/blacklist`, { reason: "r" }],
    ];
    for (const [method, path, body] of routes) {
      for (const auth of [null, "Bearer wrong-token"]) {
        await expectRefused(`${method} ${path} with ${auth ?? "no token"}`, () => call("controlPlane", method, path, body, { auth }), 401, "unauthorized", /admin bearer token is required/);
      }
    }
  });

  it("400 for a bad filter, id or reason; 413 over 64 KiB; 404 approving an unknown agent", async () => {
    const blacklist = (body: unknown, id = agent.publicKey) => () => call("controlPlane", "POST", `/agents/${id}/blacklist`, body);
    await expectRefused("an unknown status filter", () => call("controlPlane", "GET", "/agents?status=lost"), 400, "invalid_request", /status/);
    await expectRefused("approving a dotted id", () => call("controlPlane", "POST", "/agents/a.b/approve"), 400, "invalid_request", /agentId/);
    const unknown = newSigner().publicKey;
    await expectRefused("approving an unknown agent", () => call("controlPlane", "POST", `/agents/${unknown}/approve`), 404, "unknown_agent", new RegExp(`no agent ${unknown}`));
    await expectRefused("blacklisting a dotted id", blacklist({ reason: "r" }, "a.b"), 400, "invalid_request", /agentId/);
    await expectRefused("blacklisting without a body", () => call("controlPlane", "POST", `/agents/${agent.publicKey}/blacklist`), 400, "invalid_request", /body/);
    await expectRefused("blacklisting with malformed JSON", blacklist('{"reason"'), 400, "malformed_json", /malformed JSON body/);
    for (const [name, body] of [
      ["no reason", {}],
      ["an empty reason", { reason: "" }],
      ["a blank reason", { reason: "   " }],
      ["a reason as a number", { reason: 5 }],
      ["a reason over 500 characters", { reason: "r".repeat(501) }],
    ] as const) {
      await expectRefused(`blacklisting with ${name}`, blacklist(body), 400, "invalid_request", /reason/);
    }
    await expectRefused("blacklisting with a body over 64 KiB", blacklist({ reason: "r".repeat(70_000) }), 413, /BODY_TOO_LARGE/, /too large/i);
  });

  it("409 blacklisting twice and approving a blacklisted agent", async () => {
    const first = await call("controlPlane", "POST", `/agents/${agent.publicKey}/blacklist`, { reason: "sent bad results" });
    expect(first).toMatchObject({ status: 200, body: { events: ["agent.blacklisted"] } });
    await eventually("the blacklisting in the projection", async () => {
      const r = await t.db.pool.query("SELECT 1 FROM agents WHERE agent_id = $1 AND status = 'blacklisted'", [agent.publicKey]);
      return r.rowCount ? true : undefined;
    });
    await events.settle();
    await expectRefused("blacklisting again", () => call("controlPlane", "POST", `/agents/${agent.publicKey}/blacklist`, { reason: "again" }), 409, "blacklisted", /blacklisted already/);
    await expectRefused("approving a blacklisted agent", () => call("controlPlane", "POST", `/agents/${agent.publicKey}/approve`), 409, "blacklisted", /the agent is blacklisted: sent bad results/);
  });
});
