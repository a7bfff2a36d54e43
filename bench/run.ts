/**
 * `npm run bench`: the node's figures, each printed as one JSON line beside the raw limit
 * measured in the same run. Never part of `npm test`. Parts can be picked by name:
 * `npm run bench -- gateway idle` (default: all of backbone, credits, queue, gateway, idle, waiting, audit).
 * `queue` runs before `gateway`: the gateway's rate is printed as a ratio of the queue's BullMQ rate.
 */
import { connectNats } from "../src/adapters/nats/connection.js";
import { applyStreams } from "../src/adapters/nats/streams.js";
import { creditWriter, rawPublishRate, signedAppendRate } from "./appends.js";
import { auditBench } from "./audit.js";
import { creditsBench } from "./credits.js";
import { gatewayBench, UNPAID_SUFFIX } from "./gateway.js";
import { waitingWorkersBench } from "./waitingWorkers.js";
import { idleNodeBench } from "./idleNode.js";
import { queueBench } from "./queueAnchor.js";
import { rawCopyRate, replayInChild } from "./rebuild.js";
import { benchDatabase, benchNats, report, reportFailure } from "./support.js";

const ACCOUNTS = 1000;
const HALF = 100_000;

/** Appends and rebuilds of the event-sourced backbone. */
async function backbone(): Promise<void> {
  const nats = await benchNats();
  const db = await benchDatabase();
  try {
    const nc = await connectNats(nats.server.url, "bench");
    await applyStreams(nc);

    const raw = await rawPublishRate(nc, HALF, ACCOUNTS);
    // One long-lived writer, as in a running node: its aggregate cache stays warm between rounds.
    const writer = await creditWriter(nc);
    const signed = await signedAppendRate(writer, ACCOUNTS, HALF / ACCOUNTS);
    report("signed_appends_per_s", signed, "appends/s", raw);

    // Rebuilds at 100k and 200k events. The first rebuild of a range verifies every signature
    // (cold); later ones skip the Ed25519 check for commits whose exact bytes were verified before.
    const cold100 = await replayInChild(nats.server.url, db.url);
    const warm100 = await replayInChild(nats.server.url, db.url);
    await signedAppendRate(writer, ACCOUNTS, HALF / ACCOUNTS);
    await writer.close();
    const copy200 = await rawCopyRate(nc, db.url);
    const cold200 = await replayInChild(nats.server.url, db.url);
    const warm200 = await replayInChild(nats.server.url, db.url);
    const rate = (s: { events: number; ms: number }) => s.events / (s.ms / 1000);
    report("rebuild_200k_events_per_s", rate(warm200), "events/s", copy200);
    report("rebuild_200k_cold_events_per_s", rate(cold200), "events/s", copy200);
    report("rebuild_100k_peak_rss", warm100.peakRssMiB, "MiB", cold100.peakRssMiB);
    report("rebuild_200k_peak_rss", warm200.peakRssMiB, "MiB", warm100.peakRssMiB);
    report("rebuild_200k_cold_peak_rss", cold200.peakRssMiB, "MiB", cold100.peakRssMiB);
    await nc.close();
  } finally {
    await db.drop();
    await nats.close();
  }
}

const parts: Record<string, () => Promise<void>> = {
  backbone,
  // Task-like credit cycles by 50 writers over 10,000 accounts, overdrafts among them, in turns
  // with the backbone's signed appends at the same concurrency on as many accounts.
  credits: () => creditsBench({ payers: 5_000, earners: 5_000, writers: 50, cyclesPerWriter: 200, rounds: 2, overdraftEvery: 10 }),
  // What a user would pick instead: BullMQ on the machine's Redis behind a small Fastify server,
  // and the same server over a plain Redis list, 50 HTTP clients on 5,000 jobs each.
  queue: () => queueBench({ jobs: 5_000, clients: 50, noWorkPauseMs: 20, healthMs: 3_000 }),
  // 50 workers on 300 subtasks, then one worker alone on 50 (what contention costs), then 50 new
  // workers on 100 subtasks, every result of theirs checked (what the check costs).
  gateway: () =>
    gatewayBench({
      // Established workers (the result check at its floor rate), then fresh ones (every result checked).
      rounds: [
        { workers: 50, tasks: 60, suffix: "", established: true },
        { workers: 1, tasks: 10, suffix: "_1_worker", established: true },
        { workers: 50, tasks: 20, suffix: "_all_checked", established: false },
      ],
      // The headline round once more on a node where tasks cost nothing: what the credits cost.
      unpaidRound: { workers: 50, tasks: 60, suffix: UNPAID_SUFFIX, established: true },
      subtasksPerTask: 5,
      noWorkPauseMs: 20,
      healthMs: 3_000,
    }),
  idle: () => idleNodeBench({ idleMs: 10_000 }),
  // 1,000 idle signed workers long polling, beside the same polling at the worker's longest idle pause.
  waiting: () => waitingWorkersBench({ workers: 1_000, idleMs: 10_000, tasks: 20, pollPauseMs: 2_000 }),
  // The auditor over a 200k-record ledger, beside one core's raw Ed25519 verify rate.
  audit: () => auditBench(200_000),
};

const picked = process.argv.slice(2);
const unknown = picked.filter((p) => !(p in parts));
if (unknown.length > 0) throw new Error(`unknown bench part(s) ${unknown.join(", ")}; the parts are ${Object.keys(parts).join(", ")}`);
for (const [name, run] of Object.entries(parts)) {
  if (picked.length > 0 && !picked.includes(name)) continue;
  // A part that fails says so in one line, and the others still run.
  await run().catch((err: unknown) => {
    reportFailure(name, err);
    process.exitCode = 1;
  });
}
