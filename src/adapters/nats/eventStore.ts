import {
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { InvalidArgumentError, type NatsConnection } from "@nats-io/transport-node";
import type { EventEnvelope } from "../../domain/events/envelope.js";
import { jetStreamPublisher, PublishRefused, type JetStreamPublisher } from "./publisher.js";
import { streamForSubject } from "./streams.js";

/**
 * One stream message is one commit: the JSON array of the events one decision produced.
 * JetStream 2.10 has no atomic multi-message publish, so this is how the events of a decision
 * land all together or not at all. The message id (`Nats-Msg-Id`) is the first event's id, so a
 * retried publish is deduplicated by the server.
 */
export interface RawCommit {
  readonly stream: string;
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  /** Commits the reading consumer still has to deliver after this one (0: caught up for now). */
  readonly pending?: number;
}

/** The aggregate's version is the stream sequence of its last commit; 0 means no commit yet. */
export type ExpectedVersion = number | "any";

export interface AppendResult {
  readonly seq: number;
  readonly duplicate: boolean;
}

export class WrongExpectedVersionError extends Error {
  override readonly name = "WrongExpectedVersionError";
  constructor(
    readonly subject: string,
    readonly expected: number,
    readonly actual: number | undefined,
  ) {
    super(`${subject}: expected version ${expected}, stream has ${actual ?? "another"}`);
  }
}

/**
 * The commit does not fit in one stream message: the client refuses more than the server's
 * max_payload, the server more than the stream's max_msg_size (both 1 MiB here).
 */
export class CommitTooLargeError extends Error {
  override readonly name = "CommitTooLargeError";
  constructor(
    readonly subject: string,
    readonly bytes: number,
  ) {
    super(`the events for ${subject} take ${bytes} bytes, more than one stream message may hold`);
  }
}

/** JetStream's "message size exceeds maximum allowed". */
const MESSAGE_EXCEEDS_MAXIMUM = 10054;

export interface ReadOptions {
  /** First stream sequence to read (default 1). */
  readonly fromSeq?: number;
  /** Last sequence to read; defaults to the stream's (or subject's) last sequence when reading starts. */
  readonly toSeq?: number;
  readonly subjects?: string | string[];
}

export interface EventStore {
  append(subject: string, events: readonly EventEnvelope[], expectedVersion: ExpectedVersion): Promise<AppendResult>;
  readAggregate(subject: string): Promise<{ commits: RawCommit[]; version: number }>;
  /** Reads a closed range with an ordered consumer and ends there. */
  read(stream: string, opts?: ReadOptions): AsyncGenerator<RawCommit>;
  /** Reads from `fromSeq` and keeps following new commits until `signal` aborts. */
  follow(stream: string, opts: { fromSeq: number; subjects?: string | string[]; signal: AbortSignal }): AsyncGenerator<RawCommit>;
  lastSeq(stream: string): Promise<number>;
  /** The sequence of a subject's last message in a stream, 0 when it has none: where a filtered read ends. */
  lastSeqOf(stream: string, subject: string): Promise<number>;
  /** Last sequence and creation time: a stream created again restarts at sequence 1. */
  streamState(stream: string): Promise<{ lastSeq: number; created: string }>;
  /** One message, with the time the server stored it; undefined when the stream has none at `seq`. */
  commitAt(stream: string, seq: number): Promise<(RawCommit & { storedAt: Date }) | undefined>;
  close(): void;
}

const utf8 = new TextEncoder();

export function encodeCommit(events: readonly EventEnvelope[]): Uint8Array {
  return utf8.encode(JSON.stringify(events));
}

/** The read side of the store: what an auditor with read-only credentials needs, and no publisher. */
export type EventReader = Omit<EventStore, "append" | "close">;

/**
 * `readAhead`: messages the client buffers per read. A reader slower than the stream (an auditor
 * verifying every signature) keeps a deep buffer full, and each message waits in it long enough
 * to reach the old generation of the heap: with 2048 that was half of an audit's garbage
 * collection time, so such readers ask for less.
 */
export async function createEventReader(nc: NatsConnection, opts: { readAhead?: number } = {}): Promise<EventReader> {
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const readAhead = opts.readAhead ?? 2048;
  return {
    readAggregate: (subject) => readAggregate(js, jsm, subject, readAhead),
    read: (stream, o) => read(js, jsm, stream, readAhead, o),
    follow: (stream, o) => follow(js, stream, readAhead, o),
    lastSeq: async (stream) => (await jsm.streams.info(stream)).state.last_seq,
    lastSeqOf: async (stream, subject) => (await jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(() => null))?.seq ?? 0,
    streamState: async (stream) => {
      const info = await jsm.streams.info(stream);
      return { lastSeq: info.state.last_seq, created: info.created };
    },
    commitAt: async (stream, seq) => {
      const m = await jsm.streams.getMessage(stream, { seq }).catch((err: unknown) => {
        if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.NoMessageFound) return null;
        throw err;
      });
      return m ? { stream, seq: m.seq, subject: m.subject, data: m.data, storedAt: m.time } : undefined;
    },
  };
}

