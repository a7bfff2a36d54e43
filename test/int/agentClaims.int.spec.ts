import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kvHeartbeatStore } from "../../src/adapters/agents/heartbeats.js";
import { inlineSealer } from "../../src/adapters/crypto/signingPool.js";
import { commandHandler } from "../../src/adapters/events/commandHandler.js";
import { createEventStore } from "../../src/adapters/nats/eventStore.js";
import { agentDecider, agentSubject } from "../../src/domain/agents/agent.js";
import { agentEvents as agentEventRegistry } from "../../src/domain/agents/agentEvents.js";
import { appendedEvents, type AppendedEvents } from "../support/appendedEvents.js";
import { idlePower, pythonCapabilities } from "../support/agents.js";
import { newSigner } from "../support/events.js";
import { eventually, startTestNode, type TestNode } from "../support/node.js";
import { controlPlane, signedPost } from "../support/signedAgent.js";

/**
 * What an agent says about itself, on a node where no one is approved without an operator
 * (EC_AUTO_APPROVE_AGENTS=none): a claim beyond the approved profile needs approval again, the
 * device type is the registered one, a heartbeat cannot claim a model, and the agent's record
 * of checked results is shown to operators and to the agent.
 */
let t: TestNode;
let events: AppendedEvents;
type Signer = ReturnType<typeof newSigner>;
const post = (signer: Signer, path: string, body: unknown) => signedPost(t.node.coordinatorUrl, signer, path, body);
const admin = (method: string, path: string, body?: unknown) => controlPlane(t.node.controlPlaneUrl, t.node.adminToken, method, path, body);
const agentTypes = async (mark: Awaited<ReturnType<AppendedEvents["mark"]>>) =>
  (await events.since(mark)).filter((e) => e.startsWith("EC_AGENTS ")).map((e) => e.split(" ")[2]);
const projected = (agentId: string, status: string) =>
  eventually(`${agentId} ${status} in the projection`, async () =>
    (await t.db.pool.query("SELECT 1 FROM agents WHERE agent_id = $1 AND status = $2", [agentId, status])).rowCount === 1 ? true : undefined,
  );

async function approvedByOperator(signer: Signer, body: Record<string, unknown>) {
  expect(await post(signer, "/register", body)).toMatchObject({ status: 200, body: { status: "pending" } });
  await projected(signer.publicKey, "pending");
  expect(await admin("POST", `/agents/${signer.publicKey}/approve`)).toMatchObject({ status: 200, body: { events: ["agent.approved"] } });
  await projected(signer.publicKey, "approved");
}

beforeAll(async () => {
  t = await startTestNode({ worker: false, autoApprove: "none", registerPerAddress: 1_000 });
  events = await appendedEvents(await t.nats.connect("claims-reader"));
}, 120_000);
afterAll(async () => t?.close());

describe("registering again", () => {
  it("an operator-approved agent that claims a GPU or a model goes back to pending, and takes no work until approved again", async () => {
    for (const claim of [{ resourceClass: "gpu" }, { models: [...pythonCapabilities.models, "llama3:70b"] }]) {
      const agent = newSigner();
      await approvedByOperator(agent, { capabilities: pythonCapabilities });
      const mark = await events.mark();
      expect(await post(agent, "/register", { capabilities: { ...pythonCapabilities, ...claim } })).toMatchObject({ status: 200, body: { status: "pending" } });
      await events.settle();
      expect(await agentTypes(mark)).toEqual(["agent.profileChanged", "agent.approvalWithdrawn"]);
      await projected(agent.publicKey, "pending");
      expect(await post(agent, "/pull", { power: idlePower })).toMatchObject({ status: 200, body: { assigned: false, reason: "not_approved" } });
      const listed = await admin("GET", "/agents?status=pending");
      expect((listed.body.agents as { agentId: string }[]).map((a) => a.agentId)).toContain(agent.publicKey);
    }
  });

  it("the same profile appends nothing and keeps the approval; claiming less keeps it too", async () => {
    const agent = newSigner();
    await approvedByOperator(agent, { name: "w1", capabilities: pythonCapabilities });
    let mark = await events.mark();
    expect(await post(agent, "/register", { name: " w1 ", capabilities: { ...pythonCapabilities, resourceClass: "cpu" } })).toMatchObject({ body: { status: "approved" } });
    await events.settle();
    expect(await agentTypes(mark)).toEqual([]);
    mark = await events.mark();
    expect(await post(agent, "/register", { name: "w1", capabilities: { ...pythonCapabilities, models: [] } })).toMatchObject({ body: { status: "approved" } });
    await events.settle();
    expect(await agentTypes(mark)).toEqual(["agent.profileChanged"]);
  });
});

