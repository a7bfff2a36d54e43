import { setTimeout as sleep } from "node:timers/promises";
import type { RawCommit } from "../adapters/nats/eventStore.js";
import {
  checkpointMatches,
  consoleProjectionLog,
  lockProjection,
  projectBatch,
  readCheckpoint,
  readCheckpointRow,
  stampCheckpoint,
  type ProjectionRunOptions,
} from "./batch.js";
import { crashPoint } from "../adapters/process/crashPoint.js";
import { rebuildProjection } from "./rebuild.js";
import { DuplicateEventError, type Projector } from "./projector.js";

export interface LiveProjectionOptions extends ProjectionRunOptions {
  readonly onError?: (err: unknown) => void;
  /** Told when the checkpoint belongs to another stream and the projection is rebuilt. */
  readonly onRebuild?: (reason: string) => void;
  /** Told each time the projection's rows on `stream` have reached `seq` (what waiting pulls wake on). */
  readonly onAdvance?: (stream: string, seq: number) => void;
}

export interface LiveProjection {
  /** Resolves once the projection's checkpoint on `stream` has reached `seq`. */
  waitFor(stream: string, seq: number): Promise<void>;
  stop(): Promise<void>;
}

type Flush = "ok" | "gap";

/**
 * Follows the projector's streams from their checkpoints and applies batches as they arrive:
 * a batch is flushed when it is full or when the stream has nothing more for now. Each flush is
 * one transaction that re-reads the checkpoint under the projection's lock, so a rebuild that ran
 * meanwhile (and moved the checkpoint) is noticed: the follower restarts from the new position.
 */
export function startLiveProjection(projector: Projector, opts: LiveProjectionOptions): LiveProjection {
  const abort = new AbortController();
  const batchSize = opts.batchSize ?? 1000;
  const log = opts.log ?? consoleProjectionLog;
  const reached = new Map<string, number>();
  const waiters: { stream: string; seq: number; resolve: () => void }[] = [];

  function advance(stream: string, seq: number) {
    reached.set(stream, seq);
    opts.onAdvance?.(stream, seq);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (w.stream === stream && w.seq <= seq) {
        waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  async function flushOnce(stream: string, batch: RawCommit[], careful: boolean): Promise<Flush> {
    const db = await opts.pool.connect();
    try {
      await db.query("BEGIN");
      await lockProjection(db, projector.name);
      const checkpoint = await readCheckpoint(db, projector.name, stream, true);
      const fresh = batch.filter((c) => c.seq > checkpoint);
      if (fresh.length > 0 && fresh[0]!.seq !== checkpoint + 1) {
        await db.query("ROLLBACK");
        return "gap";
      }
      await projectBatch(db, projector, { careful }, stream, fresh, log, opts.verifier);
      // Rows and checkpoint are written, not committed: a crash here must lose and double nothing.
      if (fresh.length > 0) crashPoint(`projection:${projector.name}`);
      await db.query("COMMIT");
      advance(stream, Math.max(checkpoint, batch.at(-1)!.seq));
      return "ok";
    } catch (err) {
      await db.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      db.release();
    }
  }

  // Event ids are assumed new; a batch that meets one applied before is redone carefully.
  async function flush(stream: string, batch: RawCommit[]): Promise<Flush> {
    try {
      return await flushOnce(stream, batch, false);
    } catch (err) {
      if (!(err instanceof DuplicateEventError)) throw err;
      return flushOnce(stream, batch, true);
    }
  }

  async function follow(stream: string): Promise<void> {
    while (!abort.signal.aborted) {
      try {
        const checkpoint = await readCheckpoint(opts.pool, projector.name, stream);
        advance(stream, Math.max(reached.get(stream) ?? 0, checkpoint));
        let batch: RawCommit[] = [];
        for await (const commit of opts.store.follow(stream, { fromSeq: checkpoint + 1, signal: abort.signal })) {
          batch.push(commit);
          if (batch.length < batchSize && commit.pending !== 0) continue;
          const outcome = await flush(stream, batch);
          batch = [];
          if (outcome === "gap") break;
        }
      } catch (err) {
        if (abort.signal.aborted) return;
        opts.onError?.(err);
        await sleep(500, undefined, { signal: abort.signal }).catch(() => undefined);
      }
    }
  }

  // A checkpoint counts positions in one particular stream. If the stream was created again, or
  // the database was built from another NATS store, its numbers mean nothing here: rebuild.
  async function reconcile(): Promise<void> {
    for (const stream of projector.streams) {
      const state = await opts.store.streamState(stream);
      const row = await readCheckpointRow(opts.pool, projector.name, stream);
      if (row && !checkpointMatches(row, state)) {
        opts.onRebuild?.(
          `${projector.name}: checkpoint ${stream}#${row.lastSeq} (stream created ${row.streamCreated ?? "?"}) does not match ` +
            `the stream (created ${state.created}, last sequence ${state.lastSeq}); rebuilding`,
        );
        await rebuildProjection(projector, { ...opts, batchSize: undefined });
        return;
      }
      if (!row || row.streamCreated === null) await stampCheckpoint(opts.pool, projector.name, stream, state.created);
    }
  }

  const running = (async () => {
    for (;;) {
      try {
        await reconcile();
        break;
      } catch (err) {
        if (abort.signal.aborted) return;
        opts.onError?.(err);
        await sleep(500, undefined, { signal: abort.signal }).catch(() => undefined);
      }
    }
    await Promise.all(projector.streams.map(follow));
  })();

  return {
    waitFor(stream, seq) {
      if ((reached.get(stream) ?? 0) >= seq) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ stream, seq, resolve }));
    },
    async stop() {
      abort.abort();
      await running;
    },
  };
}
