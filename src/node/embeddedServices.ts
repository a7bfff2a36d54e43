import { chmod, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { NatsServerProcess } from "../adapters/nats/natsServerProcess.js";
import { packageRoot } from "../adapters/packageRoot.js";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../adapters/postgres/embeddedPostgres.js";
import type { EmbeddedCredentials } from "./embeddedCredentials.js";

export const NATS_URL_FILE = "nats.url";
/** Where a running node tells `edgecoder replay` its embedded Postgres is. */
export const EMBEDDED_POSTGRES_URL_FILE = "postgres.url";

type Log = (line: string) => void;

export interface EmbeddedService {
  /** For this node's clients; it holds the password. */
  readonly url: string;
  /** Whether the process still runs. */
  readonly alive: () => boolean;
  stop(): Promise<void>;
}

/** The URL with its password shown as ***, for logs. */
export function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}

/** A URL file holds a password: only this user may read it. */
async function writeUrlFile(file: string, url: string): Promise<void> {
  await writeFile(file, url + "\n", { mode: 0o600 });
  await chmod(file, 0o600);
}

/**
 * The node's own nats-server, on its store in the data folder, with the users of
 * deploy/nats/accounts.conf and passwords generated into the data folder: the node connects as
 * "edgecoder", which may not delete or purge a stream; "auditor" reads; "sys" administers.
 */
export async function startEmbeddedNats(opts: {
  dataDir: string;
  port: number;
  serverName: string;
  credentials: EmbeddedCredentials;
  onDown: (reason: string) => void;
  log: Log;
}): Promise<EmbeddedService> {
  const storeDir = join(opts.dataDir, "nats");
  // accounts.conf reads the passwords from the server's environment, which only this user can read.
  const accounts = relative(storeDir, join(packageRoot, "deploy/nats/accounts.conf"));
  const extraConfig = `include ${JSON.stringify(accounts)}`;
  const env = { EC_NATS_PASSWORD: opts.credentials.natsNode, EC_AUDITOR_PASSWORD: opts.credentials.natsAuditor, EC_SYS_PASSWORD: opts.credentials.natsSys };
  let running = true;
  const server = await NatsServerProcess.start({
    storeDir,
    port: opts.port,
    serverName: opts.serverName,
    extraConfig,
    env,
    takeOver: true,
    log: opts.log,
    onExit: (reason) => {
      running = false;
      opts.onDown(reason);
    },
  });
  const url = server.url.replace("nats://", `nats://edgecoder:${opts.credentials.natsNode}@`);
  const file = join(opts.dataDir, NATS_URL_FILE);
  await writeUrlFile(file, url);
  opts.log(`nats-server started on ${server.url} (store ${storeDir}; users in ${join(packageRoot, "deploy/nats/accounts.conf")})`);
  return {
    url,
    alive: () => running,
    stop: async () => {
      running = false;
      await rm(file, { force: true });
      await server.stop();
    },
  };
}

/** The node's own Postgres (PGlite in its data folder), with a password generated into it. */
export async function startEmbeddedDatabase(opts: {
  dataDir: string;
  credentials: EmbeddedCredentials;
  onDown: (reason: string) => void;
  log: Log;
}): Promise<EmbeddedService & { maxConnections: number }> {
  let running = true;
  const embedded: EmbeddedPostgres = await startEmbeddedPostgres({
    dataDir: opts.dataDir,
    password: opts.credentials.postgres,
    takeOver: true,
    log: opts.log,
    onExit: (reason) => {
      running = false;
      opts.onDown(reason);
    },
  });
  const file = join(opts.dataDir, EMBEDDED_POSTGRES_URL_FILE);
  await writeUrlFile(file, embedded.url);
  opts.log(`embedded postgres (PGlite) on ${redactUrl(embedded.url)}; set DATABASE_URL to use a server`);
  return {
    url: embedded.url,
    maxConnections: embedded.maxConnections,
    alive: () => running,
    stop: async () => {
      running = false;
      await rm(file, { force: true });
      await embedded.stop();
    },
  };
}
