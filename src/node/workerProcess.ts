import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { requestMetrics } from "../adapters/metrics/ipcMetrics.js";
import type { MetricsSnapshot } from "../adapters/metrics/registry.js";
import { tiedToParent } from "../adapters/process/tiedToParent.js";

export interface SupervisedWorker {
  /** Process ids of the worker so far, the running one last (tests kill it to see the restart). */
  readonly pids: readonly number[];
  /** Whether a worker process runs now (between a crash and its restart none does). */
  running(): boolean;
  /** The running worker's metrics (its sandbox runs and model calls), asked over its IPC channel. */
  metrics(): Promise<MetricsSnapshot>;
  stop(): Promise<void>;
}

/** The worker entry next to this file: compiled (dist/) or, under tsx in development, the .ts source. */
function workerEntry(): { path: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ts = here.endsWith(".ts");
  return { path: fileURLToPath(new URL(`../worker/main.${ts ? "ts" : "js"}`, import.meta.url)), execArgv: ts ? ["--import", "tsx"] : [] };
}

/**
 * Forks the node's own worker and keeps it running: when it exits (a crash, a kill) it is started
 * again after a pause that grows while it keeps failing quickly, so a broken setup does not spin.
 * An exit code of 2 means bad configuration, which a restart cannot fix: it is reported and left.
 */
export function superviseWorker(opts: { env: NodeJS.ProcessEnv; log: (line: string) => void; restartDelayMs?: number }): SupervisedWorker {
  const entry = workerEntry();
  const pids: number[] = [];
  let child: ChildProcess | undefined;
  let stopping = false;
  let failures = 0;
  let restartTimer: NodeJS.Timeout | undefined;

  const start = () => {
    const startedAt = Date.now();
    // Tied to this process: a node that is SIGKILLed takes its worker with it.
    const [command, args] = tiedToParent(process.execPath, [...entry.execArgv, entry.path]);
    const c = spawn(command, args, { env: opts.env, stdio: ["ignore", "pipe", "pipe", "ipc"] });
    child = c;
    if (c.pid) pids.push(c.pid);
    const relay = (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) if (line.trim()) opts.log(line);
    };
    c.stdout?.on("data", relay);
    c.stderr?.on("data", relay);
    c.on("exit", (code, signal) => {
      child = undefined;
      if (stopping) return;
      if (code === 2) {
        opts.log(`worker exited with bad configuration (code 2); not restarting it`);
        return;
      }
      failures = Date.now() - startedAt < 10_000 ? failures + 1 : 0;
      const delay = Math.min(30_000, (opts.restartDelayMs ?? 500) * 2 ** failures);
      opts.log(`worker exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`);
      restartTimer = setTimeout(start, delay);
    });
  };
  start();

  return {
    pids,
    running: () => child !== undefined && child.exitCode === null,
    metrics: () => (child ? requestMetrics(child) : Promise.reject(new Error("no worker process runs now"))),
    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      const c = child;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once("exit", () => resolve());
        c.kill("SIGTERM");
        setTimeout(() => c.kill("SIGKILL"), 20_000).unref();
      });
    },
  };
}
