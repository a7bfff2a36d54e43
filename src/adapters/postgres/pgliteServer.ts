import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { acquirePidLock } from "../process/pidLock.js";
import { PgliteWireServer } from "./pgliteWireServer.js";

export interface PgliteServerOptions {
  /** The node's data folder; Postgres lives in <dataDir>/pglite. */
  readonly dataDir: string;
  /** 0 (the default) lets the system pick a free port. */
  readonly port?: number;
  readonly host?: string;
  readonly maxConnections?: number;
  /** How long a statement waits for another connection's open transaction before it fails. */
  readonly waitTimeoutMs?: number;
  /** The password clients must give; unset: none. */
  readonly password?: string;
  readonly onError?: (err: unknown) => void;
}

export const PGLITE_LOCK_FILE = "pglite.lock";

export interface PgliteServer {
  /** postgres://postgres@host:port/postgres, for `pg`, node-pg-migrate and ensureDatabase. */
  readonly url: string;
  /** Connections the server accepts; a pool must not open more. */
  readonly maxConnections: number;
  stop(): Promise<void>;
}

// A node has about 300 MB. PGlite's WebAssembly memory never shrinks, so what Postgres touches
// once stays resident: its default 128 MB of shared buffers and 64 MB for index builds are far
// above what the projections need.
const MEMORY_SETTINGS = ["-c", "shared_buffers=16MB", "-c", "maintenance_work_mem=16MB"];

/**
 * PGlite (Postgres compiled to WebAssembly) persisted in <dataDir>/pglite and served over the
 * wire protocol, in this process. One process at a time may use a data folder
 * (<dataDir>/pglite.lock). Statements run one at a time (see PgliteWireServer).
 */
export async function startPgliteServer(opts: PgliteServerOptions): Promise<PgliteServer> {
  const host = opts.host ?? "127.0.0.1";
  const maxConnections = opts.maxConnections ?? 32;
  await ensureFolder(opts.dataDir);
  // Two PGlite instances on one folder corrupt it, and PGlite does not prevent it.
  const lock = await acquirePidLock(join(opts.dataDir, PGLITE_LOCK_FILE), "embedded Postgres");
  const releaseLock = lock.release;
  let db: PGlite | undefined;
  try {
    const pgdata = join(opts.dataDir, "pglite");
    await initdbOnce(pgdata);
    db = await PGlite.create({ dataDir: pgdata, startParams: [...PGlite.defaultStartParams, ...MEMORY_SETTINGS] });
    const server = await PgliteWireServer.listen({
      db,
      host,
      port: opts.port ?? 0,
      maxConnections,
      waitTimeoutMs: opts.waitTimeoutMs ?? 30_000,
      ...(opts.password !== undefined ? { password: opts.password } : {}),
      ...(opts.onError ? { onError: opts.onError } : {}),
    });
    const open = db;
    let stopping: Promise<void> | undefined;
    return {
      url: `postgres://postgres${opts.password !== undefined ? `:${encodeURIComponent(opts.password)}` : ""}@${host.includes(":") ? `[${host}]` : host}:${server.port}/postgres`,
      maxConnections,
      stop: () =>
        (stopping ??= (async () => {
          try {
            await server.close();
            await open.close();
          } finally {
            await releaseLock();
          }
        })()),
    };
  } catch (err) {
    await db?.close().catch(() => undefined);
    await releaseLock();
    throw err;
  }
}

async function ensureFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    if (!(await stat(dir)).isDirectory()) throw new Error("not a folder");
  } catch (err) {
    throw new Error(`embedded Postgres: data folder ${dir} cannot be used: ${(err as Error).message}`);
  }
}

/**
 * Creates the Postgres data folder the first time, in a child process: PGlite's initdb peaks at
 * 600-750 MB, and a process that ran it kept 250-700 MB of that afterwards. The folder is built
 * aside and renamed into place, so an interrupted first start leaves nothing half made.
 */
async function initdbOnce(pgdata: string): Promise<void> {
  if (existsSync(join(pgdata, "PG_VERSION"))) return;
  if (existsSync(pgdata)) throw new Error(`embedded Postgres: ${pgdata} exists but holds no Postgres data (no PG_VERSION)`);
  const building = `${pgdata}.init`;
  await rm(building, { recursive: true, force: true });
  const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite");
  const script =
    `const { PGlite } = require(${JSON.stringify(entry)});` +
    `PGlite.create({ dataDir: ${JSON.stringify(building)}, initDbStartParams: ${JSON.stringify(MEMORY_SETTINGS)} })` +
    `.then((db) => db.close()).catch((err) => { console.error(err && err.stack || String(err)); process.exit(1); });`;
  const child = spawn(process.execPath, [...process.execArgv.filter((f) => f.startsWith("--liftoff")), "-e", script], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr = (stderr + s).slice(-4000)));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (c) => resolve(c));
  });
  if (code !== 0 || !existsSync(join(building, "PG_VERSION"))) {
    await rm(building, { recursive: true, force: true });
    throw new Error(`embedded Postgres: initdb of ${pgdata} failed (exit ${code}): ${stderr.trim()}`);
  }
  await rename(building, pgdata);
}
