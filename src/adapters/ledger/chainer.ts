import type { NatsConnection } from "@nats-io/transport-node";
import { chainedEvents, chainedStreams } from "../../domain/contexts.js";
import type { EventEnvelope } from "../../domain/events/envelope.js";
import { CHAIN_SUBJECT, CHECKPOINT_SUBJECT, eventHash, GENESIS_HASH, LEDGER_STREAM, recordOf, type Checkpoint, type LedgerRecord } from "../../domain/ledger/record.js";
import { merkleAccumulator } from "../../domain/ledger/merkle.js";
import { eventIdFor } from "../crypto/eventSigning.js";
import type { EventSealer } from "../crypto/signingPool.js";
import type { SignatureVerifier } from "../crypto/verificationPool.js";
import { admitAll } from "../events/admission.js";
import { startReactor, type Reactor } from "../events/reactor.js";
import { WrongExpectedVersionError, type EventStore, type RawCommit } from "../nats/eventStore.js";

/** The durable consumer the chainers of every node share on a chained stream. */
export const chainerConsumer = (stream: string) => `ec-chainer-${stream.toLowerCase()}`;

const hexBytes = (hex: string) => Buffer.from(hex, "hex");
/** Records in one ledger commit at most: ~0.7 KB each, well under a stream message's 1 MiB. */
const MAX_BATCH_EVENTS = 256;
const REMEMBERED_IDS = 200_000;

export interface Chainer extends Reactor {
  /** The ledger as this chainer last saw it. */
  head(): { size: number; headHash: string };
  /** Writes a checkpoint of the ledger now, if it grew since the last one. */
  checkpoint(): Promise<Checkpoint | undefined>;
  /** The newest checkpoint this chainer knows of: its size and its hash (what anchoring sends to Bitcoin). */
  latestCheckpoint(): Promise<{ size: number; hash: string } | undefined>;
}

/**
 * Writes the ledger: every admitted event of the source streams becomes a signed record on one
 * subject, linked to the hash of the record before it. Each source stream is read by a durable
 * consumer shared by all nodes; appends are conditional on the chain subject's last sequence, so
 * however many coordinators chain at once the ledger stays one line: a loser catches up with
 * what the winner wrote and links after it. Source commits that arrive together are chained in
 * one ledger commit. A source event already in the ledger (a redelivery, a race) is never chained
 * again: the chainer remembers the source ids of recent records, and record ids derive from the
 * source event's id, so the stream also refuses a repeated first record. Checkpoints (size, head
 * hash, RFC 9162 Merkle root) are written every `checkpointEvery` records and on an interval.
 */
