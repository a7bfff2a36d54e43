import { Worker } from "node:worker_threads";

/**
 * Worker threads that each run `handle(items) -> results` on batches. The source is plain
 * CommonJS text evaluated in the worker, so the same pool runs from src/ (under tsx or vitest)
 * and from dist/; it must define `async function handle(items, workerData)` and may load npm
 * packages with `await import(url)`. Each batch goes to the worker with the least work queued.
 */
export interface WorkerPool<I, O> {
  run(items: readonly I[]): Promise<O[]>;
  close(): Promise<void>;
}

const harness = (handlerSource: string) => `
const { parentPort, workerData } = require("node:worker_threads");
${handlerSource}
parentPort.on("message", ({ job, items }) => {
  Promise.resolve(handle(items, workerData)).then(
    (results) => parentPort.postMessage({ job, results }),
    (err) => parentPort.postMessage({ job, error: String(err && err.stack || err) }),
  );
});
`;

export function workerPool<I, O>(handlerSource: string, workerData: unknown, threads: number): WorkerPool<I, O> {
  type Job = { resolve: (r: O[]) => void; reject: (e: Error) => void; size: number; slot: Slot };
  type Slot = { worker: Worker; queued: number };
  const jobs = new Map<number, Job>();
  let nextJob = 0;
  let closed = false;
  const slots: Slot[] = Array.from({ length: Math.max(1, threads) }, () => {
    const worker = new Worker(harness(handlerSource), { eval: true, workerData });
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
    slot.worker.on("error", (err) => {
      for (const [id, j] of jobs) {
        if (j.slot !== slot) continue;
        jobs.delete(id);
        j.reject(err);
      }
    });
  }
  return {
    run(items) {
      if (closed) return Promise.reject(new Error("worker pool is closed"));
      if (items.length === 0) return Promise.resolve([]);
      const slot = slots.reduce((a, b) => (b.queued < a.queued ? b : a));
      const job = nextJob++;
      slot.queued += items.length;
      return new Promise<O[]>((resolve, reject) => {
        jobs.set(job, { resolve, reject, size: items.length, slot });
        slot.worker.postMessage({ job, items });
      });
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
