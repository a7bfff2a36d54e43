import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stopLeftover } from "../process/leftovers.js";
import { lockHolder } from "../process/pidLock.js";
import { tiedToParent } from "../process/tiedToParent.js";
import { PGLITE_LOCK_FILE } from "./pgliteServer.js";

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
  /** The password clients must give (given to the process in its environment, not its arguments). */
  readonly password?: string;
  /**
   * Stop a Postgres process that holds the folder first: for a caller who knows no one else may
   * use it (a node holding its data folder's lock), so the holder is left over from a dead run.
   */
  readonly takeOver?: boolean;
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
  const { log, onExit, password, takeOver, ...serverOpts } = opts;
  const { path, execArgv } = entry();
  // A Postgres process an earlier run left on this folder (its node was SIGKILLed) goes first.
  const leftover = takeOver ? await lockHolder(join(opts.dataDir, PGLITE_LOCK_FILE)) : undefined;
  if (leftover !== undefined) await stopLeftover(leftover, (cmd) => cmd.includes("embeddedPostgresMain"), log ?? (() => undefined), 20_000);
  const [command, args] = tiedToParent(process.execPath, [...execArgv, WASM_FLAGS, path, JSON.stringify(serverOpts)]);
  const child = spawn(command, args, {
    stdio: ["ignore", "ignore", "pipe", "ipc"],
    // A group of its own: Ctrl-C in a terminal reaches the node, which stops this after its clients.
    detached: true,
    env: { ...process.env, ...(password !== undefined ? { EC_EMBEDDED_POSTGRES_PASSWORD: password } : {}) },
  });
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
