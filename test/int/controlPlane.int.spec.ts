import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandHandler } from "../../src/adapters/events/commandHandler.js";
import type { EventStore } from "../../src/adapters/nats/eventStore.js";
import { creditAccountDecider } from "../../src/domain/credits/commands.js";
import { creditEvents } from "../../src/domain/credits/events.js";
import { buildControlPlane } from "../../src/gateways/controlPlane/app.js";
import { balancesProjector } from "../../src/projections/credits/balancesProjector.js";
import type { LiveProjection } from "../../src/projections/live.js";
import { newSigner } from "../support/events.js";
import { startProjectionHarness, type ProjectionHarness } from "../support/projectionHarness.js";
import type { TestDatabase } from "../support/postgres.js";

const token = "test-admin-token-0123456789";
const auth = { authorization: `Bearer ${token}` };
let db: TestDatabase;
let store: EventStore;
let live: LiveProjection;
let app: FastifyInstance;
let harness: ProjectionHarness;

beforeAll(async () => {
  ({ db, store, live } = harness = await startProjectionHarness(balancesProjector));
  const handleCredit = commandHandler({ store, decider: creditAccountDecider, registry: creditEvents, sealer: inlineSealer(newSigner()) });
  app = await buildControlPlane({ pool: db.pool, handleCredit, adminToken: token });
});
afterAll(async () => {
  await app?.close();
  await harness?.close();
});

const post = (url: string, payload: unknown, headers: Record<string, string> = auth) =>
  app.inject({ method: "POST", url, headers: { "content-type": "application/json", ...headers }, payload: typeof payload === "string" ? payload : JSON.stringify(payload) });

describe("control plane credit routes", () => {
  it("faucet then balance: the reply's version is the projection's once it catches up", async () => {
    const r = await post("/credits/dave/faucet", { amount: 2_500 });
    expect(r.statusCode).toBe(201);
    const { version } = r.json() as { version: number };
    await live.waitFor("EC_CREDITS", version);
    const b = await app.inject({ url: "/credits/dave/balance", headers: auth });
    expect(b.json()).toMatchObject({ accountId: "dave", available: 2_500, held: 0, version, unit: "millicredits" });
    const h = await app.inject({ url: "/credits/dave/history?limit=5", headers: auth });
    expect((h.json() as { transactions: { type: string }[] }).transactions.map((t) => t.type)).toEqual(["credits.earned"]);
  });

  it("an Idempotency-Key makes a repeated command a duplicate, applied once", async () => {
    const key = randomUUID();
    const first = await post("/credits/erin/commands", { kind: "earn", amount: 100, reason: "x" }, { ...auth, "idempotency-key": key });
    const again = await post("/credits/erin/commands", { kind: "earn", amount: 100, reason: "x" }, { ...auth, "idempotency-key": key });
    expect(first.statusCode).toBe(201);
    expect(again.json()).toMatchObject({ duplicate: true, eventIds: (first.json() as { eventIds: string[] }).eventIds });
  });

  it("refuses bad input with a 4xx and a reason, and appends nothing", async () => {
    const before = await store.lastSeq("EC_CREDITS");
    const cases: [string, Awaited<ReturnType<typeof post>>, number, RegExp][] = [
      ["no token", await post("/credits/x/faucet", { amount: 1 }, {}), 401, /bearer token/],
      ["wrong token", await post("/credits/x/faucet", { amount: 1 }, { authorization: "Bearer nope" }), 401, /bearer token/],
      ["malformed JSON", await post("/credits/x/commands", "{kind:", auth), 400, /JSON/],
      ["wrong type", await post("/credits/x/commands", { kind: "earn", amount: "5", reason: "r" }), 400, /amount/],
      ["unknown command", await post("/credits/x/commands", { kind: "mint", amount: 5 }), 400, /kind/],
      ["zero amount", await post("/credits/x/faucet", { amount: 0 }), 400, /amount/],
      ["fractional amount", await post("/credits/x/faucet", { amount: 1.5 }), 400, /amount/],
      ["bad account id", await post("/credits/a.b/faucet", { amount: 1 }), 400, /accountId/],
      ["bad idempotency key", await post("/credits/x/faucet", { amount: 1 }, { ...auth, "idempotency-key": "k" }), 400, /idempotency-key/],
      ["oversized body", await post("/credits/x/commands", { kind: "earn", amount: 1, reason: "r".repeat(70_000) }), 413, /./],
      ["overdraft", await post("/credits/x/commands", { kind: "spend", amount: 1, reason: "r" }), 409, /needs 1 millicredits, 0 available/],
      ["unknown hold", await post("/credits/x/commands", { kind: "release", holdId: "h" }), 409, /no open hold/],
    ];
    for (const [name, res, status, reason] of cases) {
      expect({ name, status: res.statusCode }).toEqual({ name, status });
      expect({ name, message: (res.json() as { message: string }).message }).toEqual({ name, message: expect.stringMatching(reason) });
    }
    expect(await store.lastSeq("EC_CREDITS")).toBe(before);
  });

  it("answers 404 with a reason for an account with no events and for unknown routes", async () => {
    const r = await app.inject({ url: "/credits/nobody/balance", headers: auth });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toMatchObject({ error: "unknown_account" });
    expect((await app.inject({ url: "/nope", headers: auth })).statusCode).toBe(404);
  });

  it("on a production node, the faucet and a bare earn are refused (403) and append nothing; an adjustment still corrects a balance", async () => {
    const handleCredit = commandHandler({ store, decider: creditAccountDecider, registry: creditEvents, sealer: inlineSealer(newSigner()) });
    const production = await buildControlPlane({ pool: db.pool, handleCredit, adminToken: token, environment: "production" });
    try {
      const before = await store.lastSeq("EC_CREDITS");
      const send = (url: string, payload: unknown) => production.inject({ method: "POST", url, headers: { "content-type": "application/json", ...auth }, payload: JSON.stringify(payload) });
      for (const r of [await send("/credits/frank/faucet", { amount: 5 }), await send("/credits/frank/commands", { kind: "earn", amount: 5, reason: "r" })]) {
        expect(r.statusCode).toBe(403);
        expect(r.json()).toMatchObject({ error: "development_only", message: expect.stringMatching(/EC_ENV=production/) });
      }
      expect(await store.lastSeq("EC_CREDITS")).toBe(before);
      expect((await send("/credits/frank/commands", { kind: "adjust", delta: 5, reason: "correction of ticket 12" })).statusCode).toBe(201);
    } finally {
      await production.close();
    }
  });
});
