import { readFile } from "node:fs/promises";
import { join } from "node:path";
import cliProgress from "cli-progress";
import { verificationPool } from "../adapters/crypto/verificationPool.js";
import { connectNats } from "../adapters/nats/connection.js";
import { createEventStore } from "../adapters/nats/eventStore.js";
import { createPool } from "../adapters/postgres/database.js";
import { projectorNamed, projectors } from "../projections/index.js";
import { migrate } from "../projections/migrate.js";
import { rebuildProjection, type RebuildResult } from "../projections/rebuild.js";
import { EMBEDDED_POSTGRES_URL_FILE, NATS_URL_FILE } from "../node/embeddedServices.js";

export interface ReplayOptions {
  readonly projection?: string;
  readonly natsUrl?: string;
  /** Unset: the embedded Postgres of the node running on this data folder. */
  readonly databaseUrl?: string;
  readonly dataDir: string;
  readonly progress?: boolean;
}

/** NATS_URL when given, else the embedded server of a node running on this data folder. */
export async function resolveNatsUrl(natsUrl: string | undefined, dataDir: string): Promise<string> {
  if (natsUrl) return natsUrl;
  try {
    return (await readFile(join(dataDir, NATS_URL_FILE), "utf8")).trim();
  } catch {
    throw new Error(`no NATS_URL given and no running node found in ${dataDir} (start one with \`edgecoder up\` or set NATS_URL)`);
  }
}

/** DATABASE_URL when given, else the embedded Postgres of a node running on this data folder. */
async function resolveDatabase(databaseUrl: string | undefined, dataDir: string): Promise<{ url: string; embedded: boolean }> {
  if (databaseUrl) return { url: databaseUrl, embedded: false };
  try {
    return { url: (await readFile(join(dataDir, EMBEDDED_POSTGRES_URL_FILE), "utf8")).trim(), embedded: true };
  } catch {
    throw new Error(`no DATABASE_URL given and no running node with an embedded Postgres in ${dataDir} (start one with \`edgecoder up\` or set DATABASE_URL)`);
  }
}

/** `edgecoder replay`: rebuilds one projection (or all) from sequence 1, with a progress bar. */
export async function replay(opts: ReplayOptions): Promise<RebuildResult[]> {
  const chosen = opts.projection ? [projectorNamed(opts.projection)] : projectors;
  const nc = await connectNats(await resolveNatsUrl(opts.natsUrl, opts.dataDir), "edgecoder-replay");
  const database = await resolveDatabase(opts.databaseUrl, opts.dataDir);
  const pool = createPool(database.url, 2);
  const verifier = verificationPool();
  try {
    await migrate(database.url);
    const store = await createEventStore(nc);
    const results: RebuildResult[] = [];
    for (const projector of chosen) {
      const bar = new cliProgress.SingleBar(
        {
          format: `${projector.name} |{bar}| {value}/{total} commits | {rate}/s | ETA {eta_formatted}`,
          stream: process.stderr,
          noTTYOutput: true,
          notTTYSchedule: 2000,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      const started = Date.now();
      const result = await rebuildProjection(projector, {
        store,
        pool,
        verifier,
        singleSession: database.embedded,
        onStart: (total) => opts.progress !== false && bar.start(total, 0, { rate: 0 }),
        onProgress: (p) =>
          opts.progress !== false && bar.update(p.commits, { rate: Math.round(p.commits / Math.max(0.001, (Date.now() - started) / 1000)) }),
      });
      if (opts.progress !== false) bar.stop();
      results.push(result);
    }
    return results;
  } finally {
    await verifier.close();
    await pool.end();
    await nc.close();
  }
}
