import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ed25519Signer } from "../../src/adapters/crypto/ed25519.js";
import { createEventStore } from "../../src/adapters/nats/eventStore.js";
import { signRequest } from "../../src/adapters/security/signedRequests.js";
import { subtaskSubject } from "../../src/domain/tasks/subtask.js";
import { appendedEvents, expectRefused as refused, replyOf, type AppendedEvents, type Reply } from "../support/appendedEvents.js";
import { newSigner } from "../support/events.js";
import { splitsIntoTwoPrints } from "../support/fakeOllama.js";
import { eventually, startTestNode, submitTwoPrints, type TestNode } from "../support/node.js";
import { idlePower, pythonCapabilities } from "../support/agents.js";

/**
 * Where text is refused and where data is kept, on a whole node: typed text (ids, names,
 * prompts, reasons) with a NUL is a 400 naming the field; a lone surrogate in any string of any
 * body is a 400 too (it was a 500: it cannot be signed); a program's output, stderr and code are
 * data, kept exactly with their NULs. None of the refused requests appends anything, and a fault
 * (a 500) is in the node's log under the request id its reply names.
 */

const power = idlePower;
const capabilities = pythonCapabilities;

let t: TestNode;
let events: AppendedEvents;
const agent = newSigner();
let taskId: string;
let lease: { subtaskId: string; leaseId: string };
let escalation: Record<string, unknown>;

type Server = "coordinator" | "controlPlane" | "inference";
const base = (server: Server) => ({ coordinator: t.node.coordinatorUrl, controlPlane: t.node.controlPlaneUrl, inference: t.node.inferenceUrl })[server];

/** A request with the admin token; a string or bytes body is sent as it is. */
async function call(server: Server, method: string, path: string, body?: unknown): Promise<Reply & { requestId: string | null }> {
  const bytes = body === undefined || typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body);
  const res = await fetch(new URL(path, base(server)), {
    method,
    headers: { authorization: `Bearer ${t.node.adminToken}`, ...(bytes === undefined ? {} : { "content-type": "application/json" }) },
    ...(bytes === undefined ? {} : { body: bytes }),
  });
  return { ...(await replyOf(res)), requestId: res.headers.get("x-request-id") };
}

async function signedPost(signer: Ed25519Signer, path: string, body: unknown): Promise<Reply> {
  const bytes = typeof body === "string" ? body : JSON.stringify(body);
  const res = await fetch(new URL(path, t.node.coordinatorUrl), {
    method: "POST",
    headers: { "content-type": "application/json", ...signRequest(signer, "POST", path, bytes) },
    body: bytes,
  });
  return replyOf(res);
}

const expectRefused = (name: string, request: () => Promise<Reply>, status: number, error: string | RegExp, message: RegExp) =>
  refused(events, name, request, status, error, message);

beforeAll(async () => {
  t = await startTestNode({ worker: false, maxAttempts: 1, heartbeatMs: 10_000 });
  t.model.answer = splitsIntoTwoPrints("print(1)");
  events = await appendedEvents(await t.nats.connect("text-reader"));
  expect(await signedPost(agent, "/register", { name: "w", capabilities })).toMatchObject({ status: 200, body: { status: "approved" } });
  await eventually("the agent's approval in the projection", async () => {
    const r = await t.db.pool.query("SELECT 1 FROM agents WHERE agent_id = $1 AND status = 'approved'", [agent.publicKey]);
    return r.rowCount ? true : undefined;
  });
  taskId = await submitTwoPrints(t);
  const pulled = await signedPost(agent, "/pull", { power });
  expect(pulled.body, JSON.stringify(pulled.body)).toMatchObject({ assigned: true });
  lease = pulled.body.subtask as typeof lease;
  escalation = { subtaskId: lease.subtaskId, taskId, language: "python", input: "print 1", history: [{ code: "print(1/0)", stderr: "ZeroDivisionError" }] };
  await events.settle();
}, 120_000);
afterAll(async () => t?.close());

/** Every route that takes typed text, with a valid body and the field a NUL goes in. */
function textFields(): [string, Server, string, (text: string) => unknown, string][] {
  const blacklisted = newSigner().publicKey;
  return [
    ["a prompt", "coordinator", "/submit", (s) => ({ prompt: `print 1${s}` }), "body/prompt"],
    ["a requested model", "coordinator", "/submit", (s) => ({ prompt: "print 1", requestedModel: `m${s}` }), "body/requestedModel"],
    ["a person's code", "coordinator", `/escalate/${lease.subtaskId}/result`, (s) => ({ code: `print(1)${s}` }), "body/code"],
    ["a person's output", "coordinator", `/escalate/${lease.subtaskId}/result`, (s) => ({ code: "print(1)", output: `1${s}` }), "body/output"],
    ["a reason to abandon", "coordinator", `/escalate/${lease.subtaskId}/result`, (s) => ({ abandon: `no${s}` }), "body/abandon"],
    ["who resolved", "coordinator", `/escalate/${lease.subtaskId}/result`, (s) => ({ code: "print(1)", by: `al${s}ice` }), "body/by"],
    ["an escalated subtask's input", "coordinator", "/escalate", (s) => ({ ...escalation, input: `print 1${s}` }), "body/input"],
    ["a faucet's reason", "controlPlane", "/credits/alice/faucet", (s) => ({ amount: 5, reason: `gift${s}` }), "body/reason"],
    ["a credit command's reason", "controlPlane", "/credits/alice/commands", (s) => ({ kind: "earn", amount: 5, reason: `r${s}` }), "body/reason"],
    ["a credit command's ref", "controlPlane", "/credits/alice/commands", (s) => ({ kind: "earn", amount: 5, reason: "r", ref: `x${s}` }), "body/ref"],
    ["a blacklisting's reason", "controlPlane", `/agents/${blacklisted}/blacklist`, (s) => ({ reason: `bad${s}` }), "body/reason"],
    ["a prompt to decompose", "inference", "/decompose", (s) => ({ prompt: `print 1${s}` }), "body/prompt"],
    ["an input to escalate", "inference", "/escalate", (s) => ({ ...escalation, input: `print 1${s}` }), "body/input"],
  ];
}

