import { createHash } from "node:crypto";
import http from "node:http";
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bitcoinRpc } from "../../src/adapters/bitcoin/rpc.js";
import type { Ed25519Signer } from "../../src/adapters/crypto/ed25519.js";
import { signRequest } from "../../src/adapters/security/signedRequests.js";
import { routesOf } from "../../src/gateways/gatewayApp.js";
import { encodeCursor } from "../../src/gateways/paging.js";
import { appendedEvents, type AppendedEvents } from "../support/appendedEvents.js";
import { buildAnchorProxy } from "../../src/gateways/anchor/app.js";
import { newSigner } from "../support/events.js";
import { stubGateways, type GatewayName } from "../support/gatewayApps.js";
import { startFakeBitcoind, type FakeBitcoind } from "../support/fakeBitcoind.js";
import { splitsIntoTwoPrints } from "../support/fakeOllama.js";
import { eventually, startTestNode, submitTwoPrints, type TestNode } from "../support/node.js";
import { idlePower, pythonCapabilities } from "../support/agents.js";

/**
 * Every route of every gateway (coordinator, inference service, control plane, anchor proxy),
 * enumerated from the Fastify apps themselves, gets requests a fuzzer makes: arbitrary JSON,
 * wrong types, huge and deeply nested bodies, NULs, lone surrogates, bytes that are not UTF-8,
 * wrong media types, bad, missing and duplicated headers, bad admin tokens and bad signatures.
 * Whatever comes, the answer is never a 5xx, and a refused request (4xx) appends no event, asks
 * no model and broadcasts no transaction. A route without a fuzz case fails the test.
 */

/** Runs per route: reads are cheap (nothing to wait for), writes may set a flow off. */
const RUNS: Record<string, number> = { GET: 150, HEAD: 20, POST: 80 };

type Gateway = GatewayName;
type Auth = "admin" | "signed" | "anchor" | "none";

interface RouteCase {
  readonly auth: Auth;
  /** Values that name something real, tried beside arbitrary ones. */
  readonly params?: Record<string, fc.Arbitrary<string>>;
  readonly query?: fc.Arbitrary<Record<string, string>>;
  /** A body the route takes; the fuzzer mutates it. */
  readonly body?: fc.Arbitrary<unknown>;
}

const BODY_LIMITS: Record<Gateway, number> = { coordinator: 1024 * 1024, inference: 64 * 1024, controlPlane: 64 * 1024, anchor: 1024 };
const ANCHOR_TOKEN = "anchor-proxy-fuzz-token-0123456789";

/** The routes each gateway serves, read from apps built the way the node builds them (with stubs that serve nothing). */
async function servedRoutes(): Promise<{ gateway: Gateway; method: string; url: string }[]> {
  const apps: [Gateway, FastifyInstance][] = await stubGateways();
  const routes = [];
  for (const [gateway, app] of apps) {
    await app.ready();
    routes.push(...routesOf(app).map((r) => ({ gateway, ...r })));
    await app.close();
  }
  return routes;
}
const served = await servedRoutes();

// ---- what the fuzzer sends ----

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
/** Strings a client may send: ordinary, odd, with a NUL or a lone surrogate somewhere, or big. */
const nastyString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 3, arbitrary: fc.tuple(fc.string({ maxLength: 10 }), fc.constantFrom("\u0000", "\ud800", "\udfff", "\u0000\u0000")).map(([s, bad]) => s + bad + s) },
  { weight: 2, arbitrary: fc.tuple(fc.string({ maxLength: 5 }), loneSurrogate).map(([s, lone]) => lone + s) },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "\t\n", "\ud83d\ude00", "\u00e9", "\u202e", "\ufeff", "null", "0", "__proto__", "constructor") },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 80_000 }).map((n) => "y".repeat(n)) },
);
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(-1, 0, 1e308, -0, 2 ** 53, 2 ** 64, 0.5, true, false, null, [], {}) },
  { weight: 1, arbitrary: fc.integer({ min: 2, max: 2_000 }).map((n) => JSON.parse("[".repeat(n) + "]".repeat(n)) as unknown) },
);

