import { fork, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOrCreateIdentity } from "../../src/adapters/crypto/nodeIdentity.js";
import { createEventStore } from "../../src/adapters/nats/eventStore.js";
import { signRequest } from "../../src/adapters/security/signedRequests.js";
import { eventually, startTestNode, type TestNode } from "../support/node.js";

const workerEntry = new URL("../../src/worker/main.ts", import.meta.url).pathname;

/** A worker process of its own (not supervised: once killed it stays dead). */
function forkWorker(t: TestNode, dataDir: string, lines: string[]): ChildProcess {
  const child = fork(workerEntry, [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    env: { ...process.env, EC_COORDINATOR_URL: t.node.coordinatorUrl, OLLAMA_HOST: t.model.url, EC_WORKER_DATA_DIR: dataDir, EC_SANDBOX: "bwrap", EC_DEVICE_TYPE: "server" },
  });
  child.stdout!.on("data", (b: Buffer) => lines.push(b.toString()));
  child.stderr!.on("data", (b: Buffer) => lines.push(b.toString()));
  return child;
}

describe("a worker killed mid-subtask", () => {
  let t: TestNode;
  let dir: string;
  const workers: ChildProcess[] = [];
  beforeAll(async () => {
    // A long lease: only the lost heartbeat can end it in time.
    t = await startTestNode({ worker: false, leaseMs: 600_000, heartbeatMs: 400 });
    dir = await mkdtemp(join(tmpdir(), "ec-workers-"));
  }, 120_000);
  afterAll(async () => {
    for (const w of workers) w.kill("SIGKILL");
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("loses its lease when its heartbeats stop; another worker completes the subtask exactly once", async () => {
    // The model takes 3 s to write code, so the first worker is surely mid-subtask when it dies.
    t.model.answer = async (prompt) => {
      if (prompt.includes("JSON array")) return JSON.stringify([{ input: "print the number 7", language: "python" }]);
      await sleep(3_000);
      return "```python\nprint(7)\n```";
    };
    const lines: string[] = [];
    const victim = forkWorker(t, join(dir, "victim"), lines);
    workers.push(victim);
    const victimId = (await loadOrCreateIdentity(join(dir, "victim"))).publicKey;
    await eventually("the first worker to register", async () => {
      const r = await t.db.pool.query("SELECT 1 FROM agents WHERE agent_id = $1 AND status = 'approved'", [victimId]);
      return r.rowCount ? true : undefined;
    });

    const submitted = await t.admin("POST", "/submit", { prompt: "print 7", language: "python" });
    const taskId = submitted.body.taskId as string;
    const subtaskId = `${taskId}-0`;
    const lease = await eventually("the subtask to be assigned to the first worker", async () => {
      const r = await t.db.pool.query<{ agent_id: string; lease_id: string }>(
        "SELECT agent_id, state->'lease'->>'leaseId' AS lease_id FROM subtasks WHERE subtask_id = $1 AND status = 'assigned'",
        [subtaskId],
      );
      return r.rows[0];
    }).catch(async (err: unknown) => {
      const rows = await t.db.pool.query("SELECT subtask_id, status, agent_id, state FROM subtasks");
      throw new Error(`${String(err)}\n${JSON.stringify(rows.rows)}\n${lines.join("")}\n${t.logs.slice(-20).join("\n")}`);
    });
    expect(lease.agent_id).toBe(victimId);
    victim.kill("SIGKILL");

    const survivor = forkWorker(t, join(dir, "survivor"), lines);
    workers.push(survivor);
    const survivorId = (await loadOrCreateIdentity(join(dir, "survivor"))).publicKey;
    const result = await eventually(
      "the task to complete",
      async () => {
        const r = await t.admin("GET", `/tasks/${taskId}/result`);
        return r.body.done ? r.body : undefined;
      },
      60_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${lines.join("")}\n${t.logs.slice(-20).join("\n")}`);
    });
    expect(result.status).toBe("completed");
    expect(result.output).toContain("7\n");

    // The dead worker's late result is refused: its lease is gone.
    const identity = await loadOrCreateIdentity(join(dir, "victim"));
    const body = JSON.stringify({ subtaskId, leaseId: lease.lease_id, ok: true, code: "print(7)", output: "7\n", stderr: "", durationMs: 5 });
    const late = await fetch(new URL("/result", t.node.coordinatorUrl), {
      method: "POST",
      headers: { "content-type": "application/json", ...signRequest(identity, "POST", "/result", body) },
      body,
    });
    expect(late.status).toBe(409);
    expect(((await late.json()) as { error: string }).error).toBe("not_assigned");

    const nc = await t.nats.connect("killed-reader");
    const { commits } = await (await createEventStore(nc)).readAggregate(`ec.tasks.subtask.${subtaskId}`);
    const events = commits.flatMap((c) => JSON.parse(new TextDecoder().decode(c.data)) as { type: string; data: { agentId?: string } }[]);
    // The second worker is new to the node: its result is checked before it counts.
    expect(events.map((e) => e.type)).toEqual(["subtask.queued", "subtask.assigned", "subtask.leaseExpired", "subtask.assigned", "subtask.reported", "subtask.checkPassed"]);
    expect(events[1]!.data.agentId).toBe(victimId);
    expect(events[2]!.data.agentId).toBe(victimId);
    expect(events[3]!.data.agentId).toBe(survivorId);
    expect(events[4]!.data.agentId).toBe(survivorId);
  }, 120_000);
});
