import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { jetstreamManager } from "@nats-io/jetstream";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats } from "../../src/adapters/nats/connection.js";
import { createEventReader } from "../../src/adapters/nats/eventStore.js";
import { natsServerBinary } from "../../src/adapters/nats/natsServerProcess.js";
import { packageRoot } from "../../src/adapters/packageRoot.js";
import { isAlive } from "../../src/adapters/process/processInfo.js";
import { startFakeOllama, type FakeOllama } from "../support/fakeOllama.js";
import { eventually } from "../support/node.js";
import { callAdmin, CLI, gone, natsServerPid, nodeEnvironment, nodePid, postgresPid, startNodeProcess, type NodeProcess } from "../support/nodeProcess.js";

const run = promisify(execFile);

/** "print the number N" decomposes into one subtask whose program prints N. */
function answers(prompt: string): string {
  const n = /print the number (\d+)/.exec(prompt)?.[1] ?? "0";
  return prompt.includes("JSON array") ? JSON.stringify([{ input: `print the number ${n}`, language: "python" }]) : `\`\`\`python\nprint(${n})\n\`\`\``;
}

/**
 * The node as a real process tree (`edgecoder up`: its supervisor, the node, nats-server, the
 * embedded Postgres, the worker), each part SIGKILLed in turn while tasks run: the node comes
 * back on its own, on the same folder, and nothing is lost, doubled or wedged.
 */