type Path = (string | number)[];
function leaves(value: unknown, path: Path = []): Path[] {
  if (Array.isArray(value)) return [path, ...value.flatMap((v, i) => leaves(v, [...path, i]))];
  if (value !== null && typeof value === "object") return [path, ...Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]))];
  return [path];
}
function setAt(value: unknown, path: Path, to: unknown | typeof REMOVE): unknown {
  if (path.length === 0) return to === REMOVE ? undefined : to;
  const [head, ...rest] = path;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>;
  if (rest.length === 0 && to === REMOVE) delete copy[head!];
  else copy[head!] = setAt(copy[head!], rest, to);
  return copy;
}
const REMOVE = Symbol("remove");

/** The route's own body, or it with one part changed: replaced by anything, removed, a key added, wrapped. */
function mutated(body: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: body },
    { weight: 4, arbitrary: fc.tuple(body, fc.nat(), anyValue).map(([b, i, v]) => setAt(b, pick(leaves(b), i), v)) },
    { weight: 3, arbitrary: fc.tuple(body, fc.nat(), nastyString).map(([b, i, s]) => setAt(b, pick(leaves(b), i), s)) },
    { weight: 1, arbitrary: fc.tuple(body, fc.nat()).map(([b, i]) => setAt(b, pick(leaves(b), i), REMOVE)) },
    { weight: 1, arbitrary: fc.tuple(body, nastyString, anyValue).map(([b, k, v]) => (b !== null && typeof b === "object" && !Array.isArray(b) ? { ...b, [k]: v } : b)) },
    { weight: 1, arbitrary: body.map((b) => [b]) },
  );
}
const pick = <T>(items: readonly T[], i: number): T => items[i % items.length]!;

const utf8 = (s: string) => Buffer.from(s, "utf8");
/** The bytes of a body: JSON of a (mutated) body, other JSON, broken or non-UTF-8 bytes, nesting, size, prototype keys, nothing. */
function bodyBytes(body: fc.Arbitrary<unknown> | undefined, limit: number): fc.Arbitrary<Buffer | undefined> {
  const json = body ? mutated(body) : fc.jsonValue({ maxDepth: 2 });
  return fc.oneof(
    { weight: body ? 10 : 1, arbitrary: json.map((v) => utf8(JSON.stringify(v) ?? "null")) },
    { weight: body ? 1 : 6, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => utf8(JSON.stringify(v))) },
    {
      weight: 2,
      arbitrary: fc.tuple(json, fc.nat(), fc.constantFrom(0xff, 0xfe, 0xc3, 0x80, 0xed, 0xf4, 0xc0)).map(([v, i, byte]) => {
        const b = utf8(JSON.stringify(v) ?? "null");
        b[i % b.length] = byte;
        return b;
      }),
    },
    { weight: 1, arbitrary: fc.tuple(json, fc.nat()).map(([v, i]) => utf8(JSON.stringify(v) ?? "null").subarray(0, i % 40)) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 300_000 }).map((n) => utf8("[".repeat(n) + "]".repeat(n)).subarray(0, limit * 2)) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 100_000 }).map((n) => utf8('{"a":'.repeat(n) + "1" + "}".repeat(n)).subarray(0, limit * 2)) },
    { weight: 1, arbitrary: fc.constantFrom(limit - 200, limit + 1, 2 * limit).map((n) => utf8(JSON.stringify({ prompt: "z".repeat(Math.max(1, n)) }))) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '{"__proto__": {"admin": true}}',
        '{"constructor": {"prototype": {"admin": true}}}',
        '{"prompt": "x", "prompt": "y"}',
        '"\\ud800"',
        '{"\\ud800": 1}',
        '{"a": "\\u0000"}',
        "",
        " ",
        "null",
        "[]",
        "1e999999",
        '{"a": 1}garbage',
        "\ufeff{}",
      ).map(utf8),
    },
  );
}

const contentType: fc.Arbitrary<string | string[] | undefined> = fc.oneof(
  { weight: 10, arbitrary: fc.constant("application/json") },
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "application/json; charset=utf-8",
      "APPLICATION/JSON",
      "application/json; charset=latin1",
      "application/json;;;",
      "text/plain",
      "text/plain; charset=utf-8",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/octet-stream",
      "application/jsonp",
      "*/*",
      "",
      "json",
    ),
  },
  { weight: 1, arbitrary: fc.constant(["application/json", "text/plain"]) as fc.Arbitrary<string[]> },
);

