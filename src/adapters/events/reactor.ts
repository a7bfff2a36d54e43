import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

/** The header a conditional append carries (publisher.ts), kept with the stored message. */
const EXPECTED_LAST_SUBJECT_SEQUENCE = "Nats-Expected-Last-Subject-Sequence";

export interface Reactor {
  stop(): Promise<void>;
}

/**
 * Runs `react` on every commit of a stream through a durable JetStream consumer shared by all
 * nodes (each commit goes to one of them). A commit is acked after its reaction; a failed
 * reaction is redelivered later, so reactions must be idempotent. Long reactions tell the
 * server they are still working, so it does not hand the commit to another node meanwhile.
 */
export async function startReactor(opts: {
  nc: NatsConnection;
  stream: string;
  durable: string;
  /** How long a reaction may go without a progress signal before the commit is redelivered. */
  ackWaitMs?: number;
  react: (
    msg: {
      stream: string;
      seq: number;
      subject: string;
      data: Uint8Array;
      deliveries: number;
      /** The subject's sequence the commit was appended after (its Nats-Expected-Last-Subject-Sequence; 0: the subject's first), when it was appended conditionally. */
      previousSubjectSeq?: number;
    },
    working: () => void,
  ) => Promise<void>;
  onError?: (err: unknown) => void;
  retryDelayMs?: number;
  /**
   * Commits reacted to at once (default 1: in stream order). More lets a reaction that batches
   * (the ledger's chainer) see several commits together; order between them is then not kept.
   */
  concurrency?: number;
}): Promise<Reactor> {
  // Short, since a reaction in progress says so every third of it: a commit a crashed node held
  // is handed out again within this, not after minutes. (A commit still waiting in the client's
  // buffer sends no progress; if it waits longer it is delivered twice, which reactions allow.)
  const ackWaitMs = opts.ackWaitMs ?? 15_000;
  const jsm = await jetstreamManager(opts.nc);
  await jsm.consumers.add(opts.stream, {
    durable_name: opts.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: ackWaitMs * 1_000_000,
    max_deliver: -1,
  });
  const consumer = await jetstream(opts.nc).consumers.get(opts.stream, opts.durable);
  const messages = await consumer.consume({ max_messages: 64 });

  async function handle(m: JsMsg) {
    const progress = setInterval(() => m.working(), Math.max(1_000, ackWaitMs / 3));
    try {
      const expected = m.headers?.get(EXPECTED_LAST_SUBJECT_SEQUENCE);
      const previousSubjectSeq = expected ? Number(expected) : undefined;
      await opts.react(
        { stream: opts.stream, seq: m.seq, subject: m.subject, data: m.data, deliveries: m.info.deliveryCount, ...(Number.isSafeInteger(previousSubjectSeq) ? { previousSubjectSeq: previousSubjectSeq! } : {}) },
        () => m.working(),
      );
      m.ack();
    } catch (err) {
      opts.onError?.(err);
      m.nak(opts.retryDelayMs ?? 1_000);
    } finally {
      clearInterval(progress);
    }
  }

  const concurrency = opts.concurrency ?? 1;
  const inFlight = new Set<Promise<void>>();
  const running = (async () => {
    for await (const m of messages) {
      const done: Promise<void> = handle(m).finally(() => inFlight.delete(done));
      inFlight.add(done);
      // Hold the next message back while the slots are full: unacknowledged work stays bounded.
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  })().catch((err: unknown) => {
    // The connection went away (closed, or the node is stopping): reported, never an unhandled rejection.
    opts.onError?.(err);
  });
  return {
    async stop() {
      await messages.close();
      await running;
    },
  };
}
