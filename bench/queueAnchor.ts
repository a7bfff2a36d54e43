/**
 * The anchor the gateway is measured against: what a user would pick instead of EdgeCoder's
 * queue. BullMQ on the machine's Redis behind a small Fastify server, and the same server over a
 * plain Redis list (the raw-ish limit), each worked off by 50 keep-alive HTTP clients, beside
 * GET /health of the same server with the same clients (the raw HTTP limit).
 *
 * As in the gateway bench, the server runs on the bench's main thread and the clients on a worker
 * thread of their own. Redis is the machine's (127.0.0.1:6379, database 15; REDIS_URL overrides):
 * when none answers, the part says so in one line and the run goes on. Every key it writes is
 * under a prefix unique to the run, and deleted at the end.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import { z } from "zod";
import type { HealthRun } from "./httpLoops.js";
import { bullmqSource, redisListSource, type JobSource } from "./jobSources.js";
import { anchorServer } from "./queueAnchorServer.js";
import { recordQueueAnchor } from "./queueAnchorFigure.js";
import type { JobsRun, QueueClientsData, QueueClientsRequest } from "./queueClients.js";
import type { JobData } from "./queueContract.js";
import { report, round } from "./support.js";
import { askingThread } from "./thread.js";

export interface QueueBenchOptions {
  /** Jobs queued before the clock starts, in each of the two runs. */
  readonly jobs: number;
  readonly clients: number;
  /** A client told "no work" waits this long before it pulls again (the gateway bench's pause). */
  readonly noWorkPauseMs: number;
  readonly healthMs: number;
}

const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15";

/** The Redis URL without its password, for the report. */
const shown = (url: string) => {
  const u = new URL(url);
  u.password = "";
  return u.toString();
};

/** A connection to Redis, or why there is none: one try, within a second. */
async function reachRedis(url: string): Promise<{ redis: Redis } | { reason: string }> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  // The socket's error says why (ECONNREFUSED ...); connect() only rejects with "Connection is closed".
  let socketError: string | undefined;
  probe.on("error", (err: Error) => {
    socketError ??= err.message;
  });
  try {
    await probe.connect();
    await probe.ping();
    await probe.quit();
    return { redis: new Redis(url, { maxRetriesPerRequest: null }) };
  } catch (err) {
    probe.disconnect();
    return { reason: socketError ?? (err instanceof Error ? err.message : String(err)) };
  }
}

/** Deletes every key under `prefix`. */
async function removeKeys(redis: Redis, prefix: string): Promise<number> {
  let removed = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1_000);
    if (keys.length > 0) removed += await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== "0");
  return removed;
}

/** Redis's own CPU time so far (user + system), from INFO: where it runs is not this process. */
async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info("cpu");
  const seconds = (field: string) => Number(new RegExp(`^${field}:([0-9.]+)`, "m").exec(info)?.[1] ?? NaN);
  return (seconds("used_cpu_user") + seconds("used_cpu_sys")) * 1000;
}

interface SourceRun {
  readonly health: HealthRun;
  readonly run: JobsRun;
  readonly completedInRedis: number;
  /** The share of the cycle the server's event loop (this thread's) was busy. */
  readonly serverLoopBusy: number;
  readonly redisCpuMsPerJob: number;
  readonly loadAvgAtStart: number;
}

/** One source behind the server: the health baseline, the jobs queued, then worked off; every job must complete exactly once. */
async function runOn(source: JobSource, redis: Redis, opts: QueueBenchOptions): Promise<SourceRun> {
  const loadAvgAtStart = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
  const server = await anchorServer(source);
  const clients = askingThread<QueueClientsRequest>(new URL("./queueClients.js", import.meta.url), { url: server.url, clients: opts.clients } satisfies QueueClientsData);
  try {
    const health = await clients.ask<HealthRun>({ kind: "health", ms: opts.healthMs });
    await source.fill(Array.from({ length: opts.jobs }, (_, i): JobData => ({ input: `print the number ${i}`, language: "python" })));
    const [busyBefore, redisCpuBefore] = [performance.eventLoopUtilization(), await redisCpuMs(redis)];
    const run = await clients.ask<JobsRun>({ kind: "cycle", jobs: opts.jobs, noWorkPauseMs: opts.noWorkPauseMs, deadlineMs: 120_000 });
    const serverLoopBusy = performance.eventLoopUtilization(busyBefore).utilization;
    const redisCpuMsPerJob = ((await redisCpuMs(redis)) - redisCpuBefore) / opts.jobs;
    const tally = await source.tally();
    const distinct = new Set(run.completedIds).size;
    if (run.completedIds.length !== opts.jobs || distinct !== opts.jobs || tally.completed !== opts.jobs || tally.left !== 0)
      throw new Error(
        `not every job completed exactly once: ${JSON.stringify({ jobs: opts.jobs, accepted: run.completedIds.length, distinct, ...tally, errors: run.errors.slice(0, 5) })}`,
      );
    return { health, run, completedInRedis: tally.completed, serverLoopBusy, redisCpuMsPerJob, loadAvgAtStart };
  } finally {
    await clients.close();
    await server.close();
    await source.close();
  }
}

