/**
 * Where the queue anchor's server takes its jobs from: BullMQ (what a user would pick for a job
 * queue) or a plain Redis list (the raw-ish limit of the same server over the same Redis). Each
 * keeps the jobs it has handed out and not seen completed, with the token that holds each: one
 * server, as one coordinator holds its own leases.
 */
import { randomUUID } from "node:crypto";
import { Queue, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import { z } from "zod";
import { JobData, type JobResult, type ResultRefusal } from "./queueContract.js";

export interface TakenJob {
  readonly jobId: string;
  readonly token: string;
  readonly data: JobData;
}

export interface JobSource {
  /** Queues every job before the clock starts. */
  fill(jobs: readonly JobData[]): Promise<void>;
  /** The next job, held under a new token; undefined when none is waiting. */
  take(): Promise<TakenJob | undefined>;
  complete(jobId: string, token: string, result: JobResult): Promise<{ ok: true } | { ok: false; reason: ResultRefusal; detail?: string }>;
  /** Jobs completed, and jobs still waiting or held, as Redis has them. */
  tally(): Promise<{ completed: number; left: number }>;
  close(): Promise<void>;
}

const FILL_CHUNK = 1_000;

const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/**
 * BullMQ's manual processing: a Worker that never runs on its own (`autorun: false`), a pull is
 * `getNextJob(token)` without blocking (the client is told "no work" and polls again, as
 * EdgeCoder's workers are), a result is `moveToCompleted(result, token)` without fetching the
 * next job. Completed jobs stay in Redis (no removeOnComplete), so they can be counted.
 */
export function bullmqSource(redis: Redis, prefix: string): JobSource {
  const queue = new Queue<JobData, JobResult>("jobs", { connection: redis, prefix });
  const worker = new Worker<JobData, JobResult>("jobs", null, { connection: redis, prefix, autorun: false });
  const held = new Map<string, Job<JobData, JobResult>>();
  return {
    async fill(jobs) {
      for (const chunk of chunks(jobs, FILL_CHUNK)) await queue.addBulk(chunk.map((data) => ({ name: "job", data })));
    },
    async take() {
      const token = randomUUID();
      const job = await worker.getNextJob(token, { block: false });
      if (!job?.id) return undefined;
      held.set(job.id, job);
      return { jobId: job.id, token, data: job.data };
    },
    async complete(jobId, token, result) {
      const job = held.get(jobId);
      if (!job) return { ok: false, reason: "unknown_job" };
      try {
        await job.moveToCompleted(result, token, false);
      } catch (err) {
        // BullMQ refuses a token that does not hold the job's lock, or a job no longer active.
        return { ok: false, reason: "not_the_holder", detail: err instanceof Error ? err.message : String(err) };
      }
      held.delete(jobId);
      return { ok: true };
    },
    async tally() {
      const c = await queue.getJobCounts("completed", "wait", "active", "delayed", "prioritized", "failed");
      return { completed: c.completed ?? 0, left: (c.wait ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) + (c.failed ?? 0) };
    },
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}

/** A job as the list holds it: its id and data, one JSON string (LREM removes it by value). */
const ListedJob = z.object({ id: z.string(), data: JobData });

/**
 * The same server over a plain Redis list: LPUSH queues, a pull is LMOVE from the jobs list to a
 * processing list (the job is held there, not lost, if the server dies), a result is LREM from
 * the processing list and INCR of a done counter when that removed it.
 */
export function redisListSource(redis: Redis, prefix: string): JobSource {
  const jobsKey = `${prefix}:list:jobs`;
  const processingKey = `${prefix}:list:processing`;
  const doneKey = `${prefix}:list:done`;
  const held = new Map<string, { token: string; element: string }>();
  return {
    async fill(jobs) {
      const listed = jobs.map((data, i) => JSON.stringify({ id: `job-${i + 1}`, data }));
      for (const chunk of chunks(listed, FILL_CHUNK)) await redis.lpush(jobsKey, ...chunk);
    },
    async take() {
      const element = await redis.lmove(jobsKey, processingKey, "RIGHT", "LEFT");
      if (element === null) return undefined;
      const job = ListedJob.parse(JSON.parse(element));
      const token = randomUUID();
      held.set(job.id, { token, element });
      return { jobId: job.id, token, data: job.data };
    },
    async complete(jobId, token) {
      const entry = held.get(jobId);
      if (!entry) return { ok: false, reason: "unknown_job" };
      if (entry.token !== token) return { ok: false, reason: "not_the_holder" };
      if ((await redis.lrem(processingKey, 1, entry.element)) !== 1) return { ok: false, reason: "not_active" };
      await redis.incr(doneKey);
      held.delete(jobId);
      return { ok: true };
    },
    async tally() {
      const [done, waiting, processing] = await Promise.all([redis.get(doneKey), redis.llen(jobsKey), redis.llen(processingKey)]);
      return { completed: Number(done ?? 0), left: waiting + processing };
    },
    async close() {},
  };
}
