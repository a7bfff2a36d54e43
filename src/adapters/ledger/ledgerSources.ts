import type { EventEnvelope } from "../../domain/events/envelope.js";
import type { ChainedSources, SourceEvent } from "../../domain/ledger/verify.js";
import type { EventStore } from "../nats/eventStore.js";
import { eventsOf, type CommitChecker } from "./commitChecker.js";
import { checkedInBatches } from "./checkedBatches.js";

/** A source event as the auditor knows it: where it is, its hash, and whether its signature holds. */
export interface IndexedSource extends SourceEvent {
  readonly hash: string;
  readonly signatureOk: boolean;
  /** Its place among the events of its stream (0-based), which stays the same when the stream is read again. */
  readonly ordinal: number;
}

/** What a resumed auditor keeps of the sources: which events were chained, per stream. */
export interface SavedSources {
  readonly stream: string;
  /** The stream's creation time: a stream created again has other events at the same places. */
  readonly created: string;
  /** A bitmap over the stream's event ordinals, base64. */
  readonly chained: string;
}

export interface SourceIndex {
  /** A validly signed source event, for the chain verifier. */
  source(eventId: string): IndexedSource | undefined;
  /** Any source event read, a forged one too (to say why a record's source is refused). */
  lookup(eventId: string): IndexedSource | undefined;
  readonly chained: ChainedSources;
  /** Reads what the source streams hold now and was not read yet; one catch-up at a time. */
  catchUp(onProgress?: (messages: number) => void): Promise<void>;
  /** Messages the source streams held when last caught up. */
  readonly messages: number;
  save(): SavedSources[];
}

/**
 * Every event of the source streams, signature checked and hashed on the checker's threads,
 * indexed by id. Kept whole in memory: a record may name any source event, in any order.
 */
export function sourceIndex(opts: { store: EventStore; checker: CommitChecker; streams: readonly string[]; from?: readonly SavedSources[] }): SourceIndex {
  const byId = new Map<string, IndexedSource>();
  const streams = opts.streams.map((name) => {
    const saved = opts.from?.find((s) => s.stream === name);
    return { name, created: saved?.created, lastRead: 0, events: 0, chained: saved ? Buffer.from(saved.chained, "base64") : Buffer.alloc(0) };
  });
  let messages = 0;
  let tail: Promise<void> = Promise.resolve();

  const streamOf = (name: string) => streams.find((s) => s.name === name)!;
  const bit = (s: (typeof streams)[number], ordinal: number) => ((s.chained[ordinal >> 3] ?? 0) & (1 << (ordinal & 7))) !== 0;

  async function readStream(s: (typeof streams)[number], onProgress?: (messages: number) => void) {
    const state = await opts.store.streamState(s.name);
    if (s.created !== undefined && s.created !== state.created) {
      throw new Error(`stream ${s.name} was created again (${state.created}, was ${s.created}) since the audit state was saved: audit from the start`);
    }
    s.created = state.created;
    if (state.lastSeq <= s.lastRead) return;
    await checkedInBatches(opts.store.read(s.name, { fromSeq: s.lastRead + 1, toSeq: state.lastSeq }), opts.checker, (commits, checked) => {
      let k = 0;
      for (const { commit, text } of commits) {
        for (const e of eventsOf(text) ?? []) {
          const ok = checked.valid[k] ?? false;
          const hash = checked.hashes[k++] ?? "";
          const event = e as EventEnvelope;
          // A message that is not an event (or a second event with an id already seen) never counts as a source.
          if (e === null || typeof e !== "object" || typeof event.id !== "string" || byId.has(event.id)) continue;
          byId.set(event.id, { stream: s.name, seq: commit.seq, event, hash, signatureOk: ok, ordinal: s.events });
          s.events += 1;
        }
        s.lastRead = commit.seq;
      }
      messages += commits.length;
      onProgress?.(commits.length);
      return true;
    });
  }

  return {
    source: (id) => {
      const s = byId.get(id);
      return s?.signatureOk ? s : undefined;
    },
    lookup: (id) => byId.get(id),
    chained: {
      has(id) {
        const s = byId.get(id);
        return s !== undefined && bit(streamOf(s.stream), s.ordinal);
      },
      add(id) {
        const s = byId.get(id);
        if (!s) return;
        const st = streamOf(s.stream);
        const byte = s.ordinal >> 3;
        if (byte >= st.chained.length) {
          const grown = Buffer.alloc(Math.max(byte + 1, st.chained.length * 2));
          st.chained.copy(grown);
          st.chained = grown;
        }
        st.chained[byte]! |= 1 << (s.ordinal & 7);
      },
    },
    catchUp(onProgress) {
      // One after another: each reads up to what the streams hold when it starts.
      const run = () => Promise.all(streams.map((s) => readStream(s, onProgress))).then(() => undefined);
      const next = tail.then(run, run);
      tail = next.catch(() => undefined);
      return next;
    },
    get messages() {
      return messages;
    },
    save: () =>
      streams.map((s) => {
        // Trailing zero bytes carry nothing.
        let end = s.chained.length;
        while (end > 0 && s.chained[end - 1] === 0) end--;
        return { stream: s.name, created: s.created ?? "", chained: s.chained.subarray(0, end).toString("base64") };
      }),
  };
}
