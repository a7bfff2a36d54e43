import type { PoolClient } from "pg";
import type { RawCommit } from "../adapters/nats/eventStore.js";
import {
  admitCommits,
  consoleProjectionLog,
  isTransientStorageError,
  loadVerifiedDigests,
  lockProjection,
  stampCheckpoint,
  writeBatch,
  writeBatchSafely,
  type ProjectionRunOptions,
} from "./batch.js";
import { DuplicateEventError, type Projector } from "./projector.js";

export interface RebuildProgress {
  readonly stream: string;
  readonly seq: number;
  readonly lastSeq: number;
  readonly commits: number;
  readonly total: number;
}

export interface RebuildOptions extends ProjectionRunOptions {
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
 * with the stream. Event ids are assumed unique; if one repeats, the rebuild is redone carefully.
 */
export async function rebuildProjection(projector: Projector, opts: RebuildOptions): Promise<RebuildResult> {
  const started = performance.now();
  const mode: ReplayMode = { careful: false, isolating: false };
  for (;;) {
    try {
      return await rebuildOnce(projector, opts, mode, started);
    } catch (err) {
      if (err instanceof DuplicateEventError && !mode.careful) mode.careful = true;
      // A commit the database refuses: replay again, each batch in a savepoint, finding it.
      else if (!(err instanceof DuplicateEventError) && !isTransientStorageError(err) && !mode.isolating) mode.isolating = true;
      else throw err;
    }
  }
}

/**
 * careful: event ids are looked up, not assumed new. isolating: each batch is flushed and
 * written in a savepoint, and a commit the database refuses is quarantined; slower, so only
 * after a fast replay met one.
 */
interface ReplayMode {
  careful: boolean;
  isolating: boolean;
}

async function rebuildOnce(projector: Projector, opts: RebuildOptions, mode: ReplayMode, started: number): Promise<RebuildResult> {
  const db = await opts.pool.connect();
  try {
    await db.query("BEGIN");
    const result = await replayInto(db, projector, opts, mode);
    await db.query("COMMIT");
    return { ...result, ms: Math.round(performance.now() - started) };
  } catch (err) {
    await db.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
}

async function replayInto(db: PoolClient, projector: Projector, opts: RebuildOptions, { careful, isolating }: ReplayMode): Promise<Omit<RebuildResult, "ms">> {
  const batchSize = opts.batchSize ?? 3000;
  const log = opts.log ?? consoleProjectionLog;
  let commits = 0;
  let events = 0;
  let quarantined = 0;
  await lockProjection(db, projector.name);
  const lastSeqs: Record<string, number> = {};
  const created: Record<string, string> = {};
  for (const stream of projector.streams) {
    const state = await opts.store.streamState(stream);
    lastSeqs[stream] = state.lastSeq;
    created[stream] = state.created;
  }
  const total = Object.values(lastSeqs).reduce((a, b) => a + b, 0);
  opts.onStart?.(total);
  await db.query(`TRUNCATE ${projector.tables.map((t) => `"${t}"`).join(", ")}`);
  await db.query("DELETE FROM projection_quarantine WHERE projection = $1", [projector.name]);
  await db.query("DELETE FROM projection_checkpoints WHERE projection = $1", [projector.name]);
  for (const stream of projector.streams) await stampCheckpoint(db, projector.name, stream, created[stream]!);
  const open = () => projector.open(db, { careful });
  let session = open();
  for (const stream of projector.streams) {
    const lastSeq = lastSeqs[stream]!;
    // Two stages in flight: while Postgres writes batch N on the rebuild's transaction, this
    // thread admits batch N+1 (parse, schema, signatures; memo read on another connection).
    let writing: Promise<void> = Promise.resolve();
    let batch: RawCommit[] = [];
    const flush = async () => {
      const raws = batch;
      batch = [];
      if (opts.singleSession) await writing;
      const verified = await loadVerifiedDigests(opts.singleSession ? db : opts.pool, stream, raws[0]!.seq, raws.at(-1)!.seq);
      const admission = await admitCommits(projector, stream, raws, verified, opts.verifier);
      await writing;
      const written = isolating
        ? writeBatchSafely(db, projector, session, admission, log, open)
        : writeBatch(db, projector, session, admission, log).then((outcome) => ({ outcome, session }));
      writing = written.then(({ outcome, session: next }) => {
        session = next;
        commits += raws.length;
        events += outcome.events;
        quarantined += outcome.quarantined;
        opts.onProgress?.({ stream, seq: admission.lastSeq, lastSeq, commits, total });
      });
      // Observed at the next flush or at the end; marked handled so it is not reported twice.
      writing.catch(() => undefined);
    };
    for await (const commit of opts.store.read(stream, { fromSeq: 1, toSeq: lastSeq })) {
      batch.push(commit);
      if (batch.length >= batchSize) await flush();
    }
    if (batch.length > 0) await flush();
    await writing;
  }
  await session.flush();
  await db.query(
    `INSERT INTO projection_versions (projection, version, rebuilt_at) VALUES ($1, $2, now())
     ON CONFLICT (projection) DO UPDATE SET version = EXCLUDED.version, rebuilt_at = EXCLUDED.rebuilt_at`,
    [projector.name, projector.version],
  );
  return { projection: projector.name, commits, events, quarantined, lastSeqs };
}