export async function startChainer(opts: {
  nc: NatsConnection;
  store: EventStore;
  sealer: EventSealer;
  verifier?: SignatureVerifier;
  checkpointEvery?: number;
  checkpointIntervalMs?: number;
  /** How long a source commit may go unacknowledged before another node chains it. */
  ackWaitMs?: number;
  onError?: (err: unknown) => void;
}): Promise<Chainer> {
  const every = opts.checkpointEvery ?? 1_000;
  let chainSeq = 0; // stream sequence of the last chain message seen
  let size = 0;
  let headHash = GENESIS_HASH;
  const tree = merkleAccumulator();
  let checkpointSeq = 0;
  let checkpointedSize = 0;
  let latest: { size: number; hash: string } | undefined;
  // Source events chained lately: redeliveries and races are recent, so a bounded memory suffices.
  const chainedIds = new Set<string>();
  const remember = (id: string) => {
    if (chainedIds.size >= REMEMBERED_IDS) chainedIds.delete(chainedIds.values().next().value as string);
    chainedIds.add(id);
  };

  function absorb(commit: RawCommit) {
    for (const record of JSON.parse(new TextDecoder().decode(commit.data)) as EventEnvelope[]) {
      remember((record.data as LedgerRecord).source.eventId);
      headHash = eventHash(record);
      tree.append(hexBytes(headHash));
      size += 1;
    }
    chainSeq = commit.seq;
  }

  /** The subject's last sequence: a filtered read must know where to stop, or it waits for more. */
  const lastOf = (subject: string) => opts.store.lastSeqOf(LEDGER_STREAM, subject);

  /** Reads what other chainers appended since this one last looked. */
  async function catchUp() {
    const last = await lastOf(CHAIN_SUBJECT);
    if (last <= chainSeq) return;
    for await (const commit of opts.store.read(LEDGER_STREAM, { fromSeq: chainSeq + 1, toSeq: last, subjects: CHAIN_SUBJECT })) absorb(commit);
  }
  async function catchUpCheckpoints() {
    const last = await lastOf(CHECKPOINT_SUBJECT);
    if (last <= checkpointSeq) return;
    for await (const commit of opts.store.read(LEDGER_STREAM, { fromSeq: checkpointSeq + 1, toSeq: last, subjects: CHECKPOINT_SUBJECT })) {
      for (const e of JSON.parse(new TextDecoder().decode(commit.data)) as EventEnvelope[]) {
        const { size: at } = e.data as Checkpoint;
        if (at > checkpointedSize) latest = { size: at, hash: eventHash(e) };
        checkpointedSize = Math.max(checkpointedSize, at);
      }
      checkpointSeq = commit.seq;
    }
  }
  await catchUp();
  await catchUpCheckpoints();

  // One append at a time from this process: the chain has one tail.
  let tail: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work, work);
    tail = run.catch(() => undefined);
    return run;
  };

  interface Pending {
    readonly stream: string;
    readonly seq: number;
    readonly events: readonly EventEnvelope[];
    readonly done: { resolve: () => void; reject: (err: unknown) => void };
  }
  const pending: Pending[] = [];
  let pumping = false;

  /** Chains a source commit's events; resolves once they are in the ledger. Commits that arrive together share one ledger commit. */
  function chain(stream: string, seq: number, events: readonly EventEnvelope[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      pending.push({ stream, seq, events, done: { resolve, reject } });
      void pump();
    });
  }

  async function pump() {
    if (pumping) return;
    pumping = true;
    try {
      while (pending.length > 0) {
        const batch: Pending[] = [];
        let events = 0;
        while (pending.length > 0 && (batch.length === 0 || events + pending[0]!.events.length <= MAX_BATCH_EVENTS)) {
          const next = pending.shift()!;
          batch.push(next);
          events += next.events.length;
        }
        try {
          await serially(() => chainBatch(batch));
          for (const p of batch) p.done.resolve();
        } catch (err) {
          for (const p of batch) p.done.reject(err);
        }
      }
    } finally {
      pumping = false;
    }
  }

  async function chainBatch(batch: readonly Pending[]) {
    for (let attempt = 1; ; attempt++) {
      // Whatever is in the ledger already (a redelivery, another coordinator's race) is not chained again.
      const todo = batch.flatMap((p) => p.events.map((event) => ({ stream: p.stream, seq: p.seq, event }))).filter((x) => !chainedIds.has(x.event.id));
      if (todo.length === 0) return;
      let prev = headHash;
      const records: EventEnvelope[] = [];
      for (const [i, { stream, seq, event }] of todo.entries()) {
        const record = await opts.sealer.seal({
          id: eventIdFor(`ledger:${event.id}`, 0),
          type: "ledger.recorded",
          subject: CHAIN_SUBJECT,
          data: recordOf(event, { stream, seq }, size + i, prev),
          time: new Date().toISOString(),
          schemaVersion: 1,
        });
        records.push(record);
        prev = eventHash(record);
      }
      try {
        const result = await opts.store.append(CHAIN_SUBJECT, records, chainSeq);
        if (!result.duplicate) {
          absorb({ stream: LEDGER_STREAM, seq: result.seq, subject: CHAIN_SUBJECT, data: new TextEncoder().encode(JSON.stringify(records)) });
          return;
        }
        // The stream knew the first record's id: some of these were chained before. Read what the
        // ledger holds and chain only the rest.
        await catchUp();
      } catch (err) {
        if (!(err instanceof WrongExpectedVersionError) || attempt >= 50) throw err;
        await catchUp();
      }
      if (attempt >= 50) throw new Error("the ledger kept moving: 50 tries to append a batch");
    }
  }

  async function checkpoint(): Promise<Checkpoint | undefined> {
    return serially(async () => {
      // Other coordinators may have chained since this one last appended: a checkpoint covers them too.
      await catchUp();
      if (size <= checkpointedSize) return undefined;
      const point: Checkpoint = { size, headHash, root: Buffer.from(tree.root()).toString("hex") };
      const envelope = await opts.sealer.seal({
        id: eventIdFor(`checkpoint:${size}:${headHash}`, 0),
        type: "ledger.checkpointed",
        subject: CHECKPOINT_SUBJECT,
        data: point,
        time: new Date().toISOString(),
        schemaVersion: 1,
      });
      try {
        const result = await opts.store.append(CHECKPOINT_SUBJECT, [envelope], checkpointSeq);
        checkpointSeq = result.seq;
        checkpointedSize = size;
        latest = { size, hash: eventHash(envelope) };
        return point;
      } catch (err) {
        // Another coordinator checkpointed meanwhile; the next round covers what it did not.
        if (!(err instanceof WrongExpectedVersionError)) throw err;
        await catchUpCheckpoints();
        return undefined;
      }
    });
  }

  const reactors = await Promise.all(
    chainedStreams.map((stream) =>
      startReactor({
        nc: opts.nc,
        stream,
        durable: chainerConsumer(stream),
        // Commits that arrive together are chained together, in one ledger commit.
        concurrency: 64,
        ...(opts.ackWaitMs ? { ackWaitMs: opts.ackWaitMs } : {}),
        ...(opts.onError ? { onError: opts.onError } : {}),
        async react(m) {
          const [check] = await admitAll([m], chainedEvents, opts.verifier);
          // Only admitted events are chained; a forged or malformed commit is the projections' quarantine's business.
          if (!check?.ok) return;
          await chain(m.stream, m.seq, check.events);
          if (size - checkpointedSize >= every) await checkpoint();
        },
      }),
    ),
  );
  const timer = setInterval(() => void checkpoint().catch((err: unknown) => opts.onError?.(err)), opts.checkpointIntervalMs ?? 10_000);

  return {
    head: () => ({ size, headHash }),
    checkpoint,
    async latestCheckpoint() {
      // Another coordinator may have written a newer one.
      await serially(catchUpCheckpoints);
      return latest;
    },
    async stop() {
      clearInterval(timer);
      await Promise.all(reactors.map((r) => r.stop()));
      await tail;
    },
  };
}
