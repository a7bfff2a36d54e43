import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type pg from "pg";
import { connectNats } from "../src/adapters/nats/connection.js";
import { nodeConfigFrom } from "../src/node/config.js";
import { startNode, type NodeInternals, type RunningNode } from "../src/node/startNode.js";
import { startFakeOllama } from "../test/support/fakeOllama.js";
import { eventually } from "../test/support/node.js";
import { creditWriter, signedAppendRate } from "./appends.js";
import type { HealthRun } from "./httpLoops.js";
import type { CycleRun, SimulatedWorkersData, SimulatedWorkersRequest } from "./simulatedWorkers.js";
import { ratioToQueueAnchor } from "./queueAnchorFigure.js";
import { askingThread } from "./thread.js";
import { benchDatabase, benchNats, percentile, pooled, report, round } from "./support.js";
import { generatePrivateKeyPem, signerFromPrivateKeyPem } from "../src/adapters/crypto/ed25519.js";
import { inlineSealer } from "../src/adapters/crypto/signingPool.js";
import { commandHandler } from "../src/adapters/events/commandHandler.js";
import { createSandbox } from "../src/adapters/executor/sandbox.js";
import { createEventStore } from "../src/adapters/nats/eventStore.js";
import { checkClaim } from "../src/app/results/resultChecker.js";
import { agentDecider, agentSubject } from "../src/domain/agents/agent.js";
import { agentEvents } from "../src/domain/agents/agentEvents.js";
import { checkSubset } from "../src/adapters/executor/subsetCheck.js";

/** One cycle: `workers` simulated workers work off `tasks` tasks of `subtasksPerTask` subtasks each. */
export interface GatewayRound {
  readonly workers: number;
  readonly tasks: number;
  /** Added to the figures' names, e.g. "_1_worker"; empty for the headline round. */
  readonly suffix: string;
  /**
   * The workers come with an established record (ESTABLISHED_SEED passed checks each), so the
   * result check samples them at its floor rate; otherwise every result of theirs is checked.
   */
  readonly established: boolean;
}

/** Checks passed in a row that put an agent's sampling at the floor (10 / streak <= 5%). */
const ESTABLISHED_SEED = 200;

export interface GatewayBenchOptions {
  readonly rounds: readonly GatewayRound[];
  readonly subtasksPerTask: number;
  /** A simulated worker told "no_work" waits this long before it pulls again. */
  readonly noWorkPauseMs: number;
  readonly healthMs: number;
  /** The same as a round, on a node where tasks cost nothing and work earns nothing (no hold, no credit flow). */
  readonly unpaidRound?: GatewayRound;
}

const MODEL = "qwen2.5-coder:1.5b";

/** The suffix of the round run on a node where tasks cost nothing. */
export const UNPAID_SUFFIX = "_without_credits";

/** The simulated workers' thread, asked one thing at a time. */
export const simulatedWorkers = (data: SimulatedWorkersData) => askingThread<SimulatedWorkersRequest>(new URL("./simulatedWorkers.js", import.meta.url), data);

