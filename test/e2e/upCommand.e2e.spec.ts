import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../src/adapters/nats/natsServerProcess.js";
import { startFakeOllama, type FakeOllama } from "../support/fakeOllama.js";
import { eventually } from "../support/node.js";

const cli = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const run = promisify(execFile);

/** Process ids below `pid`, read from /proc. */
async function descendants(pid: number): Promise<number[]> {
  const { stdout } = await run("ps", ["-e", "-o", "pid=,ppid="]);
  const children = new Map<number, number[]>();
  for (const line of stdout.trim().split("\n")) {
    const [p, pp] = line.trim().split(/\s+/).map(Number) as [number, number];
    children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const out: number[] = [];
  const walk = (p: number) => (children.get(p) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(pid);
  return out;
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * The README's start command as a user runs it: `edgecoder up` with nothing configured but the
 * model server (embedded NATS, embedded Postgres, its own worker), `edgecoder submit` from
 * another process, then Ctrl-C.
 */
describe("edgecoder up, submit, Ctrl-C", () => {
  let model: FakeOllama;
  let dataDir: string;
  let up: ChildProcess;
  const output: string[] = [];
  const env: NodeJS.ProcessEnv = {};
  beforeAll(async () => {
    model = await startFakeOllama();
    model.answer = (prompt) =>
      prompt.includes("JSON array") ? JSON.stringify([{ input: "print the sum of 20 and 22", language: "python" }]) : "```python\nprint(20 + 22)\n```";
    dataDir = await mkdtemp(join(tmpdir(), "ec-up-"));
    Object.assign(env, {
      ...process.env,
      EC_DATA_DIR: dataDir,
      OLLAMA_HOST: model.url,
      COORDINATOR_PORT: String(await freePort()),
      INFERENCE_PORT: String(await freePort()),
      CONTROL_PLANE_PORT: String(await freePort()),
      EC_EMBEDDED_NATS_PORT: String(await freePort()),
      EC_DEVICE_TYPE: "server",
      DATABASE_URL: "",
      NATS_URL: "",
      ADMIN_API_TOKEN: "",
    });
    up = spawn(process.execPath, ["--import", "tsx", cli, "up"], { env, stdio: ["ignore", "pipe", "pipe"] });
    up.stdout!.on("data", (b: Buffer) => output.push(b.toString()));
    up.stderr!.on("data", (b: Buffer) => output.push(b.toString()));
    await eventually(
      "the node and its worker to be up",
      async () => {
        if (up.exitCode !== null) throw new Error(`edgecoder up exited with ${up.exitCode}`);
        return output.join("").includes("worker: registered") ? true : undefined;
      },
      90_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${output.join("")}`);
    });
  }, 120_000);
  afterAll(async () => {
    if (up.exitCode === null) up.kill("SIGKILL");
    await model.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("a submitted prompt comes back as code and its output; Ctrl-C stops every process the node started", async () => {
    const submit = await run(process.execPath, ["--import", "tsx", cli, "submit", "add 20 and 22 and print it"], {
      env: { ...env, EC_COORDINATOR_URL: `http://127.0.0.1:${env.COORDINATOR_PORT}` },
      timeout: 90_000,
    });
    expect(submit.stdout).toMatch(/task [0-9a-f-]{36} submitted/);
    expect(submit.stdout).toContain("done: completed");
    expect(submit.stdout).toContain("--- code ---\n# part 1: print the sum of 20 and 22\nprint(20 + 22)");
    expect(submit.stdout).toContain("--- output ---\n# part 1: print the sum of 20 and 22\n42");

    const tasks = await run(process.execPath, ["--import", "tsx", cli, "tasks"], { env: { ...env, EC_COORDINATOR_URL: `http://127.0.0.1:${env.COORDINATOR_PORT}` } });
    expect(tasks.stdout).toMatch(/[0-9a-f-]{36}\s+completed\s+1\/1/);
    expect((await readFile(join(dataDir, "admin-token"), "utf8")).trim()).toMatch(/^[A-Za-z0-9_-]{32}$/);

    // The gateways' lines in the node's output (a pipe, not a terminal) are JSON, one per request, with its id.
    const lines = output.join("").split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual(expect.objectContaining({ level: "info", service: "coordinator", msg: "request", method: "POST", route: "/submit", status: 202, reqId: expect.stringMatching(/^[0-9a-f-]{36}$/) }));

    // `edgecoder status` finds the node from the same settings, and sees the finished work.
    const status = await run(process.execPath, ["--import", "tsx", cli, "status", "--json"], { env });
    const seen = JSON.parse(status.stdout) as { health: { ok: boolean; checks: Record<string, unknown> }; queue: { tasks: unknown; subtasks: unknown }; agents: unknown };
    expect(seen.health.ok).toBe(true);
    expect(Object.keys(seen.health.checks).sort()).toEqual(["embedded postgres", "nats", "nats-server", "postgres", "worker"]);
    expect(seen.queue).toEqual({ tasks: { completed: 1 }, subtasks: { completed: 1 } });
    expect(seen.agents).toEqual({ approved: 1 });

    const children = await descendants(up.pid!);
    expect(children.length).toBeGreaterThanOrEqual(3); // nats-server, embedded Postgres, worker
    const exited = new Promise<number | null>((resolve) => up.once("exit", (code) => resolve(code)));
    up.kill("SIGINT");
    expect(await exited).toBe(0);
    await eventually("every child process to be gone", async () => (children.every((p) => !alive(p)) ? true : undefined), 20_000);
  }, 150_000);

  it("submit names the problem when no node answers", async () => {
    const failed = await run(process.execPath, ["--import", "tsx", cli, "submit", "x"], {
      env: { ...env, EC_COORDINATOR_URL: "http://127.0.0.1:9", ADMIN_API_TOKEN: "a".repeat(24) },
    }).catch((err: { code: number; stderr: string }) => err);
    expect("code" in failed && failed.code).toBe(1);
    expect((failed as { stderr: string }).stderr).toMatch(/coordinator at http:\/\/127\.0\.0\.1:9 is not reachable/);
  }, 30_000);
});