describe("the device type", () => {
  it("is fixed at registration: a heartbeat or pull reporting another is refused with a 400 naming the registered one", async () => {
    const laptop = { ...idlePower, deviceType: "laptop", batteryPct: 90 } as const;
    const agent = newSigner();
    await approvedByOperator(agent, { capabilities: pythonCapabilities, deviceType: "laptop" });
    expect(await post(agent, "/heartbeat", { power: laptop })).toMatchObject({ status: 200 });
    const mark = await events.mark();
    for (const [path, deviceType] of [["/heartbeat", "server"], ["/pull", "desktop"], ["/pull", "ios"]] as const) {
      const refused = await post(agent, path, { power: { ...laptop, deviceType } });
      expect({ path, ...refused }).toMatchObject({
        path,
        status: 400,
        body: { error: "device_type_changed", message: expect.stringMatching(new RegExp(`registered as a laptop and reports a ${deviceType}`)) },
      });
    }
    // Telling the coordinator of another device is registering anew: approval again.
    expect(await post(agent, "/register", { capabilities: pythonCapabilities, deviceType: "server" })).toMatchObject({ status: 200, body: { status: "pending" } });
    await events.settle();
    expect(await agentTypes(mark)).toEqual(["agent.profileChanged", "agent.approvalWithdrawn"]);
    await projected(agent.publicKey, "pending");
    expect(await post(agent, "/heartbeat", { power: idlePower })).toMatchObject({ status: 200 });
  });
});

describe("what a heartbeat says", () => {
  it("cannot claim a model the agent did not register with", async () => {
    const agent = newSigner();
    await approvedByOperator(agent, { capabilities: pythonCapabilities });
    expect(await post(agent, "/heartbeat", { power: idlePower, models: [...pythonCapabilities.models, "gpt-9"] })).toMatchObject({ status: 200 });
    const beats = await kvHeartbeatStore(await t.nats.connect("beat-reader"));
    expect((await beats.last(agent.publicKey))?.models).toEqual([...pythonCapabilities.models]);
  });
});

describe("the record of checked results", () => {
  it("is shown in GET /agents and in the heartbeat and registration replies", async () => {
    const agent = newSigner();
    await approvedByOperator(agent, { capabilities: pythonCapabilities });
    const zeros = { checked: 0, failed: 0, streak: 0 };
    expect(await post(agent, "/heartbeat", { power: idlePower })).toMatchObject({ body: { record: zeros } });

    // As the coordinator's result checker records them.
    const store = await createEventStore(await t.nats.connect("checker"));
    const agents = commandHandler({ store, decider: agentDecider, registry: agentEventRegistry, sealer: inlineSealer(newSigner()) });
    const now = new Date();
    for (const [subtaskId, ok] of [["t-0", true], ["t-1", false], ["t-2", true], ["t-2", true]] as const) {
      await agents(agentSubject(agent.publicKey), { kind: "recordCheck", subtaskId, leaseId: "L1", ok, ...(ok ? {} : { reason: "the output differs" }), now }, { now });
    }
    const record = { checked: 3, failed: 1, streak: 1, lastFailedAt: now.toISOString() };
    const listed = await eventually("the record in GET /agents", async () => {
      const r = await admin("GET", "/agents?status=approved&limit=500");
      const row = (r.body.agents as { agentId: string; record: { checked: number } }[]).find((a) => a.agentId === agent.publicKey);
      return row?.record.checked === 3 ? row : undefined;
    });
    expect(listed).toMatchObject({ status: "approved", approvedBy: "operator", record });
    await new Promise((r) => setTimeout(r, 1_100)); // the coordinator's copy of the agent expires
    expect(await post(agent, "/heartbeat", { power: idlePower })).toMatchObject({ body: { record } });
    expect(await post(agent, "/register", { capabilities: pythonCapabilities })).toMatchObject({ body: { status: "approved", record } });
  });
});

describe("GET /agents pages", () => {
  it("walks every agent exactly once while agents register meanwhile", async () => {
    const before = new Set(((await admin("GET", "/agents?limit=500")).body.agents as { agentId: string }[]).map((a) => a.agentId));
    for (let i = 0; i < 7; i++) expect((await post(newSigner(), "/register", { capabilities: pythonCapabilities })).status).toBe(200);
    const existing = await eventually("the new agents projected", async () => {
      const r = (await admin("GET", "/agents?limit=500")).body.agents as { agentId: string }[];
      return r.length >= before.size + 7 ? r.map((a) => a.agentId) : undefined;
    });
    const seen: string[] = [];
    const added: string[] = [];
    let next: string | null | undefined;
    do {
      const page = await admin("GET", `/agents?limit=3${next ? `&after=${encodeURIComponent(next)}` : ""}`);
      expect(page.status).toBe(200);
      const rows = page.body.agents as { agentId: string }[];
      expect(rows.length).toBeLessThanOrEqual(3);
      seen.push(...rows.map((r) => r.agentId));
      next = page.body.next as string | null;
      // Someone registers between two pages.
      const newcomer = newSigner();
      if (added.length < 4 && (await post(newcomer, "/register", { capabilities: pythonCapabilities })).status === 200) added.push(newcomer.publicKey);
    } while (next);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of existing) expect(seen).toContain(id);
    expect(await admin("GET", "/agents?after=bm90LWEtY3Vyc29y")).toMatchObject({ status: 400, body: { message: expect.stringMatching(/after/) } });
  });
});
