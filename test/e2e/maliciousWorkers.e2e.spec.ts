import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { idlePower, pythonCapabilities } from "../support/agents.js";
import { newSigner } from "../support/events.js";
import { eventually, startTestNode, type TestNode } from "../support/node.js";
import { controlPlane, signedPost } from "../support/signedAgent.js";

type Signer = ReturnType<typeof newSigner>;
interface Assigned {
  subtaskId: string;
  leaseId: string;
  taskId: string;
}

/**
 * Workers that lie, beside an honest one, against a whole node (no worker of its own: every agent
 * here is a signed client of the test). The node checks every result of an agent without an
 * established record; `draw` decides the sampling for agents that have one (0.999: only the 5%
 * floor would check, and 0.999 is above it; a test sets it to 0 to force a check).
 */
describe("malicious workers", () => {
  let t: TestNode;
  let draw = 0.999;
  const post = (signer: Signer, path: string, body: unknown) => signedPost(t.node.coordinatorUrl, signer, path, body);
  const admin = (method: string, path: string, body?: unknown) => controlPlane(t.node.controlPlaneUrl, t.node.adminToken, method, path, body);

  beforeAll(async () => {
    t = await startTestNode({ worker: false, registerPerAddress: 1_000, ownerMaxLeases: 2 }, { draw: () => draw });
    // One subtask per task, whose input is the prompt.
    t.model.answer = (prompt) => JSON.stringify([{ input: /write: (.*)$/m.exec(prompt)?.[1] ?? "print 42", language: "python" }]);
  }, 120_000);
  afterAll(async () => t?.close());

  // Each test's agents and tasks name a model of their own, so no test takes another's leftovers.
  let model = "m-0";
  beforeEach((ctx) => {
    model = `m-${ctx.task.name.length}-${Math.random().toString(36).slice(2, 8)}`;
  });

  async function register(maxConcurrent = 1, owner?: string): Promise<Signer> {
    const agent = newSigner();
    const r = await post(agent, "/register", { mode: "worker", capabilities: { ...pythonCapabilities, models: [model], maxConcurrent }, deviceType: "server", ...(owner ? { owner } : {}) });
    expect(r).toMatchObject({ status: 200, body: { status: "approved" } });
    await eventually("the agent in the projection", async () => ((await t.db.pool.query("SELECT 1 FROM agents WHERE agent_id = $1", [agent.publicKey])).rowCount ? true : undefined));
    return agent;
  }

  async function submit(what: string): Promise<string> {
    const r = await t.admin("POST", "/submit", { prompt: `write: ${what}`, language: "python", requestedModel: model });
    expect(r.status).toBe(202);
    const taskId = r.body.taskId as string;
    await eventually("its subtask queued", async () => ((await t.db.pool.query("SELECT 1 FROM subtasks WHERE task_id = $1 AND status = 'queued'", [taskId])).rowCount ? true : undefined));
    return taskId;
  }

  async function pull(agent: Signer): Promise<Assigned | { reason: string }> {
    const r = await post(agent, "/pull", { power: idlePower });
    expect(r.status).toBe(200);
    return r.body.assigned ? (r.body.subtask as Assigned) : { reason: r.body.reason as string };
  }

  async function pullFor(agent: Signer, taskId: string): Promise<Assigned> {
    return eventually(`a subtask of ${taskId}`, async () => {
      const got = await pull(agent);
      if ("subtaskId" in got && got.taskId !== taskId) throw new Error(`got a subtask of another task: ${got.taskId}`);
      return "subtaskId" in got ? got : undefined;
    });
  }

  const report = (agent: Signer, s: Assigned, r: { ok?: boolean; code: string; output: string; stderr?: string }) =>
    post(agent, "/result", { subtaskId: s.subtaskId, leaseId: s.leaseId, ok: r.ok ?? true, code: r.code, output: r.output, stderr: r.stderr ?? "", durationMs: 50 });

  const subtaskState = async (subtaskId: string) => (await t.db.pool.query("SELECT state FROM subtasks WHERE subtask_id = $1", [subtaskId])).rows[0]?.state;
  /** Until the subtask is back in the queue after the agent's try. */
  const untilRequeued = (subtaskId: string, after: Signer) =>
    eventually(`${subtaskId} queued again after a try of ${after.publicKey}`, async () => {
      const state = await subtaskState(subtaskId);
      return state?.status === "queued" && (state.triedBy ?? []).includes(after.publicKey) ? state : undefined;
    }, 30_000);
  const result = (taskId: string) =>
    eventually(`task ${taskId} done`, async () => {
      const r = await t.admin("GET", `/tasks/${taskId}/result`);
      return r.status === 200 && r.body.done ? r.body : undefined;
    }, 30_000);
  const recordOf = async (agent: Signer) => (await t.db.pool.query("SELECT state FROM agents WHERE agent_id = $1", [agent.publicKey])).rows[0]?.state.record;

  it("a forged output is refused and counted against its agent; an honest worker's result then counts, checked", async () => {
    const [mallory, honest] = [await register(), await register()];
    const taskId = await submit("print the answer");
    const taken = await pullFor(mallory, taskId);
    const forged = await report(mallory, taken, { code: "print(6 * 7)", output: "43\n" });
    expect(forged).toMatchObject({ status: 200, body: { accepted: true, events: ["subtask.reported"], checking: true } });
    await untilRequeued(taken.subtaskId, mallory);
    expect(await eventually("mallory's failed check", async () => ((await recordOf(mallory))?.failed === 1 ? recordOf(mallory) : undefined))).toMatchObject({ checked: 1, failed: 1, streak: 0 });

    // The subtask is the honest agent's now (mallory's own try left it: others first).
    expect(await pull(mallory)).toEqual({ reason: "no_work" });
    const again = await pullFor(honest, taskId);
    expect(again.subtaskId).toBe(taken.subtaskId);
    await report(honest, again, { code: "print(6 * 7)", output: "42\n" });
    const done = await result(taskId);
    expect(done).toMatchObject({ status: "completed", checked: true, output: expect.stringContaining("42\n") });
    expect(await recordOf(honest)).toMatchObject({ checked: 1, failed: 0, streak: 1 });
  }, 90_000);

  it("code that does not run, or a false claim that it is outside the subset, is refused the same way", async () => {
    const mallory = await register();
    for (const lie of [
      { code: "raise SystemExit(3)", output: "42\n" },
      { code: "print(1)", output: "", ok: false, stderr: "outside_subset: outside the Python subset: import" },
    ]) {
      const taskId = await submit(`print one (${lie.code})`);
      const taken = await pullFor(mallory, taskId);
      expect((await report(mallory, taken, lie)).body).toMatchObject({ events: ["subtask.reported"] });
      expect((await untilRequeued(taken.subtaskId, mallory)).triedBy).toEqual([mallory.publicKey]);
    }
    // The agent's record is its own aggregate, written after the subtask's requeue: wait for its projection.
    expect(await eventually("mallory's second failed check", async () => ((await recordOf(mallory))?.failed === 2 ? recordOf(mallory) : undefined))).toMatchObject({ checked: 2, failed: 2 });
  }, 90_000);

  it("an agent holds no more leases than it declared it runs at once; the work it cannot take goes to others", async () => {
    const [hoarder, other] = [await register(1), await register(2)];
    const [a, b] = [await submit("print a"), await submit("print b")];
    const any = (agent: Signer) =>
      eventually("a subtask", async () => {
        const got = await pull(agent);
        return "subtaskId" in got ? got : undefined;
      });
    const first = await any(hoarder);
    expect(await pull(hoarder)).toEqual({ reason: "at_capacity" });
    const second = await any(other);
    expect(new Set([first.taskId, second.taskId])).toEqual(new Set([a, b]));
  }, 90_000);

  it("one owner's many keys hold no more leases together than one owner may; another owner's agent is served", async () => {
    const keys = [await register(5, "owner-x"), await register(5, "owner-x"), await register(5, "owner-x")];
    const outsider = await register(1, "owner-y");
    for (let i = 0; i < 4; i++) await submit(`print four ${i}`);
    const got = [];
    for (const key of keys) got.push(await pull(key));
    expect(got.filter((g) => "subtaskId" in g)).toHaveLength(2);
    expect(got.at(-1)).toEqual({ reason: "at_capacity" });
    expect("subtaskId" in (await pull(outsider))).toBe(true);
  }, 60_000);

  it("a worker that starts again (registers) gives back what its last process held, and can take work at once", async () => {
    const restarted = await register(1);
    const taskId = await submit("print three");
    const held = await pullFor(restarted, taskId);
    expect(await pull(restarted)).toEqual({ reason: "at_capacity" });
    expect(await post(restarted, "/register", { mode: "worker", capabilities: { ...pythonCapabilities, models: [model], maxConcurrent: 1 }, deviceType: "server" })).toMatchObject({ status: 200 });
    const again = await pullFor(restarted, taskId);
    expect(again.subtaskId).toBe(held.subtaskId);
    expect(again.leaseId).not.toBe(held.leaseId);
    // The old process's late report finds no lease.
    expect(await report(restarted, held, { code: "print(3)", output: "3\n" })).toMatchObject({ status: 409 });
  }, 60_000);

  it("a blacklisted agent's lease is taken back at once and its late report refused", async () => {
    const mallory = await register();
    const taskId = await submit("print two");
    const taken = await pullFor(mallory, taskId);
    const blacklisted = await admin("POST", `/agents/${mallory.publicKey}/blacklist`, { reason: "forged results" });
    expect(blacklisted).toMatchObject({ status: 200, body: { revokedLeases: 1 } });
    expect(await report(mallory, taken, { code: "print(2)", output: "2\n" })).toMatchObject({ status: 403, body: { error: "blacklisted" } });
    expect(await post(mallory, "/pull", { power: idlePower })).toMatchObject({ status: 403 });
  }, 60_000);

  it("an established agent's unchecked forgery is refuted when a later check catches it, and its task is done again", async () => {
    const [mallory, honest] = [await register(), await register()];
    // Eleven honest results, each checked: mallory's record is established (past 10 in a row, a share below 1 is checked).
    for (let i = 0; i < 11; i++) {
      const taskId = await submit(`print ${i}`);
      const taken = await pullFor(mallory, taskId);
      await report(mallory, taken, { code: `print(${i})`, output: `${i}\n` });
      await result(taskId);
    }
    expect(await eventually("an established record", async () => ((await recordOf(mallory))?.streak === 11 ? recordOf(mallory) : undefined))).toMatchObject({ checked: 11, failed: 0 });

    // Now it forges, and the sampling takes it on trust: the task completes, unchecked.
    const fooled = await submit("print seven");
    const taken = await pullFor(mallory, fooled);
    expect((await report(mallory, taken, { code: "print(7)", output: "8\n" })).body).toMatchObject({ events: ["subtask.completed"] });
    expect(await result(fooled)).toMatchObject({ status: "completed", checked: false, subtasks: [{ checked: false }] });

    // Its next forgery is checked and caught: its recent unchecked results are checked again.
    draw = 0;
    const caught = await submit("print nine");
    const next = await pullFor(mallory, caught);
    await report(mallory, next, { code: "print(9)", output: "10\n" });
    await untilRequeued(taken.subtaskId, mallory);
    const reopened = await t.admin("GET", `/tasks/${fooled}/result`);
    expect(reopened.body).toMatchObject({ status: "running", done: false });
    expect(await recordOf(mallory)).toMatchObject({ failed: 2, streak: 0 });

    // The honest agent does it again, and this time it is checked.
    const redo = await pullFor(honest, fooled);
    await report(honest, redo, { code: "print(7)", output: "7\n" });
    expect(await result(fooled)).toMatchObject({ status: "completed", checked: true, output: expect.stringContaining("7\n") });
    draw = 0.999;
  }, 180_000);
});
