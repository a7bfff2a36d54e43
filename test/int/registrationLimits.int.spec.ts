import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendedEvents, type AppendedEvents } from "../support/appendedEvents.js";
import { pythonCapabilities } from "../support/agents.js";
import { newSigner } from "../support/events.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { signedPost } from "../support/signedAgent.js";

/**
 * Registration is limited per source address and per key (the defaults: 30 and 6 a minute), and
 * registering again with an unchanged profile appends nothing. Each test speaks from its own
 * address in 127.0.0.0/8, so their counts do not mix; only 127.0.0.1 is the policy's loopback.
 */
let t: TestNode;
let events: AppendedEvents;
const register = (signer: ReturnType<typeof newSigner>, body: unknown, from: string) => signedPost(t.node.coordinatorUrl, signer, "/register", body, { from });
const agentEvents = async (mark: Awaited<ReturnType<AppendedEvents["mark"]>>) => (await events.since(mark)).filter((e) => e.startsWith("EC_AGENTS "));

beforeAll(async () => {
  t = await startTestNode({ worker: false });
  events = await appendedEvents(await t.nats.connect("limits-reader"));
}, 120_000);
afterAll(async () => t?.close());

describe("registration limits", () => {
  it("a flood of 200 new keys from one address is cut off at the limit; nothing is appended past it", async () => {
    const mark = await events.mark();
    const keys = Array.from({ length: 200 }, () => newSigner());
    const replies = await Promise.all(keys.map((k) => register(k, { capabilities: pythonCapabilities }, "127.0.0.5")));
    const accepted = replies.filter((r) => r.status === 200);
    const refused = replies.filter((r) => r.status === 429);
    expect(accepted).toHaveLength(30);
    expect(refused).toHaveLength(170);
    expect(refused[0]).toMatchObject({ body: { error: "rate_limited", message: expect.stringMatching(/^at most 30 registrations per 60 s from one address; try again in \d+ s$/) } });
    expect(Number(refused[0]!.headers["retry-after"])).toBeGreaterThan(0);
    await events.settle();
    // Not loopback: each accepted key is registered, pending; a refused key appears nowhere.
    const appended = await agentEvents(mark);
    expect(appended).toHaveLength(30);
    expect(appended.every((e) => e.endsWith(" agent.registered"))).toBe(true);
    const refusedKeys = keys.filter((_, i) => replies[i]!.status === 429).map((k) => k.publicKey);
    expect(appended.filter((e) => refusedKeys.some((k) => e.includes(k)))).toEqual([]);
  }, 60_000);

  it("one key registering 100 times appends only its first registration's events", async () => {
    const key = newSigner();
    const mark = await events.mark();
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) statuses.push((await register(key, { name: "again", capabilities: pythonCapabilities }, "127.0.0.6")).status);
    // Six a minute for the key; past thirty the address's own limit answers first.
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect(statuses.slice(6).every((s) => s === 429)).toBe(true);
    const byKey = await register(key, { capabilities: pythonCapabilities }, "127.0.0.7");
    expect(byKey).toMatchObject({ status: 429, body: { message: expect.stringMatching(/^at most 6 registrations per 60 s of one key/) } });
    await events.settle();
    expect(await agentEvents(mark)).toEqual([`EC_AGENTS ec.agents.agent.${key.publicKey} agent.registered`]);
  }, 60_000);

  it("a profile the same but for the order or repeats of its models and languages is the same registration", async () => {
    const key = newSigner();
    const caps = { models: ["b-model", "a-model"], languages: ["python", "javascript"], sandbox: "bwrap" };
    const mark = await events.mark();
    expect((await register(key, { capabilities: caps }, "127.0.0.8")).status).toBe(200);
    for (const again of [
      { capabilities: { ...caps, models: ["a-model", "b-model"] } },
      { capabilities: { ...caps, models: ["a-model", "b-model", "a-model"], languages: ["javascript", "python"] } },
      // The defaults spelled out.
      { mode: "worker", deviceType: "server", capabilities: { ...caps, resourceClass: "cpu", maxConcurrent: 1 } },
    ]) {
      expect((await register(key, again, "127.0.0.8")).status).toBe(200);
    }
    await events.settle();
    expect(await agentEvents(mark)).toEqual([`EC_AGENTS ec.agents.agent.${key.publicKey} agent.registered`]);
  });
});

describe("an approval by the policy is decided again at each registration beyond it", () => {
  it("from this machine (loopback policy) a GPU claim is approved again; from elsewhere it waits for an operator", async () => {
    const local = newSigner();
    expect(await register(local, { capabilities: pythonCapabilities }, "127.0.0.1")).toMatchObject({ status: 200, body: { status: "approved" } });
    const gpu = { capabilities: { ...pythonCapabilities, resourceClass: "gpu" } };
    let mark = await events.mark();
    expect(await register(local, gpu, "127.0.0.1")).toMatchObject({ status: 200, body: { status: "approved" } });
    await events.settle();
    expect((await agentEvents(mark)).map((e) => e.split(" ")[2])).toEqual(["agent.profileChanged", "agent.approvalWithdrawn", "agent.approved"]);

    const more = { capabilities: { ...gpu.capabilities, models: [...pythonCapabilities.models, "llama3:70b"] } };
    mark = await events.mark();
    expect(await register(local, more, "127.0.0.9")).toMatchObject({ status: 200, body: { status: "pending" } });
    await events.settle();
    expect((await agentEvents(mark)).map((e) => e.split(" ")[2])).toEqual(["agent.profileChanged", "agent.approvalWithdrawn"]);
  });
});
