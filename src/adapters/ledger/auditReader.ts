import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { EventStore } from "../nats/eventStore.js";

/** What an audit reads: the event store has it all; auditReader() reads the same way with less read-ahead. */
export type AuditSource = Pick<EventStore, "read" | "follow" | "lastSeq" | "streamState">;

/**
 * The event store's reads (ordered consumers, a closed range or following) with a small
 * read-ahead. An auditor is slower than the stream (it verifies two signatures per record), so
 * a deep client buffer stays full and every message waits in it long enough to be promoted to
 * the old generation: with 2048 messages of read-ahead that was half of the audit's garbage
 * collection time. 256 keep the worker threads fed.
 */
export async function auditReader(nc: NatsConnection, readAhead = 256): Promise<AuditSource> {
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const info = (stream: string) => jsm.streams.info(stream);

  /** From `fromSeq` to `toSeq` (the consumer's end when reading a range), or on until `signal` aborts. */
  async function* messages(stream: string, fromSeq: number, subjects: string | string[] | undefined, end: { toSeq: number } | { signal: AbortSignal }) {
    const signal = "signal" in end ? end.signal : undefined;
    const toSeq = "toSeq" in end ? end.toSeq : Infinity;
    const consumer = await js.consumers.get(stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: Math.max(1, fromSeq),
      ...(subjects ? { filter_subjects: subjects } : {}),
    });
    const consumed = await consumer.consume({ max_messages: readAhead });
    const stop = () => void consumed.close().catch(() => undefined);
    signal?.addEventListener("abort", stop, { once: true });
    if (signal?.aborted) stop();
    try {
      for await (const m of consumed) {
        if (signal?.aborted || m.seq > toSeq) break;
        const pending = m.info.pending;
        yield { stream, seq: m.seq, subject: m.subject, data: m.data, pending };
        // With a subject filter the range's last sequence may belong to another subject.
        if (m.seq === toSeq || (toSeq !== Infinity && pending === 0)) break;
      }
    } finally {
      signal?.removeEventListener("abort", stop);
      stop();
    }
  }

  return {
    async *read(stream, opts = {}) {
      const fromSeq = Math.max(1, opts.fromSeq ?? 1);
      const toSeq = opts.toSeq ?? (await info(stream)).state.last_seq;
      if (fromSeq > toSeq) return;
      yield* messages(stream, fromSeq, opts.subjects, { toSeq });
    },
    async *follow(stream, opts) {
      if (opts.signal.aborted) return;
      yield* messages(stream, opts.fromSeq, opts.subjects, { signal: opts.signal });
    },
    lastSeq: async (stream) => (await info(stream)).state.last_seq,
    streamState: async (stream) => {
      const i = await info(stream);
      return { lastSeq: i.state.last_seq, created: i.created };
    },
  };
}
