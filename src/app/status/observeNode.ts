import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type pg from "pg";
import { readModelCounts } from "../../projections/status/queries.js";
import { chainerConsumer, type Chainer } from "../../adapters/ledger/chainer.js";
import { chainedStreams } from "../../domain/contexts.js";
import { ledgerLags, projectionLags } from "../../adapters/metrics/lag.js";
import { isUnavailable, type ConsumerState, type LedgerState, type NodeObservations, type Part, type StreamSize, type Unavailable } from "../../adapters/metrics/observations.js";

export interface NodeObserverDeps {
  readonly nc: NatsConnection;
  readonly pool: pg.Pool;
  readonly projectors: readonly { readonly name: string; readonly streams: readonly string[] }[];
  readonly chainer?: Pick<Chainer, "head" | "latestCheckpoint">;
  /** How long each part may take before it counts as unavailable (default 2 s). */
  readonly timeoutMs?: number;
  /** How long one observation serves the next callers (default 1 s): a scrape reads each gauge, one observation feeds them all. */
  readonly maxAgeMs?: number;
}

const why = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** `work`, or why it failed or did not end within `ms`. */
async function within<T>(ms: number, what: string, work: () => Promise<T>): Promise<Part<T>> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Unavailable>((resolve) => (timer = setTimeout(() => resolve({ unavailable: `${what}: no answer within ${ms} ms` }), ms)));
  try {
    return await Promise.race([work().catch((err: unknown): Unavailable => ({ unavailable: `${what}: ${why(err)}` })), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads what the node's gauges and `edgecoder status` show: stream sizes and consumer states
 * from JetStream, counts and checkpoints from Postgres, the ledger's head from the chainer.
 * Each part is bounded in time and fails alone (Postgres down leaves the stream sizes). Callers
 * within `maxAgeMs` of an observation, or while one runs, share it: scrapes cost at most one
 * round of reads per interval, however many come.
 */
export function nodeObserver(deps: NodeObserverDeps): () => Promise<NodeObservations> {
  const ms = deps.timeoutMs ?? 2_000;
  const maxAgeMs = deps.maxAgeMs ?? 1_000;
  let cached: { until: number; value: Promise<NodeObservations> } | undefined;

  async function jetStream(): Promise<{ streams: StreamSize[]; consumers: ConsumerState[] }> {
    const jsm = await jetstreamManager(deps.nc, { timeout: ms });
    const streams: StreamSize[] = [];
    for (const info of await jsm.streams.list().next()) {
      const s = info.state;
      streams.push({ name: info.config.name, messages: s.messages, bytes: s.bytes, firstSeq: s.first_seq, lastSeq: s.last_seq });
    }
    streams.sort((a, b) => a.name.localeCompare(b.name));
    const consumers: ConsumerState[] = [];
    for (const stream of streams) {
      for (const c of await jsm.consumers.list(stream.name).next()) {
        // The durable consumers only: an ephemeral one (a projection's ordered reader) has a new
        // name every time, and each would be a new series that ends soon after.
        if (!c.config.durable_name) continue;
        consumers.push({ stream: stream.name, name: c.name, pending: c.num_pending, ackPending: c.num_ack_pending, redelivered: c.num_redelivered });
      }
    }
    consumers.sort((a, b) => a.stream.localeCompare(b.stream) || a.name.localeCompare(b.name));
    return { streams, consumers };
  }

  async function observe(): Promise<NodeObservations> {
    const [js, counts, checkpoint] = await Promise.all([
      within(ms, "NATS", jetStream),
      within(ms, "Postgres", () => readModelCounts(deps.pool)),
      deps.chainer ? within(ms, "the ledger", () => deps.chainer!.latestCheckpoint()) : Promise.resolve(undefined),
    ]);
    const streams = isUnavailable(js) ? js : js.streams;
    const consumers = isUnavailable(js) ? js : js.consumers;
    const projections = isUnavailable(counts) ? counts : isUnavailable(streams) ? streams : projectionLags(deps.projectors, counts.checkpoints, streams);
    let ledger: Part<LedgerState>;
    if (!deps.chainer) ledger = { unavailable: "this node runs no chainer" };
    else if (isUnavailable(js)) ledger = js;
    else if (checkpoint && isUnavailable(checkpoint)) ledger = checkpoint;
    else {
      const head = deps.chainer.head();
      ledger = { size: head.size, headHash: head.headHash, lastCheckpoint: checkpoint ?? null, lag: ledgerLags(chainedStreams, js.consumers, js.streams, chainerConsumer) };
    }
    return {
      streams,
      consumers,
      projections,
      queue: isUnavailable(counts) ? counts : { tasks: counts.tasks, subtasks: counts.subtasks },
      agents: isUnavailable(counts) ? counts : counts.agents,
      ledger,
    };
  }

  return () => {
    if (cached && Date.now() < cached.until) return cached.value;
    // An observation still running is shared; its age counts from when it ends.
    const entry = { until: Infinity, value: observe() };
    cached = entry;
    void entry.value.finally(() => (entry.until = Date.now() + maxAgeMs));
    return entry.value;
  };
}