/** The worker routes' typed text. */
const signedTextFields: [string, string, (text: string) => unknown, string][] = [
  ["an agent's name", "/register", (s) => ({ name: `w${s}`, capabilities }), "body/name"],
  ["a model an agent runs", "/register", (s) => ({ capabilities: { ...capabilities, models: [`qwen${s}`] } }), "body/capabilities/models/0"],
  ["a model in a heartbeat", "/heartbeat", (s) => ({ power, models: ["ok", `m${s}`] }), "body/models/1"],
];

describe("typed text refuses a NUL, naming the field; nothing is appended", () => {
  it("on the admin routes of the coordinator and the control plane, and on the inference service", async () => {
    for (const [name, server, path, body, field] of textFields()) {
      await expectRefused(`${name} with a NUL`, () => call(server, "POST", path, body("\u0000")), 400, "invalid_request", new RegExp(`^${field} contains a NUL character`));
    }
  });

  it("on the signed worker routes: a new key's registration with a NUL in its name cannot stop the agents projection", async () => {
    for (const [name, path, body, field] of signedTextFields) {
      await expectRefused(`${name} with a NUL`, () => signedPost(newSigner(), path, body("\u0000")), 400, "invalid_request", new RegExp(`^${field} contains a NUL character`));
    }
    await expectRefused("the registered agent's heartbeat", () => signedPost(agent, "/heartbeat", { power, models: ["\u0000"] }), 400, "invalid_request", /^body\/models\/0 contains a NUL character/);
  });

  it("in ids of paths and queries too (they are refused as ids)", async () => {
    await expectRefused("a task id", () => call("coordinator", "GET", "/tasks/a%00b"), 400, "invalid_request", /params\/taskId/);
    await expectRefused("a status filter", () => call("coordinator", "GET", "/tasks?status=%00"), 400, "invalid_request", /querystring\/status/);
    await expectRefused("an account id", () => call("controlPlane", "POST", "/credits/al%00ice/faucet", { amount: 5 }), 400, "invalid_request", /params\/accountId/);
  });
});

describe("a lone surrogate in any string of any body is a 400 naming where, never a 500", () => {
  it("in typed text, on every route that takes it", async () => {
    for (const [name, server, path, body, field] of textFields()) {
      await expectRefused(`${name} with a lone surrogate`, () => call(server, "POST", path, body("\ud800")), 400, "invalid_request", new RegExp(`^${field} contains a lone surrogate`));
    }
    for (const [name, path, body, field] of signedTextFields) {
      await expectRefused(`${name} with a lone surrogate`, () => signedPost(newSigner(), path, body("\udfff")), 400, "invalid_request", new RegExp(`^${field} contains a lone surrogate`));
    }
  });

  it("in data, in a key, and escaped or not", async () => {
    const result = { ...lease, ok: true, code: "print(1)", output: "1\n", stderr: "", durationMs: 5 };
    await expectRefused("a result's output", () => signedPost(agent, "/result", { ...result, output: "a\ud83db" }), 400, "invalid_request", /^body\/output contains a lone surrogate/);
    await expectRefused("a failed try's stderr", () => call("inference", "POST", "/escalate", { ...escalation, history: [{ code: "x", stderr: "\udc00" }] }), 400, "invalid_request", /^body\/history\/0\/stderr contains a lone surrogate/);
    await expectRefused("a key", () => call("coordinator", "POST", "/submit", '{"prompt": "print 1", "\\ud800": 1}'), 400, "invalid_request", /^body\/\ud800 contains a lone surrogate/);
    await expectRefused("an escape in lower and upper case", () => call("controlPlane", "POST", "/credits/alice/faucet", '{"amount": 5, "reason": "\\uD800\\u0041"}'), 400, "invalid_request", /^body\/reason contains a lone surrogate/);
  });
});

