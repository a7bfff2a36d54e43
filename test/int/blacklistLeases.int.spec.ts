import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEventStore } from "../../src/adapters/nats/eventStore.js";
import { appendedEvents, type AppendedEvents } from "../support/appendedEvents.js";
import { idlePower, pythonCapabilities } from "../support/agents.js";
import { newSigner } from "../support/events.js";
import { eventually, startTestNode, type TestNode } from "../support/node.js";
import { controlPlane, signedPost } from "../support/signedAgent.js";

/**
 * Blacklisting ends the agent's open leases at once: its subtask goes back to the queue as it
 * was (the revoked try does not count) and the next agent gets it. The node runs no worker of its
 * own; this test acts as both agents.
 */
let t: TestNode;
let events: AppendedEvents;
const outcast = newSigner();
const honest = newSigner();
const post = (signer: typeof outcast, path: string, body: unknown) => signedPost(t.node.coordinatorUrl, signer, path, body);
const admin = (method: string, path: string, body?: unknown) => controlPlane(t.node.controlPlaneUrl, t.node.adminToken, method, path, body);
const subtask = async (subtaskId: string) =>
  (await t.db.pool.query<{ status: string; attempts: number; agent_id: string | null }>("SELECT status, attempts, agent_id FROM subtasks WHERE subtask_id = $1", [subtaskId])).rows[0];

beforeAll(async () => {
  t = await startTestNode({ worker: false, heartbeatMs: 10_000 });
  // One subtask per task: the plan is a single print.
  t.model.answer = (prompt) => (prompt.includes("JSON array") ? JSON.stringify([{ input: "print 1", language: "python" }]) : "```python\nprint(1)\n```");
  events = await appendedEvents(await t.nats.connect("blacklist-reader"));
  for (const signer of [outcast, honest]) {
    expect(await post(signer, "/register", { capabilities: pythonCapabilities })).toMatchObject({ status: 200, body: { status: "approved" } });
  }
  await eventually("both agents approved in the projection", async () => ((await t.db.pool.query("SELECT 1 FROM agents WHERE status = 'approved'")).rowCount === 2 ? true : undefined));
}, 120_000);
afterAll(async () => t?.close());