describe("edgecoder up when its parts are killed", () => {
  let model: FakeOllama;
  let dataDir: string;
  let node: NodeProcess;
  const tasks: { id: string; n: number }[] = [];

  beforeAll(async () => {
    model = await startFakeOllama();
    model.answer = answers;
    dataDir = await mkdtemp(join(tmpdir(), "ec-crash-"));
    // The tasks projection is killed once, after writing a batch's rows, before its commit.
    const env = await nodeEnvironment(dataDir, model.url, { EC_CRASH_POINT: "projection:tasks", EC_CRASH_ONCE_FILE: join(dataDir, "crashed-once") });
    node = startNodeProcess(env);
    await node.waitFor(/worker: registered/);
  }, 120_000);

  afterAll(async () => {
    if (node?.proc.exitCode === null) node.proc.kill("SIGKILL");
    await model?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Submits "print the number N" and waits for its result, across whatever restarts happen meanwhile. */
  async function runTask(n: number, afterSubmit: () => Promise<void> = async () => undefined): Promise<void> {
    const submitted = await eventually("the submission to be taken", async () => {
      const r = await callAdmin(node, "POST", "/submit", { prompt: `print the number ${n}`, language: "python" }).catch(() => undefined);
      return r?.status === 202 ? r : undefined;
    }, 60_000);
    const id = submitted.body.taskId as string;
    tasks.push({ id, n });
    await afterSubmit();
    const result = await eventually(`task ${n} to finish`, async () => {
      const r = await callAdmin(node, "GET", `/tasks/${id}/result`).catch(() => undefined);
      return r?.status === 200 && r.body.done ? r.body : undefined;
    }, 120_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- node output ---\n${node.output().slice(-5000)}`);
    });
    expect(result.status).toBe("completed");
    expect(result.output).toContain(`${n}\n`);
  }

  it("keeps its embedded NATS and Postgres behind generated credentials, in files only it can read", async () => {
    const creds = JSON.parse(await readFile(join(dataDir, "embedded-credentials.json"), "utf8")) as { natsNode: string; postgres: string };
    for (const f of ["embedded-credentials.json", "nats.url", "postgres.url", "admin-token", "nats/nats-server.conf"]) {
      expect(((await stat(join(dataDir, f))).mode & 0o077).toString(8), f).toBe("0");
    }
    const natsAddress = `nats://127.0.0.1:${node.env.EC_EMBEDDED_NATS_PORT}`;
    await expect(connectNats(natsAddress, "anonymous")).rejects.toThrow(/Authorization Violation/i);
    const nc = await connectNats(natsAddress.replace("nats://", `nats://edgecoder:${creds.natsNode}@`), "crash-test");
    try {
      const jsm = await jetstreamManager(nc);
      await expect(jsm.streams.delete("EC_TASKS")).rejects.toThrow();
      await expect(jsm.streams.purge("EC_TASKS")).rejects.toThrow();
      expect((await jsm.streams.info("EC_TASKS")).config.name).toBe("EC_TASKS");
    } finally {
      await nc.close();
    }
    const url = new URL((await readFile(join(dataDir, "postgres.url"), "utf8")).trim());
    expect(url.password).toBe(creds.postgres);
    const withoutPassword = new URL(url);
    withoutPassword.password = "";
    const wrong = new URL(url);
    wrong.password = "guess";
    for (const u of [withoutPassword, wrong]) {
      const client = new pg.Client({ connectionString: u.toString() });
      client.on("error", () => undefined);
      await expect(client.connect()).rejects.toMatchObject({ code: "28P01" });
    }
  });

  it("refuses a second node on the same folder, naming the first", async () => {
    const second = startNodeProcess({ ...node.env, COORDINATOR_PORT: "0", INFERENCE_PORT: "0", CONTROL_PLANE_PORT: "0" }, ["--no-restart"]);
    expect(await second.exited).toBe(2);
    expect(second.output()).toContain(`another node (pid ${await nodePid(dataDir)}) runs on ${dataDir}`);
  });

  it("a projector killed between its rows and its checkpoint: the node comes back and the task ends once", async () => {
    const from = node.output().length;
    await runTask(1);
    expect(node.output().slice(from)).toMatch(/node stopped \(SIGKILL\); starting it again/);
  }, 180_000);

  it("its nats-server SIGKILLed: the node stops, comes back, and the task submitted just before ends once", async () => {
    const killed = await natsServerPid(dataDir);
    const from = node.output().length;
    await runTask(2, async () => {
      process.kill(killed, "SIGKILL");
      await node.waitFor(/the embedded nats-server is down/, from);
    });
    expect(await natsServerPid(dataDir)).not.toBe(killed);
    expect(node.output().slice(from)).toMatch(/node stopped \(code 3\); starting it again/);
  }, 180_000);

  it("its Postgres SIGKILLed: the node stops, comes back, and the task ends once", async () => {
    const killed = await postgresPid(dataDir);
    const from = node.output().length;
    await runTask(3, async () => {
      process.kill(killed, "SIGKILL");
      await node.waitFor(/the embedded Postgres is down/, from);
    });
    expect(await postgresPid(dataDir)).not.toBe(killed);
  }, 180_000);

  it("the node SIGKILLed: its nats-server, Postgres and worker die with it, and it comes back on the same folder", async () => {
    const [killed, nats, postgres] = [await nodePid(dataDir), await natsServerPid(dataDir), await postgresPid(dataDir)];
    const from = node.output().length;
    await runTask(4, async () => {
      process.kill(killed, "SIGKILL");
      await Promise.all([gone(nats, "its nats-server"), gone(postgres, "its Postgres")]);
    });
    expect(await nodePid(dataDir)).not.toBe(killed);
    expect(node.output().slice(from)).toMatch(/node stopped \(SIGKILL\); starting it again/);
  }, 180_000);

  it("its worker SIGKILLed mid-task: the node starts another, and the task ends once", async () => {
    const parent = await nodePid(dataDir);
    const worker = await eventually("the node's worker", async () => {
      const { stdout } = await run("ps", ["-eo", "pid=,ppid=,args="]);
      const line = stdout.split("\n").find((l) => l.trim().split(/\s+/)[1] === String(parent) && l.includes("worker/main.js"));
      return line ? Number(line.trim().split(/\s+/)[0]) : undefined;
    });
    const from = node.output().length;
    await runTask(5, async () => {
      process.kill(worker, "SIGKILL");
      await node.waitFor(/worker exited \(SIGKILL\); restarting/, from);
    });
  }, 180_000);

  it("after all that: every task ended exactly once, the audit is clean and a replay equals the live projections", async () => {
    const natsUrl = (await readFile(join(dataDir, "nats.url"), "utf8")).trim();
    const nc = await connectNats(natsUrl, "crash-check");
    try {
      const reader = await createEventReader(nc);
      const ends = new Map<string, string[]>();
      for await (const c of reader.read("EC_TASKS", { toSeq: await reader.lastSeq("EC_TASKS") })) {
        for (const e of JSON.parse(new TextDecoder().decode(c.data)) as { subject: string; type: string }[]) {
          // A subtask's result counts once: taken at once (completed) or after its check (checkPassed).
          if (["task.completed", "task.failed", "subtask.completed", "subtask.checkPassed", "subtask.checkFailed", "subtask.failed"].includes(e.type)) {
            ends.set(e.subject, [...(ends.get(e.subject) ?? []), e.type]);
          }
        }
      }
      for (const t of tasks) expect(ends.get(`ec.tasks.task.${t.id}`), `task ${t.n}`).toEqual(["task.completed"]);
      const subtaskEnds = [...ends.entries()].filter(([, types]) => types.some((x) => x.startsWith("subtask.")));
      expect(subtaskEnds).toHaveLength(tasks.length);
      for (const [subject, types] of subtaskEnds) expect(types.length === 1 && ["subtask.completed", "subtask.checkPassed"].includes(types[0]!), `${subject}: ${types.join(", ")}`).toBe(true);
    } finally {
      await nc.close();
    }

    const env = { ...node.env };
    const audit = await run(process.execPath, [CLI, "audit", "--no-progress", "--unchained-grace", "30"], { env }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect((audit as { code?: number }).code ?? 0, `${(audit as { stdout: string }).stdout}${(audit as { stderr: string }).stderr}`).toBe(0);

    const pool = new pg.Pool({ connectionString: (await readFile(join(dataDir, "postgres.url"), "utf8")).trim(), max: 1 });
    pool.on("error", () => undefined);
    try {
      const snapshot = async () => ({
        tasks: (await pool.query("SELECT task_id, status, output, state::text FROM tasks ORDER BY task_id")).rows,
        subtasks: (await pool.query("SELECT subtask_id, status, attempts, agent_id, state::text FROM subtasks ORDER BY subtask_id")).rows,
        quarantine: (await pool.query("SELECT projection, stream, seq, reason FROM projection_quarantine ORDER BY projection, stream, seq")).rows,
      });
      const live = await snapshot();
      expect(live.quarantine).toEqual([]);
      await run(process.execPath, [CLI, "replay", "--no-progress"], { env });
      expect(await snapshot()).toEqual(live);
    } finally {
      await pool.end();
    }

    // Ctrl-C: everything stops, nothing is left running.
    const pids = [await nodePid(dataDir), await natsServerPid(dataDir), await postgresPid(dataDir)];
    node.proc.kill("SIGINT");
    expect(await node.exited).toBe(0);
    await eventually("every process of the node to be gone", async () => (pids.every((p) => !isAlive(p)) ? true : undefined), 30_000);
  }, 240_000);
});

/**
 * A server left running on the node's folder with no node (its parent-death signal never came,
 * as where setpriv is missing): the next start stops it instead of sharing its store.
 */
describe("edgecoder up on a folder where a dead node's servers still run", () => {
  let model: FakeOllama;
  let dataDir: string;
  let env: Record<string, string>;
  const strays: ChildProcess[] = [];
  beforeAll(async () => {
    model = await startFakeOllama();
    model.answer = answers;
    dataDir = await mkdtemp(join(tmpdir(), "ec-leftover-"));
    env = await nodeEnvironment(dataDir, model.url, { EC_WORKER: "false" });
    const first = startNodeProcess(env, ["--no-restart"]);
    await first.waitFor(/control plane on/);
    first.proc.kill("SIGINT");
    expect(await first.exited).toBe(0);
  }, 120_000);
  afterAll(async () => {
    for (const s of strays) s.kill("SIGKILL");
    await model?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("stops the leftover nats-server and Postgres, then starts its own on the same store", async () => {
    const creds = JSON.parse(await readFile(join(dataDir, "embedded-credentials.json"), "utf8")) as { natsNode: string; natsAuditor: string; natsSys: string };
    const nats = spawn(natsServerBinary(), ["-c", join(dataDir, "nats", "nats-server.conf")], {
      env: { EC_NATS_PASSWORD: creds.natsNode, EC_AUDITOR_PASSWORD: creds.natsAuditor, EC_SYS_PASSWORD: creds.natsSys },
      stdio: "ignore",
    });
    const postgres = spawn(process.execPath, [join(packageRoot, "dist/adapters/postgres/embeddedPostgresMain.js"), JSON.stringify({ dataDir })], { stdio: "ignore" });
    strays.push(nats, postgres);
    await eventually("the leftovers to hold the folder", async () =>
      Number((await readFile(join(dataDir, "nats", "nats-server.pid"), "utf8").catch(() => "")).trim()) === nats.pid &&
      Number((await readFile(join(dataDir, "pglite.lock"), "utf8").catch(() => "")).split(/\s+/)[0]) === postgres.pid
        ? true
        : undefined,
    );

    const node = startNodeProcess(env, ["--no-restart"]);
    try {
      await node.waitFor(/control plane on/);
      expect(node.output()).toContain(`stopping process ${nats.pid} left behind by an earlier run`);
      expect(node.output()).toContain(`stopping process ${postgres.pid} left behind by an earlier run`);
      expect(nats.exitCode !== null || nats.signalCode !== null).toBe(true);
      expect(postgres.exitCode !== null || postgres.signalCode !== null).toBe(true);
      expect(await natsServerPid(dataDir)).not.toBe(nats.pid);
    } finally {
      node.proc.kill("SIGINT");
      expect(await node.exited).toBe(0);
    }
  }, 120_000);
});
