import { Worker } from "node:worker_threads";
import type { BatchHandler } from "./serveBatches.js";

/**
 * Worker threads that each run one thread module's `handle(items) -> results` on batches (the
 * module calls serveBatches(handle)). Each batch goes to the worker with the least work queued.
 */
export interface WorkerPool<I, O> {
  run(items: readonly I[]): Promise<O[]>;
  close(): Promise<void>;
}

type ItemOf<H> = H extends BatchHandler<infer I, unknown> ? I : never;
type ResultOf<H> = H extends BatchHandler<never, infer O> ? O : never;

/**
 * `module` names the thread module as built, `new URL("./x.js", import.meta.url)`, and `H` is
 * the type of the handler it serves, so both ends of the messages are type-checked.
 */
export function workerPool<H extends BatchHandler<never, unknown>>(module: URL, workerData: unknown, threads: number): WorkerPool<ItemOf<H>, ResultOf<H>> {
  type I = ItemOf<H>;
  type O = ResultOf<H>;
  type Job = { resolve: (r: O[]) => void; reject: (e: Error) => void; size: number };
  type Slot = { worker: Worker; queued: number };
  const jobs = new Map<number, Job>();
  let nextJob = 0;
  let closed = false;
  let broken: Error | undefined;
  // A thread that fails (its module did not load, it threw outside a batch) or exits fails the
  // pool: every batch waiting and every later one is refused with the reason, not left waiting.
  const fail = (err: Error) => {
    broken ??= err;
    for (const [id, j] of jobs) {
      jobs.delete(id);
      j.reject(err);
    }
  };
  const slots: Slot[] = Array.from({ length: Math.max(1, threads) }, () => {
    const worker = startThread(module, workerData);
    worker.unref();
    return { worker, queued: 0 };
  });
  for (const slot of slots) {
    slot.worker.on("message", ({ job, results, error }: { job: number; results?: O[]; error?: string }) => {
      const j = jobs.get(job);
      if (!j) return;
      jobs.delete(job);
      slot.queued -= j.size;
      if (error !== undefined) j.reject(new Error(`worker failed: ${error}`));
      else j.resolve(results!);
    });
    slot.worker.on("error", fail);
    slot.worker.on("exit", (code) => {
      if (!closed) fail(new Error(`a worker thread of ${module.pathname} exited (code ${code})`));
    });
  }
  return {
    run(items: readonly I[]) {
      if (closed) return Promise.reject(new Error("worker pool is closed"));
      if (broken) return Promise.reject(broken);
      if (items.length === 0) return Promise.resolve([]);
      const slot = slots.reduce((a, b) => (b.queued < a.queued ? b : a));
      const job = nextJob++;
      slot.queued += items.length;
      return new Promise<O[]>((resolve, reject) => {
        jobs.set(job, { resolve, reject, size: items.length });
        slot.worker.postMessage({ job, items });
      });
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}

/** This module, and with it every thread module, runs from its TypeScript source (vitest, tsx), not from dist/. */
const fromSource = import.meta.url.endsWith(".ts");

function startThread(module: URL, workerData: unknown): Worker {
  if (!fromSource) return new Worker(module, { workerData });
  // From source the thread module is the .ts beside this one, loaded through tsx. A loader given
  // to a worker in execArgv does not load the worker's entry module (tsx issue #354, Node issue
  // #47747), so the worker registers tsx itself before it imports the module.
  const source = new URL(module.href.replace(/\.js$/, ".ts"));
  const tsx = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