const pathSegment = (valid?: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: valid ? 6 : 0, arbitrary: valid ?? fc.constant("x") },
    { weight: 2, arbitrary: fc.string({ maxLength: 30 }).map(encodeURIComponent) },
    { weight: 2, arbitrary: fc.constantFrom("%00", "a%00b", "%ff", "%C3", "%ED%A0%80", "%", "%zz", "..", "a.b", "%2F", "a%2Fb", "%20", "__proto__", "constructor", "x".repeat(120), "x".repeat(5_000)) },
  );

/** Numbers as a query carries them, most of them out of any range. */
const oddNumber = fc.constantFrom("0", "-1", "1.5", "1e30", "99999999999999999999", "9007199254740993", "NaN", "Infinity", "0x10", " 1", "", "1e999");
const queryString = (valid?: fc.Arbitrary<Record<string, string>>) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant("") },
    { weight: valid ? 3 : 0, arbitrary: (valid ?? fc.constant({})).map((q) => new URLSearchParams(q).toString()) },
    {
      weight: valid ? 3 : 0,
      arbitrary: fc
        .tuple(valid ?? fc.constant({}), fc.nat(), fc.oneof(oddNumber, nastyString.filter((v) => v.length < 200)))
        .map(([q, i, v]) => new URLSearchParams({ ...q, [pick(Object.keys(q).length ? Object.keys(q) : ["x"], i)]: v }).toString()),
    },
    { weight: 2, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), nastyString.filter((s) => s.length < 200), { maxKeys: 3 }).map((q) => new URLSearchParams(q).toString()) },
    { weight: 2, arbitrary: fc.constantFrom("%", "%ff=1", "a=%00", "limit=1&limit=2", "status[]=x", "__proto__=1", "constructor[prototype][x]=1", "limit=1e999", "beforeSeq=99999999999999999999", "limit=-0", "status=%ED%A0%80", "&&&=") },
  );

type TokenAuth = "right" | "none" | "wrong" | "basic" | "empty" | "lowercase" | "duplicated" | "duplicatedRightFirst" | "latin1" | "huge";
type SignedAuth = "valid" | "unregistered" | "otherBody" | "otherPath" | "stale" | "future" | "unsigned" | "partial" | "duplicatedNonce" | "garbage" | "replay";

const tokenAuth = fc.oneof(
  { weight: 6, arbitrary: fc.constant<TokenAuth>("right") },
  { weight: 4, arbitrary: fc.constantFrom<TokenAuth>("none", "wrong", "basic", "empty", "lowercase", "duplicated", "duplicatedRightFirst", "latin1", "huge") },
);
const signedAuth = fc.oneof(
  { weight: 6, arbitrary: fc.constant<SignedAuth>("valid") },
  { weight: 5, arbitrary: fc.constantFrom<SignedAuth>("unregistered", "otherBody", "otherPath", "stale", "future", "unsigned", "partial", "duplicatedNonce", "garbage", "replay") },
);

function tokenHeader(auth: TokenAuth, token: string): string | string[] | undefined {
  switch (auth) {
    case "right":
      return `Bearer ${token}`;
    case "none":
      return undefined;
    case "wrong":
      return `Bearer ${"w".repeat(token.length)}`;
    case "basic":
      return `Basic ${token}`;
    case "empty":
      return "Bearer ";
    case "lowercase":
      return `bearer ${token}`;
    case "duplicated":
      return ["Bearer wrong-token-0123456789", `Bearer ${token}`];
    case "duplicatedRightFirst":
      return [`Bearer ${token}`, "Bearer wrong-token-0123456789"];
    case "latin1":
      return `Bearer ${token}\u00e9`;
    case "huge":
      return `Bearer ${"h".repeat(20_000)}`;
  }
}

interface Request {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer | undefined;
}