const commitsOn = async (nc: NatsConnection, stream: string) => (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;

const countWhere = async (pool: pg.Pool, table: "agents" | "subtasks" | "tasks", status: string) =>
  (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE status = $1`, [status])).rows[0]!.n;

interface RoundResult {
  readonly round: GatewayRound;
  readonly subtasks: number;
  readonly health: HealthRun;
  readonly run: CycleRun;
  readonly commitsInCycle: number;
  readonly commitsUntilTasksCompleted: number;
  readonly projectionLagMs: number;
  /** Other work on the machine shows here: the 1-minute load average when the round began. */
  readonly loadAvgAtStart: number;
  /** What one subtask's whole cycle cost the backbone: commits by stream, JetStream API calls, Postgres transactions and rows. */
  readonly perSubtask: Record<string, number>;
}

const BUDGET_STREAMS = ["EC_TASKS", "EC_CREDITS", "EC_LEDGER", "EC_AGENTS"] as const;

/** Counters of the backbone: messages per stream, the JetStream API calls of the account, and Postgres' counts for the database. */
async function budget(nc: NatsConnection, pool: pg.Pool): Promise<Record<string, number>> {
  const jsm = await jetstreamManager(nc);
  const out: Record<string, number> = {};
  for (const s of BUDGET_STREAMS) out[`${s}_commits`] = (await jsm.streams.info(s)).state.messages;
  out.jetstreamApiCalls = (await jsm.getAccountInfo()).api.total;
  const row = (
    await pool.query<{ xact_commit: string; tup_inserted: string; tup_updated: string; tup_deleted: string }>(
      "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = current_database()",
    )
  ).rows[0]!;
  out.pgTransactions = Number(row.xact_commit);
  out.pgRowsWritten = Number(row.tup_inserted) + Number(row.tup_updated) + Number(row.tup_deleted);
  return out;
}

function perSubtaskOf(before: Record<string, number>, after: Record<string, number>, subtasks: number): Record<string, number> {
  return Object.fromEntries(Object.keys(after).map((k) => [k, round((after[k]! - (before[k] ?? 0)) / subtasks, 2)]));
}

/**
 * Gives the agents a record of ESTABLISHED_SEED passed checks each, appended as the node's result
 * checker appends them (agent.resultChecked, signed by a key of the bench's), and waits for the
 * agents projection to show it: the node then samples their results at the floor rate.
 */
async function establish(nc: NatsConnection, pool: pg.Pool, agentIds: readonly string[]): Promise<void> {
  const store = await createEventStore(nc);
  const handle = commandHandler({ store, decider: agentDecider, registry: agentEvents, sealer: inlineSealer(signerFromPrivateKeyPem(generatePrivateKeyPem())) });
  const checks = agentIds.flatMap((agentId) => Array.from({ length: ESTABLISHED_SEED }, (_, i) => ({ agentId, i })));
  await pooled(checks, 32, ({ agentId, i }) =>
    handle(agentSubject(agentId), { kind: "recordCheck", subtaskId: `seed-${i}`, leaseId: `seed-${i}`, ok: true, now: new Date() }, { now: new Date() }),
  );
  await eventually("the agents' records in the projection", async () =>
    (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM agents WHERE agent_id = ANY($1) AND check_streak >= $2", [agentIds, ESTABLISHED_SEED])).rows[0]!.n ===
    agentIds.length
      ? true
      : undefined,
  60_000);
}

/** What one result check costs on this machine: the reported code run in the sandbox and compared, sequentially. */
async function oneCheckMs(runs: number): Promise<number[]> {
  const sandbox = await createSandbox({ mode: "bwrap", agentMode: "worker", sandboxRequired: true });
  const took: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const verdict = await checkClaim({ language: "python", timeoutMs: 5_000 }, { ok: true, code: "print(1)", output: "1\n" }, { sandbox, checkSubset });
    if (verdict.verdict !== "passed") throw new Error(`the check did not pass: ${JSON.stringify(verdict)}`);
    took.push(performance.now() - t0);
  }
  return took;
}

/**
 * One round on a running node: the health baseline with this round's clients, then they
 * register, the queue is filled through POST /submit and decomposed by the node, and once every
 * subtask is queued in the projection the clock starts and the workers work it off.
 */
async function gatewayRound(node: RunningNode, pool: pg.Pool, nc: NatsConnection, round: GatewayRound, opts: GatewayBenchOptions): Promise<RoundResult> {
  const subtasks = round.tasks * opts.subtasksPerTask;
  const loadAvgAtStart = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
  const workers = simulatedWorkers({ coordinatorUrl: node.coordinatorUrl, workers: round.workers, model: MODEL });
  try {
    const health = await workers.ask<HealthRun>({ kind: "health", ms: opts.healthMs });

    const approvedBefore = await countWhere(pool, "agents", "approved");
    const agentIds = await workers.ask<string[]>({ kind: "register" });
    await eventually("the simulated workers approved in the agents projection", async () =>
      (await countWhere(pool, "agents", "approved")) >= approvedBefore + round.workers ? true : undefined,
    );
    if (round.established) await establish(nc, pool, agentIds);

    const completedBefore = await countWhere(pool, "subtasks", "completed");
    const tasksBefore = await countWhere(pool, "tasks", "completed");
    await pooled(Array.from({ length: round.tasks }), 20, async () => {
      const res = await fetch(new URL("/submit", node.coordinatorUrl), {
        method: "POST",
        headers: { authorization: `Bearer ${node.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({ prompt: "print some numbers", language: "python" }),
      });
      if (res.status !== 202) throw new Error(`POST /submit: ${res.status} ${await res.text()}`);
    });
    await eventually(`${subtasks} subtasks queued in the projection`, async () => ((await countWhere(pool, "subtasks", "queued")) >= subtasks ? true : undefined), 120_000);

    const commitsBefore = await commitsOn(nc, "EC_TASKS");
    const budgetBefore = await budget(nc, pool);
    const run = await workers.ask<CycleRun>({ kind: "cycle", subtasks, noWorkPauseMs: opts.noWorkPauseMs, deadlineMs: 120_000 });
    const cycleEnded = performance.now();
    const commitsInCycle = (await commitsOn(nc, "EC_TASKS")) - commitsBefore;
    if (run.completed < subtasks) throw new Error(`only ${run.completed} of ${subtasks} subtasks completed: ${JSON.stringify({ ...run, errors: run.errors.slice(0, 5) })}`);
    await eventually(
      "every subtask completed in the projection",
      async () => ((await countWhere(pool, "subtasks", "completed")) >= completedBefore + subtasks ? true : undefined),
      60_000,
    );
    // With results held for checking, "completed" comes after the check: this lag includes it.
    const projectionLagMs = performance.now() - cycleEnded;
    // Behind the cycle the task flow reports each completion to its task and completes the task.
    await eventually("every task completed", async () => ((await countWhere(pool, "tasks", "completed")) >= tasksBefore + round.tasks ? true : undefined), 60_000);
    const commitsUntilTasksCompleted = (await commitsOn(nc, "EC_TASKS")) - commitsBefore;
    // What the flows behind the cycle (credits, the ledger) do for it lands a moment later.
    await new Promise((r) => setTimeout(r, 2_000));
    const perSubtask = perSubtaskOf(budgetBefore, await budget(nc, pool), subtasks);
    return { round, subtasks, health, run, commitsInCycle, commitsUntilTasksCompleted, projectionLagMs, loadAvgAtStart, perSubtask };
  } finally {
    await workers.close();
  }
}

