import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kvNonceStore, signRequest, verifySignedRequest, type NonceStore } from "../../src/adapters/security/signedRequests.js";
import { newSigner } from "../support/events.js";
import { startTestNats, type TestNats } from "../support/nats.js";

const worker = newSigner();
const body = JSON.stringify({ agentId: "a1", capabilities: { languages: ["python"] } });
let nats: TestNats;
let nonces: NonceStore;
let otherCoordinator: NonceStore;

beforeAll(async () => {
  nats = await startTestNats();
  nonces = await kvNonceStore(await nats.connect("coordinator-a"));
  otherCoordinator = await kvNonceStore(await nats.connect("coordinator-b"));
});
afterAll(() => nats?.close());

describe("signed worker requests, nonces in JetStream KV", () => {
  it("accepts a fresh signed request once, and refuses its replay on any coordinator", async () => {
    const headers = signRequest(worker, "POST", "/pull", body);
    expect(await verifySignedRequest(headers, "POST", "/pull", body, nonces)).toEqual({ ok: true, agent: worker.publicKey });
    expect(await verifySignedRequest(headers, "POST", "/pull", body, nonces)).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/replayed/) });
    expect(await verifySignedRequest(headers, "POST", "/pull", body, otherCoordinator)).toMatchObject({ ok: false, reason: expect.stringMatching(/replayed/) });
  });

  it("refuses a stale or future timestamp", async () => {
    const now = Date.now();
    const old = signRequest(worker, "POST", "/pull", body, now - 61_000);
    expect(await verifySignedRequest(old, "POST", "/pull", body, nonces, now)).toMatchObject({ ok: false, reason: expect.stringMatching(/^stale/) });
    const future = signRequest(worker, "POST", "/pull", body, now + 61_000);
    expect(await verifySignedRequest(future, "POST", "/pull", body, nonces, now)).toMatchObject({ ok: false, reason: expect.stringMatching(/^stale/) });
  });

  it("refuses a changed body, path or method, another key, and a request without signature headers", async () => {
    const headers = signRequest(worker, "POST", "/result", body);
    expect(await verifySignedRequest(headers, "POST", "/result", body + " ", nonces)).toMatchObject({ ok: false, reason: "bad request signature" });
    expect(await verifySignedRequest(headers, "POST", "/pull", body, nonces)).toMatchObject({ ok: false, reason: "bad request signature" });
    expect(await verifySignedRequest(headers, "PUT", "/result", body, nonces)).toMatchObject({ ok: false, reason: "bad request signature" });
    const impostor = { ...headers, "x-ec-agent": newSigner().publicKey };
    expect(await verifySignedRequest(impostor, "POST", "/result", body, nonces)).toMatchObject({ ok: false, reason: "bad request signature" });
    expect(await verifySignedRequest({}, "POST", "/result", body, nonces)).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/^unsigned or malformed/) });
    // A forged request does not burn the real worker's nonce: the genuine one still goes through.
    expect(await verifySignedRequest(headers, "POST", "/result", body, nonces)).toEqual({ ok: true, agent: worker.publicKey });
  });
});