const SOURCES = {
  bullmq: {
    make: bullmqSource,
    queue: "BullMQ (addBulk beforehand); /pull = Worker(autorun: false).getNextJob(token, { block: false }), /result = job.moveToCompleted(result, token, false)",
  },
  redis_list: {
    make: redisListSource,
    queue: "a plain Redis list (LPUSH beforehand); /pull = LMOVE jobs -> processing, /result = LREM processing + INCR done",
  },
} as const;

export async function queueBench(opts: QueueBenchOptions): Promise<void> {
  const given = z.url().safeParse(process.env.REDIS_URL ?? DEFAULT_REDIS_URL);
  if (!given.success) throw new Error(`REDIS_URL is not a URL: ${z.prettifyError(given.error)}`);
  const url = given.data;
  const reached = await reachRedis(url);
  if ("reason" in reached) {
    const reason = `no Redis answered at ${shown(url)} (${reached.reason}); start one there or set REDIS_URL`;
    recordQueueAnchor({ kind: "skipped", reason });
    console.log(JSON.stringify({ name: "queue", skipped: `${reason}: the BullMQ and Redis-list figures are not measured` }));
    return;
  }
  const { redis } = reached;
  const prefix = `ec-bench-${randomUUID().slice(0, 8)}`;
  try {
    for (const [name, { make, queue }] of Object.entries(SOURCES)) {
      const { health, run, completedInRedis, serverLoopBusy, redisCpuMsPerJob, loadAvgAtStart } = await runOn(make(redis, prefix), redis, opts);
      const rate = opts.jobs / (run.ms / 1000);
      if (name === "bullmq") recordQueueAnchor({ kind: "measured", jobsPerS: rate, clients: opts.clients });
      const about = {
        queue,
        server: "Fastify with zod route schemas on the bench's main thread; the clients on a worker thread",
        clients: `${opts.clients} keep-alive HTTP loops (node fetch): pull, answer at once, post the result`,
        jobs: opts.jobs,
        noWorkPauseMs: opts.noWorkPauseMs,
        redis: `${shown(url)}, keys under ${prefix}:`,
      };
      report(`queue_${name}_jobs_per_s`, rate, "jobs/s", health.requests / (health.ms / 1000), {
        baselineIs: "GET /health round trips/s, same clients, same server (a job takes 2 round trips)",
        ...about,
        wallMs: round(run.ms),
        pulls: run.allPulls.count,
        noWorkPulls: run.noWorkPulls,
        completedInRedis,
        distinctJobsCompleted: new Set(run.completedIds).size,
        // Where a job's time goes on the shared cores: the server's loop, the clients' loop, Redis.
        serverLoopBusy: round(serverLoopBusy, 3),
        clientsLoopBusy: round(run.clientsLoopBusy, 3),
        redisCpuMsPerJob: round(redisCpuMsPerJob, 3),
        loadAvgAtStart,
      });
      const latency = { baselineIs: "the same percentile of GET /health round trips", ...about, pulls: run.allPulls.count };
      report(`queue_${name}_pull_p50_ms`, run.allPulls.p50Ms, "ms", health.latency.p50Ms, { ...latency, assignedP50Ms: round(run.assignedPulls.p50Ms) });
      report(`queue_${name}_pull_p99_ms`, run.allPulls.p99Ms, "ms", health.latency.p99Ms, { ...latency, assignedP99Ms: round(run.assignedPulls.p99Ms) });
    }
  } finally {
    await removeKeys(redis, prefix);
    await redis.quit();
  }
}