/**
 * Subtasks per second through the coordinator's HTTP gateway, the full cycle (signed pull, the
 * assignment appended, signed result, the completion appended, and the task flow reporting to
 * the task behind it), with simulated workers whose code is trivial, against a real node started
 * in-process (no worker of its own) on a private nats-server and a fresh database.
 *
 * The queue is filled the way users fill it: tasks submitted through POST /submit, decomposed by
 * the node's own decomposer through its inference service, with an Ollama-protocol fake as the
 * model answering every plan with `subtasksPerTask` subtasks. The workers start once every
 * subtask is queued in the projection, so the clock measures the gateway, not decomposition.
 *
 * Raw limits in the same run: the same clients on GET /health of the same Fastify server (HTTP
 * round trips, no signing, no work), and signed, concurrency-checked appends on the same
 * nats-server at the workers' concurrency, measured after the node has stopped.
 */
/** A node as the bench starts it (no worker of its own, every agent approved), its rounds run, then stopped. */
async function roundsOnNode(
  on: { natsUrl: string; databaseUrl: string; pool: pg.Pool; nc: NatsConnection; modelUrl: string },
  rounds: readonly GatewayRound[],
  opts: GatewayBenchOptions,
  internals: NodeInternals,
): Promise<RoundResult[]> {
  const dataDir = await mkdtemp(join(tmpdir(), "ec-bench-node-"));
  const logs: string[] = [];
  const config = nodeConfigFrom(
    {
      dataDir,
      natsUrl: on.natsUrl,
      databaseUrl: on.databaseUrl,
      coordinatorPort: 0,
      inferencePort: 0,
      controlPlanePort: 0,
      ollamaHost: on.modelUrl,
      model: MODEL,
      worker: false,
      autoApprove: "all",
      leaseMs: 3_600_000,
      // 101 simulated workers register from this one address.
      registerPerAddress: 1_000,
    },
    {},
  );
  const node = await startNode(config, (line) => logs.push(line), undefined, internals);
  const results: RoundResult[] = [];
  try {
    for (const r of rounds) results.push(await gatewayRound(node, on.pool, on.nc, r, opts));
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\nnode log:\n${logs.slice(-20).join("\n")}`);
  } finally {
    await node.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  return results;
}

export async function gatewayBench(opts: GatewayBenchOptions): Promise<void> {
  const [nats, db, model] = await Promise.all([benchNats(), benchDatabase(), startFakeOllama([MODEL])]);
  const plan = JSON.stringify(Array.from({ length: opts.subtasksPerTask }, (_, i) => ({ input: `print the number ${i}`, language: "python" })));
  model.answer = (prompt) => (prompt.includes("JSON array") ? plan : "```python\nprint(1)\n```");
  const nc = await connectNats(nats.server.url, "bench-gateway");
  try {
    const results = await roundsOnNode({ natsUrl: nats.server.url, databaseUrl: db.url, pool: db.pool, nc, modelUrl: model.url }, opts.rounds, opts, {});
    // The headline round again on a node where tasks cost nothing: what the credits' work costs the cycle.
    if (opts.unpaidRound) {
      const [nats2, db2] = await Promise.all([benchNats(), benchDatabase()]);
      const nc2 = await connectNats(nats2.server.url, "bench-gateway-unpaid");
      try {
        results.push(...(await roundsOnNode({ natsUrl: nats2.server.url, databaseUrl: db2.url, pool: db2.pool, nc: nc2, modelUrl: model.url }, [opts.unpaidRound], opts, { unpaid: true })));
      } finally {
        await nc2.close();
        await Promise.all([db2.drop(), nats2.close()]);
      }
    }

    // The raw append limit on the same nats-server, with the node stopped so nothing else runs.
    const writer = await creditWriter(nc);
    const appendRates = new Map<number, number>();
    for (const { workers } of opts.rounds) {
      if (!appendRates.has(workers)) appendRates.set(workers, await signedAppendRate(writer, workers, Math.ceil(10_000 / workers)));
    }
    await writer.close();

    const unpaid = results.find((x) => x.round.suffix.endsWith(UNPAID_SUFFIX));
    const unpaidRate = unpaid && unpaid.subtasks / (unpaid.run.ms / 1000);
    for (const { round: r, subtasks, health, run, commitsInCycle, commitsUntilTasksCompleted, projectionLagMs, loadAvgAtStart, perSubtask } of results) {
      // Every result checked: a subtask counts once its check has completed it, so its time is in the rate.
      const seconds = (r.established ? run.ms : run.ms + projectionLagMs) / 1000;
      const cycle = {
        workers: r.workers,
        subtasks,
        queue: `POST /submit x${r.tasks}, decomposed by the node through a fake Ollama model into ${opts.subtasksPerTask} subtasks each; workers start once all are queued`,
        noWorkPauseMs: opts.noWorkPauseMs,
        resultChecks: r.established ? `established workers (${ESTABLISHED_SEED} checks passed each): sampled at the floor rate` : "every result checked before it counts",
      };
      report(`gateway_subtasks_per_s${r.suffix}`, subtasks / seconds, "subtasks/s", health.requests / (health.ms / 1000), {
        baselineIs: "GET /health round trips/s, same clients, same server (a subtask takes 2 signed round trips)",
        credits: r.suffix.endsWith(UNPAID_SUFFIX) ? "none: tasks hold nothing, no credit flow (the comparison's other side)" : "each task's hold at submission, every result paid to its worker's owner, the hold settled at the task's end",
        ...(r.suffix === "" && unpaidRate !== undefined ? { withoutCredits: round(unpaidRate), creditsShare: round(subtasks / seconds / unpaidRate, 3) } : {}),
        // The headline beside what a user would pick instead, measured by the queue part of this run.
        ...(r.suffix === "" ? ratioToQueueAnchor(subtasks / seconds) : {}),
        ...cycle,
        wallMs: round(run.ms),
        pulls: run.allPulls.count,
        unassignedPulls: run.unassigned,
        projectionCaughtUpAfterMs: round(projectionLagMs),
        perSubtask,
        loadAvgAtStart,
      });
      report(`gateway_task_commits_per_s${r.suffix}`, commitsInCycle / seconds, "commits/s", appendRates.get(r.workers)!, {
        baselineIs: `signed, concurrency-checked credit appends/s at concurrency ${r.workers}, same nats-server, node stopped`,
        commitsInCycle,
        commitsPerSubtaskUntilTasksCompleted: round(commitsUntilTasksCompleted / subtasks, 2),
        note: "commits on EC_TASKS (assignments, completions, the task flow's reports) appended during the cycle's wall time",
      });
      const latency = { baselineIs: "the same percentile of GET /health round trips", ...cycle };
      report(`gateway_pull_p50_ms${r.suffix}`, run.allPulls.p50Ms, "ms", health.latency.p50Ms, { ...latency, pulls: run.allPulls.count });
      report(`gateway_pull_p99_ms${r.suffix}`, run.allPulls.p99Ms, "ms", health.latency.p99Ms, { ...latency, pulls: run.allPulls.count });
      report(`gateway_pull_assigned_p50_ms${r.suffix}`, run.assignedPulls.p50Ms, "ms", health.latency.p50Ms, { ...latency, pulls: run.assignedPulls.count });
      report(`gateway_pull_assigned_p99_ms${r.suffix}`, run.assignedPulls.p99Ms, "ms", health.latency.p99Ms, { ...latency, pulls: run.assignedPulls.count });
    }
    // One check's cost beside the full cycle's time per subtask at the floor rate.
    const checks = await oneCheckMs(20);
    const floor = results.find((x) => x.round.established);
    if (floor) {
      const cycleMsPerSubtask = floor.run.ms / floor.subtasks;
      report("result_check_ms", percentile(checks, 50), "ms", cycleMsPerSubtask, {
        baselineIs: "the full cycle's wall time per subtask, 50 established workers (the ratio: one check as a share of it)",
        p99Ms: round(percentile(checks, 99)),
        check: "python print(1) run in bwrap under the subtask's limits and its stdout compared, 20 in a row on an idle node",
      });
    }
  } finally {
    await nc.close();
    await Promise.all([db.drop(), nats.close(), model.close()]);
  }
}