let lastSigned: Record<string, string> | undefined;
function signedHeaders(auth: SignedAuth, signer: Ed25519Signer, method: string, path: string, body: Buffer | undefined): Record<string, string | string[]> {
  const bytes = body ?? Buffer.alloc(0);
  const sign = (by = signer, p = path, b: Uint8Array = bytes, at = Date.now()) => signRequest(by, method, p, b, at) as unknown as Record<string, string>;
  const headers = ((): Record<string, string | string[]> => {
    switch (auth) {
      case "valid":
        return sign();
      case "unregistered":
        return sign(newSigner());
      case "otherBody":
        return sign(signer, path, Buffer.concat([bytes, utf8(" ")]));
      case "otherPath":
        return sign(signer, path === "/pull" ? "/heartbeat" : "/pull");
      case "stale":
        return sign(signer, path, bytes, Date.now() - 10 * 60_000);
      case "future":
        return sign(signer, path, bytes, Date.now() + 10 * 60_000);
      case "unsigned":
        return {};
      case "partial": {
        const { "x-ec-signature": _s, ...rest } = sign();
        return rest;
      }
      case "duplicatedNonce": {
        const h = sign();
        return { ...h, "x-ec-nonce": [h["x-ec-nonce"]!, "another-nonce-0123456789"] };
      }
      case "garbage":
        return { "x-ec-agent": "\u00ff".repeat(43), "x-ec-timestamp": "1e12", "x-ec-nonce": "../../..", "x-ec-signature": "=".repeat(86) };
      case "replay":
        return lastSigned ?? sign();
    }
  })();
  if (auth === "valid") lastSigned = headers as Record<string, string>;
  return headers;
}

/**
 * One request over HTTP as it is, on a connection of its own (what one request leaves on a
 * connection must not be read as the next one's answer): duplicated headers stay duplicated,
 * bytes stay bytes.
 */
function send(base: string, r: Request): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: r.method, path: r.path, headers: r.headers, agent: false, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within 30 s to ${r.method} ${r.path}`)));
    req.on("error", (err: Error & { rawPacket?: Buffer }) => {
      // Node answers a request it cannot parse (headers too large, say) itself, and for HEAD
      // with a body the client refuses to read: the status line still says what was answered.
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(err.rawPacket?.toString("latin1") ?? "");
      if (status) resolve({ status: Number(status[1]), body: err.rawPacket!.toString("latin1") });
      else reject(err);
    });
    req.end(r.body);
  });
}

// ---- the node, the anchor proxy, and what is real on them ----

const power = idlePower;
const capabilities = pythonCapabilities;

let t: TestNode;
let events: AppendedEvents;
let bitcoind: FakeBitcoind;
let anchor: FastifyInstance;
let anchorUrl: string;
const agent = newSigner();
let taskId: string;
let subtaskIds: string[];
let intentId: string;
const custodians = [newSigner().publicKey, newSigner().publicKey];

async function signedPost(path: string, body: unknown) {
  const bytes = JSON.stringify(body);
  return send(t.node.coordinatorUrl, { method: "POST", path, headers: { "content-type": "application/json", ...signRequest(agent, "POST", path, bytes) }, body: utf8(bytes) });
}

beforeAll(async () => {
  // No lease, heartbeat or checkpoint may come due while the fuzzer runs: a refused request must append nothing.
  // Nor a price proposal or an issuance vote (the intent poller appends only for a paid or expired invoice; the mock's are neither).
  t = await startTestNode({
    worker: false,
    maxAttempts: 1,
    heartbeatMs: 600_000,
    leaseMs: 24 * 3600_000,
    checkpointIntervalMs: 24 * 3600_000,
    priceIntervalMs: 24 * 3600_000,
    epochVoting: false,
  });
  t.model.answer = splitsIntoTwoPrints("print(1)");
  events = await appendedEvents(await t.nats.connect("fuzz-reader"));
  expect(JSON.parse((await signedPost("/register", { name: "fuzzer", capabilities })).body)).toMatchObject({ status: "approved" });
  await eventually("the agent's approval in the projection", async () => {
    const r = await t.db.pool.query("SELECT 1 FROM agents WHERE agent_id = $1 AND status = 'approved'", [agent.publicKey]);
    return r.rowCount ? true : undefined;
  });
  taskId = await submitTwoPrints(t);
  subtaskIds = [`${taskId}-0`, `${taskId}-1`];
  const intent = await fetch(new URL("/economy/payments/intents", t.node.controlPlaneUrl), {
    method: "POST",
    headers: { authorization: `Bearer ${t.node.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ accountId: "alice", amountSats: 1_000 }),
  });
  intentId = ((await intent.json()) as { intentId: string }).intentId;
  bitcoind = await startFakeBitcoind();
  anchor = await buildAnchorProxy({ rpc: bitcoinRpc({ url: bitcoind.url, auth: { user: bitcoind.user, password: bitcoind.password }, wallet: bitcoind.wallet }), token: ANCHOR_TOKEN });
  anchorUrl = await anchor.listen({ host: "127.0.0.1", port: 0 });
  await events.settle();
}, 120_000);
afterAll(async () => {
  await anchor?.close();
  await bitcoind?.close();
  await t?.close();
});

