import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../src/adapters/nats/natsServerProcess.js";
import { packageRoot } from "../src/adapters/packageRoot.js";
import { startFakeOllama, type FakeOllama } from "../test/support/fakeOllama.js";
import { eventually } from "../test/support/node.js";
import { benchDatabase, benchNats, report, reportFailure, round } from "./support.js";

export interface IdleNodeBenchOptions {
  /** How long the node sits idle, its worker registered, before its memory is read. */
  readonly idleMs: number;
}

const MODEL = "qwen2.5-coder:1.5b";
const TARGET_MIB = 300;

interface ProcessMemory {
  readonly pid: number;
  /** node, worker, embedded-postgres, nats-server, or the command name of anything else in the tree. */
  readonly role: string;
  readonly rssMiB: number;
}

/** VmRSS of one process in MiB; 0 when it is gone. */
function rssMiB(pid: number): number {
  try {
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kib ? Number(kib) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** `root` and all its descendants, from the parent ids in /proc/<pid>/stat. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name sits in parentheses and may hold spaces or parentheses itself.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while the table was read.
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

function roleOf(pid: number, root: number): string {
  // `edgecoder up` is a small supervisor; the node is its child running the same command line.
  if (pid === root) return "supervisor";
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    if (cmdline.some((a) => a.endsWith(join("worker", "main.js")))) return "worker";
    if (cmdline.some((a) => a.endsWith("embeddedPostgresMain.js"))) return "embedded-postgres";
    if (cmdline.some((a) => a.endsWith(join("cli", "main.js")))) return "node";
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "gone";
  }
}

const treeMemory = (root: number): ProcessMemory[] => processTree(root).map((pid) => ({ pid, role: roleOf(pid, root), rssMiB: rssMiB(pid) }));

/** Resolves when the child prints `line`; fails when it exits first or `timeoutMs` passes. */
function untilPrinted(child: ChildProcess, output: string[], line: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no "${line}" within ${timeoutMs} ms`)), timeoutMs);
    const onData = () => output.join("").includes(line) && done();
    const onExit = (code: number | null, signal: string | null) => done(new Error(`edgecoder up exited (${signal ?? `code ${code}`})`));
    const done = (err?: Error) => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      if (err) reject(err);
      else resolve();
    };
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
    onData();
  });
}

/** SIGTERM (the node stops its worker and nats-server), then SIGKILL for what is left of the tree. */
async function stopTree(child: ChildProcess, tree: readonly number[]): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timedOut = await Promise.race([exited.then(() => false), sleep(30_000).then(() => true)]);
  if (!timedOut) return;
  for (const pid of tree) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  await exited;
}

/**
 * `edgecoder up` as a user starts it (the built CLI, its own nats-server, its worker forked), on
 * free ports with the fake model, waits for its worker to register, lets it idle, and reads the
 * resident memory of every process in its tree.
 */
async function idleNodeMemory(model: FakeOllama, databaseUrl: string | undefined, idleMs: number) {
  const dataDir = await mkdtemp(join(tmpdir(), "ec-bench-idle-"));
  const [coordinator, inference, controlPlane, nats] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    COORDINATOR_PORT: String(coordinator),
    INFERENCE_PORT: String(inference),
    CONTROL_PLANE_PORT: String(controlPlane),
    EC_EMBEDDED_NATS_PORT: String(nats),
    OLLAMA_HOST: model.url,
    EC_MODEL: MODEL,
    EC_WORKER: "true",
  };
  delete env.NATS_URL;
  delete env.DATABASE_URL;
  delete env.ADMIN_API_TOKEN;
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  const output: string[] = [];
  const child = spawn(process.execPath, [join(packageRoot, "dist", "cli", "main.js"), "--data-dir", dataDir, "up"], { env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (c: Buffer) => output.push(c.toString()));
  child.stderr.on("data", (c: Buffer) => output.push(c.toString()));
  let tree: number[] = [];
  try {
    const started = performance.now();
    await untilPrinted(child, output, " is up; Ctrl-C stops it", 120_000);
    const token = (await readFile(join(dataDir, "admin-token"), "utf8")).trim();
    await eventually(
      "the node's worker registered and approved",
      async () => {
        const res = await fetch(`http://127.0.0.1:${controlPlane}/agents?status=approved`, { headers: { authorization: `Bearer ${token}` } });
        const body = (await res.json()) as { agents?: unknown[] };
        return (body.agents?.length ?? 0) > 0 ? true : undefined;
      },
      60_000,
    );
    const readyMs = performance.now() - started;
    let peakMiB = 0;
    for (let waited = 0; waited < idleMs; waited += 1000) {
      await sleep(1000);
      tree = processTree(child.pid!);
      peakMiB = Math.max(peakMiB, treeMemory(child.pid!).reduce((sum, p) => sum + p.rssMiB, 0));
    }
    return { processes: treeMemory(child.pid!), readyMs, peakMiB };
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\nedgecoder up said:\n${output.join("").split("\n").slice(-20).join("\n")}`);
  } finally {
    await stopTree(child, tree.length ? tree : processTree(child.pid!));
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The floor: an idle Node.js process doing nothing, and an idle nats-server with JetStream on. */
async function bareProcessesMiB(): Promise<{ node: number; natsServer: number }> {
  const bare = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  const nats = await benchNats();
  try {
    await sleep(2000);
    return { node: rssMiB(bare.pid!), natsServer: rssMiB(nats.server.pid!) };
  } finally {
    bare.kill("SIGTERM");
    await nats.close();
  }
}

/**
 * Resident memory of an idle node, its worker registered: with DATABASE_URL (a Postgres server,
 * in its own processes, not counted) and without it (PGlite in a process of its own, forked by
 * the node). The target, under 300 MB, is for the node (coordinator, inference, control plane in
 * one process) plus its worker; the nats-server child and the embedded Postgres process are
 * reported beside it, not counted in it.
 */
export async function idleNodeBench(opts: IdleNodeBenchOptions): Promise<void> {
  const model = await startFakeOllama([MODEL]);
  try {
    const bare = await bareProcessesMiB();
    const variants = [
      { name: "postgres", database: "Postgres server on 127.0.0.1:5432, fresh database (its processes not counted)" },
      { name: "pglite", database: "no DATABASE_URL: embedded PGlite in its own process, forked by the node" },
    ] as const;
    for (const variant of variants) {
      const db = variant.name === "postgres" ? await benchDatabase() : undefined;
      try {
        const loadAvgAtStart = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
        const { processes, readyMs, peakMiB } = await idleNodeMemory(model, db?.url, opts.idleMs);
        const of = (role: string) => processes.filter((p) => p.role === role).reduce((sum, p) => sum + p.rssMiB, 0);
        const nodeAndWorker = of("supervisor") + of("node") + of("worker");
        const all = processes.reduce((sum, p) => sum + p.rssMiB, 0);
        const about = { database: variant.database, idleS: opts.idleMs / 1000 };
        report(`idle_node_rss_${variant.name}`, nodeAndWorker, "MiB", 2 * bare.node, {
          ...about,
          baselineIs: "two bare idle Node.js processes (node -e 'setInterval(...)')",
          target: `< ${TARGET_MIB} MB for node + worker (the supervisor that restarts the node counted with it)`,
          withinTarget: nodeAndWorker * 1.048576 < TARGET_MIB,
          natsServerCounted: false,
          embeddedPostgresCounted: false,
          wholeTreeMiB: round(all),
          peakOfWholeTreeWhileIdleMiB: round(peakMiB),
          upAndWorkerRegisteredMs: round(readyMs),
          loadAvgAtStart,
          processes: processes.map((p) => ({ ...p, rssMiB: round(p.rssMiB) })),
        });
        const bareNode = { baselineIs: "a bare idle Node.js process" };
        report(`idle_node_rss_${variant.name}_node`, of("node"), "MiB", bare.node, { ...about, ...bareNode, role: "coordinator + inference + control plane" });
        report(`idle_node_rss_${variant.name}_supervisor`, of("supervisor"), "MiB", bare.node, { ...about, ...bareNode, role: "edgecoder up's supervisor, which starts the node again" });
        report(`idle_node_rss_${variant.name}_worker`, of("worker"), "MiB", bare.node, { ...about, ...bareNode, role: "forked worker" });
        if (variant.name === "pglite") {
          report(`idle_node_rss_${variant.name}_embedded_postgres`, of("embedded-postgres"), "MiB", bare.node, { ...about, ...bareNode, role: "PGlite process forked by the node" });
        }
        report(`idle_node_rss_${variant.name}_nats_server`, of("nats-server"), "MiB", bare.natsServer, {
          ...about,
          role: "embedded nats-server child",
          baselineIs: "a bare idle nats-server with JetStream, empty store",
        });
      } catch (err) {
        reportFailure(`idle_node_rss_${variant.name}`, err);
      } finally {
        await db?.drop();
      }
    }
  } finally {
    await model.close();
  }
}
