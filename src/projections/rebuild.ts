import type { Pool } from "pg";
import type { EventStore, RawCommit } from "../adapters/nats/eventStore.js";
import { consoleProjectionLog, lockProjection, projectBatch, type ProjectionLog } from "./batch.js";
import type { Projector } from "./projector.js";

export interface RebuildProgress {
  readonly stream: string;
  readonly seq: number;
  readonly lastSeq: number;
  readonly commits: number;
  readonly total: number;
}

export interface RebuildOptions {
  readonly store: EventStore;
  readonly pool: Pool;
  readonly batchSize?: number;
  readonly log?: ProjectionLog;
  readonly onStart?: (total: number) => void;
  readonly onProgress?: (p: RebuildProgress) => void;
}

export interface RebuildResult {
  readonly projection: string;
  readonly commits: number;
  readonly events: number;
  readonly quarantined: number;
  readonly lastSeqs: Record<string, number>;
  /** Wall time of the rebuild itself, from taking the lock to the commit. */
  readonly ms: number;
}

/**
 * Empties the projector's tables and replays its streams from sequence 1 up to where they end
 * when the rebuild starts, in one transaction under the projection's lock: readers wait on the
 * truncated tables until the rebuilt rows commit (never a half-built table), and a live follower
 * resumes after the rebuilt position. Commits are streamed in batches, so memory does not grow
 * with the stream.
 */
export async function rebuildProjection(projector: Projector, opts: RebuildOptions): Promise<RebuildResult> {
  const batchSize = opts.batchSize ?? 2000;
  const log = opts.log ?? consoleProjectionLog;
  const started = performance.now();
  const db = await opts.pool.connect();
  let commits = 0;
  let events = 0;
  let quarantined = 0;
  const lastSeqs: Record<string, number> = {};
  try {
    await db.query("BEGIN");
    await lockProjection(db, projector.name);
    for (const stream of projector.streams) lastSeqs[stream] = await opts.store.lastSeq(stream);
    const total = Object.values(lastSeqs).reduce((a, b) => a + b, 0);
    opts.onStart?.(total);
    await db.query(`TRUNCATE ${projector.tables.map((t) => `"${t}"`).join(", ")}`);
    await db.query("DELETE FROM projection_quarantine WHERE projection = $1", [projector.name]);
    await db.query("DELETE FROM projection_checkpoints WHERE projection = $1", [projector.name]);
    for (const stream of projector.streams) {
      const lastSeq = lastSeqs[stream]!;
      let batch: RawCommit[] = [];
      const flush = async () => {
        const outcome = await projectBatch(db, projector, stream, batch, log);
        commits += batch.length;
        events += outcome.events;
        quarantined += outcome.quarantined;
        opts.onProgress?.({ stream, seq: batch.at(-1)!.seq, lastSeq, commits, total });
        batch = [];
      };
      for await (const commit of opts.store.read(stream, { fromSeq: 1, toSeq: lastSeq })) {
        batch.push(commit);
        if (batch.length >= batchSize) await flush();
      }
      if (batch.length > 0) await flush();
    }
    await db.query(
      `INSERT INTO projection_versions (projection, version, rebuilt_at) VALUES ($1, $2, now())
       ON CONFLICT (projection) DO UPDATE SET version = EXCLUDED.version, rebuilt_at = EXCLUDED.rebuilt_at`,
      [projector.name, projector.version],
    );
    await db.query("COMMIT");
  } catch (err) {
    await db.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
  return { projection: projector.name, commits, events, quarantined, lastSeqs, ms: Math.round(performance.now() - started) };
}