export async function createEventStore(nc: NatsConnection): Promise<EventStore> {
  const reader = await createEventReader(nc);
  const publisher = jetStreamPublisher(nc);
  return {
    ...reader,
    append: (subject, events, expectedVersion) => append(publisher, subject, events, expectedVersion),
    close: () => publisher.close(),
  };
}

async function append(
  publisher: JetStreamPublisher,
  subject: string,
  events: readonly EventEnvelope[],
  expectedVersion: ExpectedVersion,
): Promise<AppendResult> {
  const first = events[0];
  if (!first) throw new RangeError("append needs at least one event");
  for (const e of events) {
    if (e.subject !== subject) throw new RangeError(`event ${e.id} is for ${e.subject}, not ${subject}`);
  }
  const data = encodeCommit(events);
  try {
    const ack = await publisher.publish(subject, data, {
      msgId: first.id,
      ...(expectedVersion === "any" ? {} : { expectedLastSubjectSequence: expectedVersion }),
    });
    return { seq: ack.seq, duplicate: ack.duplicate };
  } catch (err) {
    if (err instanceof PublishRefused && err.code === JetStreamApiCodes.StreamWrongLastSequence && expectedVersion !== "any") {
      const actual = /wrong last sequence: (\d+)/.exec(err.message)?.[1];
      throw new WrongExpectedVersionError(subject, expectedVersion, actual === undefined ? undefined : Number(actual));
    }
    if ((err instanceof InvalidArgumentError && /max_payload/.test(err.message)) || (err instanceof PublishRefused && err.code === MESSAGE_EXCEEDS_MAXIMUM)) {
      throw new CommitTooLargeError(subject, data.length);
    }
    throw err;
  }
}

async function readAggregate(js: JetStreamClient, jsm: JetStreamManager, subject: string, readAhead: number) {
  const stream = streamForSubject(subject);
  const last = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  if (!last) return { commits: [], version: 0 };
  const commits: RawCommit[] = [];
  for await (const c of read(js, jsm, stream, readAhead, { subjects: subject, toSeq: last.seq })) commits.push(c);
  return { commits, version: last.seq };
}

async function* read(js: JetStreamClient, jsm: JetStreamManager, stream: string, readAhead: number, opts: ReadOptions = {}): AsyncGenerator<RawCommit> {
  const fromSeq = Math.max(1, opts.fromSeq ?? 1);
  const toSeq = opts.toSeq ?? (await jsm.streams.info(stream)).state.last_seq;
  if (fromSeq > toSeq) return;
  const consumer = await js.consumers.get(stream, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: fromSeq,
    ...(opts.subjects ? { filter_subjects: opts.subjects } : {}),
  });
  const messages = await consumer.consume({ max_messages: readAhead });
  try {
    for await (const m of messages) {
      if (m.seq > toSeq) break;
      yield { stream, seq: m.seq, subject: m.subject, data: m.data, pending: m.info.pending };
      // With a subject filter the range's last sequence may belong to another subject.
      if (m.seq === toSeq || m.info.pending === 0) break;
    }
  } finally {
    await messages.close().catch(() => undefined);
  }
}

async function* follow(
  js: JetStreamClient,
  stream: string,
  readAhead: number,
  opts: { fromSeq: number; subjects?: string | string[]; signal: AbortSignal },
): AsyncGenerator<RawCommit> {
  if (opts.signal.aborted) return;
  const consumer = await js.consumers.get(stream, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: Math.max(1, opts.fromSeq),
    ...(opts.subjects ? { filter_subjects: opts.subjects } : {}),
  });
  const messages = await consumer.consume({ max_messages: readAhead });
  const stop = () => void messages.close().catch(() => undefined);
  opts.signal.addEventListener("abort", stop, { once: true });
  // An abort that came while the consumer was being created fired before the listener existed.
  if (opts.signal.aborted) stop();
  try {
    for await (const m of messages) {
      if (opts.signal.aborted) break;
      yield { stream, seq: m.seq, subject: m.subject, data: m.data, pending: m.info.pending };
    }
  } finally {
    opts.signal.removeEventListener("abort", stop);
    stop();
  }
}
