import { parentPort } from "node:worker_threads";

/** What a thread module does with one batch; its results come back in the order of its items. */
export type BatchHandler<I, O> = (items: I[]) => O[] | Promise<O[]>;

/** Run in a thread module started by workerPool(): answers the pool's batches with `handle`. */
export function serveBatches<I, O>(handle: BatchHandler<I, O>): void {
  const port = parentPort;
  if (!port) throw new Error("serveBatches() runs in a worker thread started by workerPool()");
  port.on("message", ({ job, items }: { job: number; items: I[] }) => {
    Promise.resolve()
      .then(() => handle(items))
      .then(
        (results) => port.postMessage({ job, results }),
        (err: unknown) => port.postMessage({ job, error: String((err instanceof Error && err.stack) || err) }),
      );
  });
}
