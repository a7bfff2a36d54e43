import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { connectNats } from "../src/adapters/nats/connection.js";
import { createEventStore } from "../src/adapters/nats/eventStore.js";
import { nodeConfigFrom } from "../src/node/config.js";
import { startNode } from "../src/node/startNode.js";
import { startFakeOllama } from "../test/support/fakeOllama.js";
import { eventually } from "../test/support/node.js";
import { simulatedWorkers } from "./gateway.js";
import type { WaitRun } from "./simulatedWorkers.js";
import { benchDatabase, benchNats, percentile, report, round } from "./support.js";

const MODEL = "qwen2.5-coder:1.5b";

interface WaitingOptions {
  readonly workers: number;
  /** How long the idle workers are watched before any work is queued. */
  readonly idleMs: number;
  /** Tasks submitted one at a time, each waited for, to time how soon a waiting worker gets its subtask. */
  readonly tasks: number;
  /** A worker without long polling pauses this long after a no_work (the worker's idle backoff at its longest). */
  readonly pollPauseMs: number;
}

/**
 * Idle workers and how soon work reaches them: `workers` signed simulated workers wait on a node
 * with nothing queued, long polling (POST /pull with waitMs) and then, as the baseline in the
 * same run, polling without it (a no_work answered at once, then the worker's longest idle
 * pause). For each: the node's event loop utilization and its heap while they wait (the node runs
 * on the bench's main thread; the clients on a thread of their own), then, one task at a time,
 * the time from a subtask's queued event to a waiting worker being handed it.
 */
export async function waitingWorkersBench(opts: WaitingOptions): Promise<void> {
  const [nats, db, model] = await Promise.all([benchNats(), benchDatabase(), startFakeOllama([MODEL])]);
  model.answer = (prompt) => (prompt.includes("JSON array") ? JSON.stringify([{ input: "print 1", language: "python" }]) : "```python\nprint(1)\n```");
  const dataDir = await mkdtemp(join(tmpdir(), "ec-bench-waiting-"));
  const nc = await connectNats(nats.server.url, "bench-waiting");
  const config = nodeConfigFrom(
    {
      dataDir,
      natsUrl: nats.server.url,
      databaseUrl: db.url,
      coordinatorPort: 0,
      inferencePort: 0,
      controlPlanePort: 0,
      ollamaHost: model.url,
      model: MODEL,
      worker: false,
      autoApprove: "all",
      leaseMs: 3_600_000,
      registerPerAddress: 100_000,
      // A waiting worker's heartbeats come with its pulls; the reaper must not take it for gone.
      heartbeatMs: 60_000,
    },
    {},
  );
  const node = await startNode(config, () => undefined);
  const workers = simulatedWorkers({ coordinatorUrl: node.coordinatorUrl, workers: opts.workers, model: MODEL });
  try {
    await workers.ask<string[]>({ kind: "register" });
    await eventually("every worker approved in the projection", async () =>
      (await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM agents WHERE status = 'approved'")).rows[0]!.n >= opts.workers ? true : undefined,
    120_000);
    const store = await createEventStore(nc);

    for (const mode of [
      { name: "long_poll", waitMs: 20_000, noWorkPauseMs: 0 },
      { name: "polling", waitMs: 0, noWorkPauseMs: opts.pollPauseMs },
    ]) {
      const watchMs = opts.idleMs + opts.tasks * 3_000 + 5_000;
      const running = workers.ask<WaitRun>({ kind: "wait", ms: watchMs, waitMs: mode.waitMs, noWorkPauseMs: mode.noWorkPauseMs });
      // Let every worker's first pull arrive, then watch the node while nothing is queued.
      await new Promise((r) => setTimeout(r, 1_500));
      const heapBefore = process.memoryUsage().heapUsed;
      const elu0 = performance.eventLoopUtilization();
      const cpu0 = process.cpuUsage();
      await new Promise((r) => setTimeout(r, opts.idleMs));
      const elu = performance.eventLoopUtilization(elu0);
      const cpu = process.cpuUsage(cpu0);
      const heapWhileWaiting = process.memoryUsage().heapUsed;

      // One task at a time: each plan is one subtask; its queued event's time against the hand-out.
      const queuedAt = new Map<string, number>();
      for (let i = 0; i < opts.tasks; i++) {
        const res = await fetch(new URL("/submit", node.coordinatorUrl), {
          method: "POST",
          headers: { authorization: `Bearer ${node.adminToken}`, "content-type": "application/json" },
          body: JSON.stringify({ prompt: `print ${i}`, language: "python" }),
        });
        const { taskId } = (await res.json()) as { taskId: string };
        const subtaskId = `${taskId}-0`;
        await eventually("the subtask queued", async () => {
          const { commits } = await store.readAggregate(`ec.tasks.subtask.${subtaskId}`);
          const first = commits[0] && (JSON.parse(new TextDecoder().decode(commits[0].data)) as { type: string; time: string }[])[0];
          if (first?.type !== "subtask.queued") return undefined;
          queuedAt.set(subtaskId, Date.parse(first.time));
          return true;
        }, 30_000);
        await eventually("the subtask handed out", async () => ((await db.pool.query("SELECT 1 FROM subtasks WHERE subtask_id = $1 AND status <> 'queued'", [subtaskId])).rowCount ? true : undefined), 30_000);
      }
      const run = await running;
      const delays = run.handed.filter((h) => queuedAt.has(h.subtaskId)).map((h) => h.at - queuedAt.get(h.subtaskId)!);
      const about = { workers: opts.workers, mode: mode.name, waitMs: mode.waitMs, noWorkPauseMs: mode.noWorkPauseMs, pulls: run.pulls, errors: run.errors.slice(0, 3) };
      report(`waiting_workers_node_event_loop_busy_${mode.name}`, round(elu.utilization * 100, 2), "%", 100, {
        ...about,
        baselineIs: "a node event loop busy all the time",
        idleMs: opts.idleMs,
        processCpuMsPerS: round((cpu.user + cpu.system) / 1000 / (opts.idleMs / 1000), 1),
        processCpuNote: "the whole bench process: the node and the simulated workers' thread",
        pullsPerS: round(run.pulls / (watchMs / 1000), 1),
      });
      report(`waiting_workers_node_heap_mib_${mode.name}`, round((heapWhileWaiting - heapBefore) / 2 ** 20 + heapBefore / 2 ** 20, 1), "MiB", round(heapBefore / 2 ** 20, 1), { ...about, baselineIs: "the node's heap as the watch began" });
      report(`waiting_worker_handed_work_p50_ms_${mode.name}`, round(percentile(delays, 50), 1), "ms", 50, { ...about, baselineIs: "the 50 ms target", tasks: delays.length, p99Ms: round(percentile(delays, 99), 1) });
    }
  } finally {
    await workers.close();
    await node.stop();
    await nc.close();
    await Promise.all([db.drop(), nats.close(), model.close()]);
    await rm(dataDir, { recursive: true, force: true });
  }
}