describe("blacklisting an agent that holds a lease", () => {
  it("revokes the lease at once; the subtask is queued with the same attempt count and another agent gets it", async () => {
    const submitted = await t.admin("POST", "/submit", { prompt: "print 1", language: "python" });
    const subtaskId = `${submitted.body.taskId as string}-0`;
    await eventually("the subtask queued", async () => ((await subtask(subtaskId))?.status === "queued" ? true : undefined));

    const pulled = await post(outcast, "/pull", { power: idlePower });
    expect(pulled).toMatchObject({ status: 200, body: { assigned: true, subtask: { subtaskId, attempt: 1 } } });
    const lease = (pulled.body.subtask as { leaseId: string }).leaseId;
    await eventually("the lease in the projection", async () => ((await subtask(subtaskId))?.status === "assigned" ? true : undefined));

    const mark = await events.mark();
    const evidence = JSON.stringify({ subtaskId, claimed: "1\n", rerun: "2\n" });
    const blacklisted = await admin("POST", `/agents/${outcast.publicKey}/blacklist`, { reason: "forged its outputs", by: "alice", evidence });
    const evidenceHash = createHash("sha256").update(evidence).digest("hex");
    expect(blacklisted).toEqual({ status: 200, body: { events: ["agent.blacklisted"], revokedLeases: 1, evidenceHash } });
    // Both are appended before the reply: the lease is gone the moment the operator is told.
    const appended = await events.since(mark);
    expect(appended).toContain(`EC_TASKS ec.tasks.subtask.${subtaskId} subtask.leaseRevoked`);
    expect(appended).toContain(`EC_AGENTS ec.agents.agent.${outcast.publicKey} agent.blacklisted`);
    // The event keeps the evidence's hash and who decided, not the document.
    const nc = await t.nats.connect("blacklist-evidence");
    try {
      const { commits } = await (await createEventStore(nc)).readAggregate(`ec.agents.agent.${outcast.publicKey}`);
      const last = JSON.parse(new TextDecoder().decode(commits.at(-1)!.data)) as { type: string; data: unknown }[];
      expect(last).toEqual([expect.objectContaining({ type: "agent.blacklisted", data: { by: "alice", reason: "forged its outputs", evidenceHash } })]);
    } finally {
      await nc.close();
    }

    await eventually("the subtask back in the queue", async () => ((await subtask(subtaskId))?.status === "queued" ? true : undefined));
    expect(await subtask(subtaskId)).toEqual({ status: "queued", attempts: 0, agent_id: null });

    // Its report for the lease it held finds no lease, and no result of it is taken.
    const late = await post(outcast, "/result", { subtaskId, leaseId: lease, ok: true, code: "print(1)", output: "1\n", stderr: "", durationMs: 5 });
    expect(late.status).toBeGreaterThanOrEqual(400);
    expect(late.status).toBeLessThan(500);
    expect(await post(outcast, "/pull", { power: idlePower })).toMatchObject({ status: 403, body: { error: "blacklisted" } });

    const taken = await eventually("the honest agent to get the subtask", async () => {
      const r = await post(honest, "/pull", { power: idlePower });
      return r.body.assigned === true ? r : undefined;
    });
    expect(taken.body.subtask).toMatchObject({ subtaskId, attempt: 1 });
    // An operator names the account the honest agent's work pays; its result then earns there.
    expect(await admin("POST", `/agents/${honest.publicKey}/owner`, { owner: "team-h" })).toEqual({ status: 200, body: { events: ["agent.ownerChanged"] } });
    await eventually("the owner in the projection", async () => ((await t.db.pool.query("SELECT owner FROM agents WHERE agent_id = $1", [honest.publicKey])).rows[0]?.owner === "team-h" ? true : undefined));
    const done = await post(honest, "/result", { subtaskId, leaseId: (taken.body.subtask as { leaseId: string }).leaseId, ok: true, code: "print(1)", output: "1\n", stderr: "", durationMs: 5 });
    expect(done.status).toBe(200);
    const earned = await eventually("the owner paid", async () => (await t.db.pool.query("SELECT amount, ref FROM credit_transactions WHERE account_id = 'team-h' AND type = 'credits.earned'")).rows[0]);
    expect(earned.ref).toBe(`lease:${(taken.body.subtask as { leaseId: string }).leaseId}`);
    // The blacklisted agent's account earned nothing for the lease it lost.
    expect((await t.db.pool.query("SELECT 1 FROM credit_transactions WHERE account_id = $1", [outcast.publicKey])).rowCount).toBe(0);
  }, 60_000);

  it("a lease handed out while the blacklisting spreads is taken back before the operator is answered", async () => {
    const late = newSigner();
    expect(await post(late, "/register", { capabilities: pythonCapabilities })).toMatchObject({ status: 200, body: { status: "approved" } });
    const submitted = await t.admin("POST", "/submit", { prompt: "print 1", language: "python" });
    const subtaskId = `${submitted.body.taskId as string}-0`;
    await eventually("the subtask queued", async () => ((await subtask(subtaskId))?.status === "queued" ? true : undefined));
    await eventually("the agent approved in the projection", async () =>
      (await t.db.pool.query("SELECT 1 FROM agents WHERE agent_id = $1 AND status = 'approved'", [late.publicKey])).rowCount === 1 ? true : undefined,
    );

    // The agent pulls as fast as it can while the operator blacklists it.
    let answered = false;
    const blacklisting = admin("POST", `/agents/${late.publicKey}/blacklist`, { reason: "took work it never did" }).finally(() => (answered = true));
    const taken: string[] = [];
    while (!answered) {
      const r = await post(late, "/pull", { power: idlePower });
      if (r.body.assigned === true) taken.push((r.body.subtask as { subtaskId: string }).subtaskId);
    }
    const reply = await blacklisting;
    expect(reply).toMatchObject({ status: 200, body: { events: ["agent.blacklisted"], revokedLeases: taken.length } });
    await events.settle();
    expect((await t.db.pool.query("SELECT subtask_id FROM subtasks WHERE status = 'assigned' AND agent_id = $1", [late.publicKey])).rows).toEqual([]);
  }, 60_000);

  it("blacklisting again is refused, and appends nothing", async () => {
    await events.settle();
    const mark = await events.mark();
    expect(await admin("POST", `/agents/${outcast.publicKey}/blacklist`, { reason: "again" })).toMatchObject({ status: 409, body: { error: "blacklisted" } });
    expect(await events.since(mark)).toEqual([]);
  });
});
