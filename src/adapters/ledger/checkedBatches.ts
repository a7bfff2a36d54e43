import type { RawCommit } from "../nats/eventStore.js";
import type { CheckedEvents, CommitChecker } from "./commitChecker.js";

/** What is done with each batch of commits: made ready as read, checked on worker threads, then taken in order. */
export interface BatchSteps<T, R> {
  readonly prepare: (commit: RawCommit) => T;
  readonly check: (batch: T[]) => Promise<R>;
  /** Returns false to stop. */
  readonly take: (batch: T[], checked: R) => boolean | Promise<boolean>;
}

/**
 * Reads commits and sends them to be checked in batches as they come, while earlier batches are
 * checked on the worker threads and taken here in stream order: reading, checking and following
 * the chain overlap. A batch is sent when full or when the reader is caught up (a live follower
 * sees each new message at once). At most `inFlight` batches wait. Resolves true when the
 * commits ran out, false when `take` stopped.
 */
export async function checkedInBatches<T, R>(commits: AsyncIterable<RawCommit>, steps: BatchSteps<T, R>, opts: { batchSize?: number; inFlight?: number } = {}): Promise<boolean> {
  // Shallow on purpose: what waits here long enough to live through two young-generation
  // collections is copied to the old one, and the worker threads need only a few jobs queued.
  const size = opts.batchSize ?? 256;
  const inFlight = opts.inFlight ?? 4;
  let stopped = false;
  let failure: unknown;
  let last: Promise<void> = Promise.resolve();
  const waiting: Promise<void>[] = [];
  let batch: T[] = [];

  const send = () => {
    const items = batch;
    batch = [];
    const checked = steps.check(items);
    checked.catch(() => undefined); // the chain below reports it
    last = last
      .then(async () => {
        if (stopped) return;
        if (!(await steps.take(items, await checked))) stopped = true;
      })
      .catch((err: unknown) => {
        failure ??= err;
        stopped = true;
      });
    waiting.push(last);
  };

  for await (const commit of commits) {
    batch.push(steps.prepare(commit));
    if (batch.length >= size || commit.pending === 0) send();
    while (waiting.length >= inFlight) await waiting.shift();
    if (stopped) break;
  }
  if (batch.length > 0 && !stopped) send();
  await last;
  if (failure !== undefined) throw failure;
  return !stopped;
}

/** The steps for ledger messages: held as bytes while they wait, checked by `checker`, taken by `take`. */
export function ledgerSteps(checker: CommitChecker, take: BatchSteps<RawCommit, CheckedEvents>["take"]): BatchSteps<RawCommit, CheckedEvents> {
  return {
    prepare: (commit) => commit,
    check: (batch) => checker.check(batch.map((c) => c.data)),
    take,
  };
}
