import type { RawCommit } from "../nats/eventStore.js";
import type { CheckedEvents, CommitChecker } from "./commitChecker.js";

/** A commit with its text, decoded once. */
export interface ReadCommit {
  readonly commit: RawCommit;
  readonly text: string;
}

const decoder = new TextDecoder();

/**
 * Reads commits and sends them to the checker in batches as they come, while earlier batches are
 * checked on the worker threads and taken here in stream order: reading, checking and following
 * the chain overlap. A batch is sent when full or when the reader is caught up (a live follower
 * sees each new message at once). `take` returns false to stop; at most `inFlight` batches wait.
 * Resolves true when the commits ran out, false when `take` stopped.
 */
export async function checkedInBatches(
  commits: AsyncIterable<RawCommit>,
  checker: CommitChecker,
  take: (batch: ReadCommit[], checked: CheckedEvents) => boolean | Promise<boolean>,
  opts: { batchSize?: number; inFlight?: number } = {},
): Promise<boolean> {
  const size = opts.batchSize ?? 512;
  const inFlight = opts.inFlight ?? 4;
  let stopped = false;
  let failure: unknown;
  let last: Promise<void> = Promise.resolve();
  const waiting: Promise<void>[] = [];
  let batch: ReadCommit[] = [];

  const send = () => {
    const items = batch;
    batch = [];
    const checked = checker.check(items.map((i) => i.text));
    checked.catch(() => undefined); // the chain below reports it
    last = last
      .then(async () => {
        if (stopped) return;
        if (!(await take(items, await checked))) stopped = true;
      })
      .catch((err: unknown) => {
        failure ??= err;
        stopped = true;
      });
    waiting.push(last);
  };

  for await (const commit of commits) {
    batch.push({ commit, text: decoder.decode(commit.data) });
    if (batch.length >= size || commit.pending === 0) send();
    while (waiting.length >= inFlight) await waiting.shift();
    if (stopped) break;
  }
  if (batch.length > 0 && !stopped) send();
  await last;
  if (failure !== undefined) throw failure;
  return !stopped;
}
