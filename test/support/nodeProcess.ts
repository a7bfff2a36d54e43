import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "../../src/adapters/nats/natsServerProcess.js";
import { packageRoot } from "../../src/adapters/packageRoot.js";
import { isAlive } from "../../src/adapters/process/processInfo.js";
import { eventually } from "./node.js";

/** The compiled CLI, as `npm start` runs it (build first: `npm run build`). */
export const CLI = join(packageRoot, "dist/cli/main.js");

export interface NodeProcess {
  readonly proc: ChildProcess;
  readonly dataDir: string;
  readonly env: Record<string, string>;
  readonly coordinatorUrl: string;
  /** Everything it printed so far. */
  output(): string;
  /** Waits until what it printed after `from` characters matches. */
  waitFor(pattern: RegExp, from?: number, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

/** Ports and folders of one node, so that a node started again on them is the same node. */
export async function nodeEnvironment(dataDir: string, modelUrl: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/root",
    EC_DATA_DIR: dataDir,
    OLLAMA_HOST: modelUrl,
    COORDINATOR_PORT: String(await freePort()),
    INFERENCE_PORT: String(await freePort()),
    CONTROL_PLANE_PORT: String(await freePort()),
    EC_EMBEDDED_NATS_PORT: String(await freePort()),
    EC_DEVICE_TYPE: "server",
    EC_HEARTBEAT_MS: "500",
    ...extra,
  };
}

/** `edgecoder up` (compiled) as a child process. */
export function startNodeProcess(env: Record<string, string>, args: string[] = []): NodeProcess {
  const proc = spawn(process.execPath, [CLI, "up", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  proc.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return {
    proc,
    dataDir: env.EC_DATA_DIR!,
    env,
    coordinatorUrl: `http://127.0.0.1:${env.COORDINATOR_PORT}`,
    output: () => out,
    exited,
    waitFor: (pattern, from = 0, timeoutMs = 90_000) =>
      eventually(`${pattern} in the node's output`, async () => (pattern.test(out.slice(from)) ? true : undefined), timeoutMs).then(
        () => undefined,
        (err: unknown) => {
          throw new Error(`${String(err)}\n--- node output ---\n${out.slice(-6000)}`);
        },
      ),
  };
}

/** The pid a lock or pid file of the data folder names, once the process in it runs. */
export async function pidIn(file: string): Promise<number> {
  return eventually(`a live process in ${file}`, async () => {
    const pid = Number((await readFile(file, "utf8").catch(() => "")).trim().split(/\s+/)[0]);
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  });
}

export const nodePid = (dataDir: string) => pidIn(join(dataDir, "node.lock"));
export const natsServerPid = (dataDir: string) => pidIn(join(dataDir, "nats", "nats-server.pid"));
export const postgresPid = (dataDir: string) => pidIn(join(dataDir, "pglite.lock"));

export async function adminToken(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, "admin-token"), "utf8")).trim();
}

/** Calls a node's coordinator with its admin token. */
export async function callAdmin(node: NodeProcess, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(new URL(path, node.coordinatorUrl), {
    method,
    headers: { authorization: `Bearer ${await adminToken(node.dataDir)}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

/** Waits until the process is gone. */
export const gone = (pid: number, what: string, timeoutMs = 20_000) => eventually(`${what} (pid ${pid}) to be gone`, async () => (isAlive(pid) ? undefined : true), timeoutMs);