// ---- a case for every route ----

const id = () => fc.constantFrom(taskId, ...subtaskIds, agent.publicKey, "alice", "nope-0");
const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex"));
const escalationBody = () =>
  fc.record({
    subtaskId: fc.constantFrom(...subtaskIds),
    taskId: fc.constant(taskId),
    language: fc.constantFrom("python", "javascript"),
    input: fc.string({ minLength: 1, maxLength: 50 }),
    history: fc.array(fc.record({ code: fc.string({ maxLength: 50 }), stderr: fc.string({ maxLength: 50 }), output: fc.string({ maxLength: 20 }) }), { minLength: 1, maxLength: 3 }),
  });
const reason = fc.string({ minLength: 1, maxLength: 50 });
/** A list's cursor: one of the right shape (a key that may or may not be a row's), one of another shape, or none at all. */
const cursor = (first: fc.Arbitrary<string>, second: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.tuple(first, second).map((key) => encodeCursor(key)) },
    { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map((key) => encodeCursor(key)) },
    { weight: 1, arbitrary: fc.base64String({ maxLength: 40 }) },
  );
const micros = fc.bigInt({ min: 0n, max: 9_999_999_999_999_999n }).map(String);
const limit = (max: number) => fc.integer({ min: 1, max }).map(String);
const amount = fc.integer({ min: 1, max: 1_000 });
/** An hour as epoch ids spell it: the last few, one far off, and one no clock shows. */
const epochIds = () => fc.constantFrom(new Date(Date.now() - 3_600_000).toISOString().slice(0, 13), new Date().toISOString().slice(0, 13), "2026-01-01T00", "2020-02-29T23", "2021-02-29T23");
const signature = fc.uint8Array({ minLength: 64, maxLength: 64 }).map((b) => Buffer.from(b).toString("base64url"));

/** What every gateway serves beside its own routes: its API's description and the node's metrics (the anchor proxy's behind its token). */
const DOCS_AND_METRICS = ["/metrics", "/docs", "/docs/", "/docs/json", "/docs/yaml", "/docs/static/index.html", "/docs/static/swagger-initializer.js", "/docs/static/*"];
const docsAndMetrics = (): Record<string, RouteCase> =>
  Object.fromEntries(
    (["coordinator", "inference", "controlPlane", "anchor"] as const).flatMap((gateway) =>
      DOCS_AND_METRICS.map((url) => [`${gateway} GET ${url}`, { auth: gateway === "anchor" ? "anchor" : "none" } satisfies RouteCase]),
    ),
  );