describe("what only looks like a surrogate is text", () => {
  it("an escaped backslash before ud800, and a pair written as two escapes, are accepted as they are", async () => {
    const gift = await call("controlPlane", "POST", "/credits/bob/faucet", '{"amount": 5, "reason": "\\\\ud800 and \\ud83d\\ude00"}');
    expect(gift).toMatchObject({ status: 201 });
    await events.settle();
    const jsm = await jetstreamManager(await t.nats.connect("text-reason-reader"));
    const msg = await jsm.streams.getMessage("EC_CREDITS", { last_by_subj: "ec.credits.account.bob" });
    expect(msg!.json<{ data: { reason: string } }[]>()[0]!.data.reason).toBe("\\ud800 and \ud83d\ude00");
  });
});

describe("admin routes decode as strictly as worker routes", () => {
  it("a stray byte that is not UTF-8 is a 400 on the coordinator, the control plane and the inference service", async () => {
    const stray = (json: string) => Buffer.from(json, "latin1");
    await expectRefused("a prompt", () => call("coordinator", "POST", "/submit", stray('{"prompt": "print 1\xff"}')), 400, "malformed_json", /not valid .*utf-8/i);
    await expectRefused("a faucet's reason", () => call("controlPlane", "POST", "/credits/alice/faucet", stray('{"amount": 5, "reason": "caf\xe9"}')), 400, "malformed_json", /not valid .*utf-8/i);
    await expectRefused("a prompt to decompose", () => call("inference", "POST", "/decompose", stray('{"prompt": "\xc3"}')), 400, "malformed_json", /not valid .*utf-8/i);
    await expectRefused("a prototype key", () => call("controlPlane", "POST", "/credits/alice/faucet", '{"amount": 5, "__proto__": {"reason": "x"}}'), 400, "malformed_json", /forbidden prototype property/);
  });
});

describe("a fault is logged with its request id and its stack", () => {
  it("the 500 names its request id, the node's log holds that id and the stack; a 4xx logs nothing", async () => {
    const before = t.logs.length;
    expect(await call("controlPlane", "POST", "/credits/alice/faucet", { amount: 5, reason: "\u0000" })).toMatchObject({ status: 400 });
    expect(await call("coordinator", "GET", "/tasks?limit=0")).toMatchObject({ status: 400 });
    // A read model taken away under the gateway: the query fails, as a lost database would.
    await t.db.pool.query("ALTER TABLE credit_accounts RENAME TO credit_accounts_away");
    const fault = await call("controlPlane", "GET", "/credits/alice/balance").finally(() => t.db.pool.query("ALTER TABLE credit_accounts_away RENAME TO credit_accounts"));
    expect(fault).toMatchObject({ status: 500, body: { error: "internal", requestId: fault.requestId, message: `internal error; see the node's log (request ${fault.requestId})` } });
    expect(fault.requestId).toMatch(/^[0-9a-f-]{36}$/);
    // The gateways' lines are JSON; at "info" every request has one, and only the fault is at warn or above.
    const logged = t.logs
      .slice(before)
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { level: string; service: string; reqId?: string; msg: string; url?: string; status?: number; err?: { stack?: string } });
    const asked = ["/credits/alice/faucet", "/tasks?limit=0", "/credits/alice/balance"];
    expect(logged.filter((l) => l.msg === "request" && asked.includes(l.url!)).map((l) => [l.url, l.status])).toEqual(asked.map((url, i) => [url, [400, 400, 500][i]]));
    const faults = logged.filter((l) => l.level !== "info" && l.level !== "debug");
    expect(faults).toHaveLength(1);
    expect(faults[0]).toMatchObject({ level: "error", service: "control plane", reqId: fault.requestId, msg: "request failed", url: "/credits/alice/balance" });
    expect(faults[0]!.err!.stack).toMatch(/credit_accounts" does not exist\n\s+at /);
  });
});

describe("data is kept exactly", () => {
  it("a result's code, output and stderr with NULs are accepted and appended as they came", async () => {
    const code = "print('a' + chr(0) + 'b')";
    const output = "a\u0000b\n";
    const stderr = "\u0000warning\u0000";
    const done = await signedPost(agent, "/result", { ...lease, ok: true, code, output, stderr, durationMs: 5 });
    // A new agent's result is held until the coordinator has run its code: it is appended as reported, exactly.
    expect(done).toMatchObject({ status: 200, body: { accepted: true, events: ["subtask.reported"] } });
    const reported = await eventually("the held report", async () => {
      const { commits } = await (await createEventStore(await t.nats.connect("text-data-commits"))).readAggregate(subtaskSubject(lease.subtaskId));
      const events = commits.flatMap((c) => JSON.parse(new TextDecoder().decode(c.data)) as { type: string; data: Record<string, unknown> }[]);
      return events.find((e) => e.type === "subtask.reported");
    });
    expect(reported).toMatchObject({ type: "subtask.reported", data: { code, output, stderr } });
  });

  it("an escalation's failed tries with NULs are escalated (the coordinator's parent route and the inference service)", async () => {
    const tries = { ...escalation, history: [{ code: "print(chr(0))", stderr: "a\u0000b", output: "\u0000" }] };
    expect(await call("inference", "POST", "/escalate", tries)).toMatchObject({ status: 200, body: { code: "print(1)" } });
    expect(await call("coordinator", "POST", "/escalate", tries)).toMatchObject({ status: 200, body: { code: "print(1)" } });
  });
});
