import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

// V8 compiles PGlite's 9 MB of WebAssembly twice by default (baseline, then optimised in the
// background). Baseline only measured 35-45 MB less resident memory, started faster and ran the
// projections' statements no slower; the flag is process-wide, hence a process of its own.
const WASM_FLAGS = "--liftoff-only";

/** What the Postgres process tells the node once, over IPC. */
export type EmbeddedPostgresReport =
  | { readonly kind: "ready"; readonly url: string; readonly maxConnections: number }
  | { readonly kind: "failed"; readonly message: string };

export interface EmbeddedPostgresOptions {
  /** The node's data folder; Postgres lives in <dataDir>/pglite. */
  readonly dataDir: string;
  /** 0 (the default) lets the system pick a free port. */
  readonly port?: number;
  readonly host?: string;
  /** Connections the server accepts (default 32). */
  readonly maxConnections?: number;
  /** How long a statement waits for another connection's open transaction before it fails (30 s). */
  readonly waitTimeoutMs?: number;
  /** Lines the Postgres process writes to stderr. */
  readonly log?: (line: string) => void;
  /** Told when the Postgres process ends without being stopped. */
  readonly onExit?: (reason: string) => void;
}

export interface EmbeddedPostgres {
  /** postgres://postgres@host:port/postgres, for `pg`, node-pg-migrate and ensureDatabase. */
  readonly url: string;
  /** Connections the server accepts; a pool must not open more. */
  readonly maxConnections: number;
  /** The Postgres process. */
  readonly pid: number;
  stop(): Promise<void>;
}

/** The entry next to this file: compiled (dist/) or, under tsx or vitest, the .ts source. */
function entry(): { path: string; execArgv: string[] } {
  const ts = fileURLToPath(import.meta.url).endsWith(".ts");
  return { path: fileURLToPath(new URL(`./embeddedPostgresMain.${ts ? "ts" : "js"}`, import.meta.url)), execArgv: ts ? ["--import", "tsx"] : [] };
}

/**
 * Postgres for a node started without DATABASE_URL: PGlite persisted in <dataDir>/pglite, served
 * over the wire protocol on loopback by a process of its own, so the node's `pg` code,
 * migrations and COPY run unchanged. Its own process because PGlite adds 70-120 MB of resident
 * memory, which the node's 300 MB cannot spare, and because PGlite ends the process it runs in
 * when its backend fails.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { log, onExit, ...serverOpts } = opts;
  const { path, execArgv } = entry();
  const child = fork(path, [JSON.stringify(serverOpts)], { execArgv: [...execArgv, WASM_FLAGS], stdio: ["ignore", "ignore", "pipe", "ipc"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
    if (log) for (const line of chunk.split("\n")) if (line.trim()) log(line);
  });
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? `code ${code}`)));

  const ready = await new Promise<Extract<EmbeddedPostgresReport, { kind: "ready" }>>((resolve, reject) => {
    child.on("message", (m: EmbeddedPostgresReport) => (m.kind === "ready" ? resolve(m) : reject(new Error(m.message))));
    child.once("error", reject);
    void exited.then((how) => reject(new Error(`embedded Postgres exited while starting (${how}): ${stderr.trim()}`)));
  }).catch(async (err: unknown) => {
    child.kill("SIGKILL");
    await exited;
    throw err;
  });

  let stopping: Promise<void> | undefined;
  void exited.then((how) => {
    if (!stopping) onExit?.(`embedded Postgres exited (${how}): ${stderr.trim()}`);
  });
  return {
    url: ready.url,
    maxConnections: ready.maxConnections,
    pid: child.pid!,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.send("stop");
          const kill = setTimeout(() => child.kill("SIGKILL"), 20_000).unref();
          await exited;
          clearTimeout(kill);
        }
      })()),
  };
}