function cases(): Record<string, RouteCase> {
  const health: RouteCase = { auth: "none" };
  return {
    ...docsAndMetrics(),
    "controlPlane GET /status": { auth: "admin" },
    "coordinator GET /health": health,
    "coordinator GET /ready": health,
    // The fuzzer's agent keeps its device type: the heartbeat and pull cases report a server's power.
    "coordinator POST /register": {
      auth: "signed",
      body: fc.record({ name: fc.string({ minLength: 1, maxLength: 20 }), mode: fc.constantFrom("worker", "ide"), capabilities: fc.constant(capabilities), deviceType: fc.constant("server") }, { requiredKeys: ["capabilities"] }),
    },
    "coordinator POST /heartbeat": { auth: "signed", body: fc.record({ power: fc.constant(power), models: fc.array(fc.string({ minLength: 1, maxLength: 20 }), { maxLength: 3 }) }) },
    "coordinator POST /pull": { auth: "signed", body: fc.constant({ power }) },
    "coordinator POST /result": {
      auth: "signed",
      body: fc.record({
        subtaskId: fc.constantFrom(...subtaskIds),
        leaseId: fc.uuid(),
        ok: fc.boolean(),
        code: fc.string({ maxLength: 50 }),
        output: fc.string({ maxLength: 50 }),
        stderr: fc.string({ maxLength: 50 }),
        durationMs: fc.nat(10_000),
      }),
    },
    "coordinator POST /submit": { auth: "admin", body: fc.record({ prompt: fc.string({ minLength: 1, maxLength: 50 }), language: fc.constantFrom("python", "javascript") }) },
    "coordinator GET /tasks": {
      auth: "admin",
      query: fc.record({ status: fc.constantFrom("submitted", "running", "completed", "failed"), limit: limit(200), before: cursor(micros, id()) }, { requiredKeys: [] }),
    },
    "coordinator GET /tasks/:taskId": { auth: "admin", params: { taskId: id() } },
    "coordinator GET /tasks/:taskId/result": { auth: "admin", params: { taskId: id() } },
    "coordinator GET /escalate": { auth: "admin", query: fc.record({ limit: limit(200), after: cursor(micros, id()) }, { requiredKeys: [] }) },
    "coordinator GET /escalate/:subtaskId": { auth: "admin", params: { subtaskId: id() } },
    "coordinator POST /escalate/:subtaskId/result": {
      auth: "admin",
      params: { subtaskId: id() },
      body: fc.oneof(fc.record({ code: fc.string({ minLength: 1, maxLength: 30 }), output: fc.string({ maxLength: 10 }), by: fc.string({ minLength: 1, maxLength: 10 }) }), fc.record({ abandon: reason })),
    },
    "coordinator POST /escalate": { auth: "admin", body: escalationBody() },
    "inference GET /health": health,
    "inference POST /decompose": { auth: "admin", body: fc.record({ prompt: fc.string({ minLength: 1, maxLength: 50 }), language: fc.constantFrom("python", "javascript") }) },
    "inference POST /escalate": { auth: "admin", body: escalationBody() },
    "controlPlane GET /health": health,
    "controlPlane GET /ready": health,
    "controlPlane GET /credits/:accountId/balance": { auth: "admin", params: { accountId: id() } },
    "controlPlane GET /credits/:accountId/history": {
      auth: "admin",
      params: { accountId: id() },
      query: fc.record(
        { limit: limit(500), beforeSeq: fc.integer({ min: 1 }).map(String), before: cursor(fc.bigInt({ min: 0n, max: 999_999_999_999_999_999n }).map(String), fc.uuid()) },
        { requiredKeys: [] },
      ),
    },
    "controlPlane POST /credits/:accountId/commands": {
      auth: "admin",
      params: { accountId: id() },
      body: fc.oneof(
        fc.record({ kind: fc.constant("earn"), amount, reason }),
        fc.record({ kind: fc.constant("spend"), amount, reason }),
        fc.record({ kind: fc.constant("hold"), holdId: fc.constantFrom("h1", "h2"), amount, reason }),
        fc.record({ kind: fc.constant("release"), holdId: fc.constantFrom("h1", "h2") }),
        fc.record({ kind: fc.constant("adjust"), delta: fc.integer({ min: -100, max: 100 }), reason }),
      ),
    },
    "controlPlane POST /credits/:accountId/faucet": { auth: "admin", params: { accountId: id() }, body: fc.record({ amount, reason }) },
    "controlPlane GET /agents": {
      auth: "admin",
      query: fc.record({ status: fc.constantFrom("pending", "approved", "blacklisted"), limit: limit(500), after: cursor(micros, id()) }, { requiredKeys: [] }),
    },
    "controlPlane POST /agents/:agentId/approve": { auth: "admin", params: { agentId: fc.constantFrom(agent.publicKey, newSigner().publicKey) } },
    // Never the fuzzer's own agent: the signed routes' cases need it approved.
    "controlPlane POST /agents/:agentId/blacklist": { auth: "admin", params: { agentId: fc.constant(null).map(() => newSigner().publicKey) }, body: fc.record({ reason }) },
    "controlPlane GET /credits/accounts": { auth: "admin", query: fc.record({ limit: limit(1000), after: cursor(id(), fc.constant("")) }, { requiredKeys: [] }) },
    "controlPlane GET /economy/price/current": { auth: "admin" },
    "controlPlane GET /economy/price/proposals": {
      auth: "admin",
      query: fc.record(
        { resourceClass: fc.constantFrom("cpu", "gpu"), coordinatorId: fc.constantFrom(t.node.publicKey, agent.publicKey), limit: limit(500), before: cursor(micros, fc.uuid()) },
        { requiredKeys: [] },
      ),
    },
    "controlPlane POST /economy/payments/intents": { auth: "admin", body: fc.record({ accountId: fc.constantFrom("alice", "fuzz-payer"), amountSats: fc.integer({ min: 1, max: 100_000 }) }) },
    "controlPlane GET /economy/payments/intents/:intentId": { auth: "admin", params: { intentId: fc.constantFrom(intentId, "nope-0", taskId) } },
    "controlPlane POST /economy/payments/intents/:intentId/confirm": {
      auth: "admin",
      params: { intentId: fc.constantFrom(intentId, "nope-0") },
      body: fc.oneof(fc.constant({}), fc.record({ preimage: hex64 })),
    },
    "controlPlane GET /economy/issuance/current": { auth: "admin" },
    "controlPlane GET /economy/issuance/history": { auth: "admin", query: fc.record({ limit: limit(200), before: cursor(epochIds(), hex64) }, { requiredKeys: [] }) },
    "controlPlane GET /economy/issuance/quorum/:epochId": { auth: "admin", params: { epochId: epochIds() } },
    "controlPlane POST /economy/issuance/quorum/vote": { auth: "admin", body: fc.record({ epochId: epochIds() }, { requiredKeys: [] }) },
    "controlPlane POST /economy/treasury/policies": {
      auth: "admin",
      body: fc.record({
        policyId: fc.constantFrom("treasury", "fuzz-line"),
        policy: fc.record({
          quorumThreshold: fc.integer({ min: 1, max: 3 }),
          custodians: fc.constant(custodians),
          approvedCoordinators: fc.constant([t.node.publicKey]),
          keyRotationDays: fc.integer({ min: 1, max: 365 }),
        }),
      }),
    },
    "controlPlane POST /economy/treasury/policies/:policyId/activate": {
      auth: "admin",
      params: { policyId: fc.constantFrom("treasury", "fuzz-line", "nope-0") },
      body: fc.record({ signatures: fc.array(fc.record({ custodian: fc.constantFrom(...custodians), signature }), { minLength: 1, maxLength: 3 }) }),
    },
    "controlPlane GET /economy/treasury": { auth: "admin", query: fc.record({ limit: limit(100), after: cursor(micros, id()) }, { requiredKeys: [] }) },
    "controlPlane POST /agents/:agentId/owner": { auth: "admin", params: { agentId: fc.constant(null).map(() => newSigner().publicKey) }, body: fc.record({ owner: fc.constantFrom("team-a", "x", "a.b") }) },
    "coordinator POST /credits/ble-sync": {
      auth: "signed",
      body: fc.record({
        transactions: fc.array(
          fc.record({
            txId: fc.uuid(),
            requester: fc.constant(null).map(() => newSigner().publicKey),
            provider: fc.constant(null).map(() => newSigner().publicKey),
            cpuSeconds: fc.double({ min: -1, max: 4_000, noNaN: true }),
            model: fc.string({ minLength: 1, maxLength: 20 }),
            at: fc.constant(new Date().toISOString()),
            signature: fc.string({ minLength: 86, maxLength: 86 }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
      }),
    },
    "anchor POST /anchor/broadcast": { auth: "anchor", body: fc.record({ hash: hex64 }) },
    "anchor GET /anchor/confirm/:txid": { auth: "anchor", params: { txid: hex64 } },
    "anchor GET /health": { auth: "anchor" },
  };
}

function requests(gateway: Gateway, method: string, url: string, c: RouteCase): fc.Arbitrary<Request> {
  const names = [...url.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  const params = fc.tuple(...names.map((n) => pathSegment(c.params?.[n])));
  const takesBody = method !== "GET" && method !== "HEAD";
  return fc
    .record({
      params,
      query: queryString(c.query),
      body: takesBody ? bodyBytes(c.body, BODY_LIMITS[gateway]) : fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: bodyBytes(undefined, 1024) }),
      contentType,
      token: tokenAuth,
      signed: signedAuth,
      idempotencyKey: fc.option(fc.oneof(fc.uuid(), fc.constantFrom("again", "", "x".repeat(300)), fc.constant(["00000000-0000-4000-8000-000000000000", "again"]) as fc.Arbitrary<string[]>), { freq: 5 }),
      junk: fc.option(fc.record({ "x-forwarded-for": fc.constantFrom("1.2.3.4", "::1, 10.0.0.1"), "x-request-id": fc.constantFrom("forged\u00ff", "1") }), { freq: 5 }),
    })
    .map((f) => {
      let path = url;
      names.forEach((n, i) => (path = path.replace(`:${n}`, f.params[i]!)));
      if (f.query) path += `?${f.query}`;
      const headers: Record<string, string | string[]> = {};
      if (f.body !== undefined && f.contentType !== undefined) headers["content-type"] = f.contentType;
      if (f.idempotencyKey !== null) headers["idempotency-key"] = f.idempotencyKey;
      if (f.junk) Object.assign(headers, f.junk);
      const token = c.auth === "anchor" ? ANCHOR_TOKEN : t.node.adminToken;
      if (c.auth === "admin" || c.auth === "anchor" || c.auth === "none") {
        const auth = tokenHeader(f.token, token);
        if (auth !== undefined) headers.authorization = auth;
      }
      if (c.auth === "signed") Object.assign(headers, signedHeaders(f.signed, agent, method, path, f.body));
      // Framed by its length whatever the method: a GET's body sent bare would read as the next request.
      if (f.body !== undefined) headers["content-length"] = String(f.body.length);
      return Object.assign({ method, path, headers, body: f.body }, { [fc.toStringMethod]: () => shown({ method, path, headers, body: f.body }) });
    });
}

/** A request as a failure shows it: long values cut short. */
function shown(r: Request): string {
  const cut = (v: string) => (v.length > 120 ? `${v.slice(0, 120)}... (${v.length} chars)` : v);
  const headers = Object.entries(r.headers).map(([k, v]) => `${k}: ${[v].flat().map(cut).join(" | ")}`);
  const body = r.body === undefined ? "no body" : `${r.body.length} bytes: ${JSON.stringify(cut(r.body.toString("latin1")))}`;
  return `${r.method} ${cut(r.path)} [${headers.join("; ")}] ${body}`;
}

const baseOf = (gateway: Gateway) => ({ coordinator: t.node.coordinatorUrl, inference: t.node.inferenceUrl, controlPlane: t.node.controlPlaneUrl, anchor: anchorUrl })[gateway];
const broadcasts = () => bitcoind.requests.filter((r) => r.method === "sendrawtransaction").length;
const seedOf = (name: string) => createHash("sha256").update(name).digest().readInt32BE(0);

describe("every route of every gateway, fuzzed: never a 5xx, and a refused request changes nothing", () => {
  it("the routes were read from the apps, and every case names a route they serve", () => {
    expect(served.length).toBeGreaterThan(20);
    const names = new Set(served.map((r) => `${r.gateway} ${r.method === "HEAD" ? "GET" : r.method} ${r.url}`));
    expect(Object.keys(cases()).filter((name) => !names.has(name))).toEqual([]);
  });

  for (const { gateway, method, url } of served) {
    const name = `${gateway} ${method} ${url}`;
    it(name, async () => {
      const c = cases()[`${gateway} ${method === "HEAD" ? "GET" : method} ${url}`];
      if (!c) throw new Error(`no fuzz case for ${name}: add one to cases() in this file`);
      await fc.assert(
        fc.asyncProperty(requests(gateway, method, url, c), async (r) => {
          const before = await events.mark();
          const asked = t.model.requests.length;
          const sent = broadcasts();
          const reply = await send(baseOf(gateway), r);
          const appended = await events.since(before);
          const what = { status: reply.status, reply: reply.body.slice(0, 300) };
          expect(what.status, JSON.stringify(what)).toBeLessThan(500);
          if (reply.status >= 400) {
            expect({ ...what, appended }).toEqual({ ...what, appended: [] });
            expect({ ...what, modelAsked: t.model.requests.length - asked }).toEqual({ ...what, modelAsked: 0 });
            expect({ ...what, broadcast: broadcasts() - sent }).toEqual({ ...what, broadcast: 0 });
          } else if (appended.length > 0) {
            // What an accepted request set off (a plan, the ledger's records) ends before the next request.
            await events.settle(300);
          }
        }),
        { seed: seedOf(name), numRuns: RUNS[method] ?? 80, endOnFailure: true },
      );
    }, 240_000);
  }
});
