import type { ChainedSources, HashedSource } from "../../domain/ledger/verify.js";
import type { RawCommit } from "../nats/eventStore.js";
import type { AuditSource } from "./ledgerLocation.js";
import { checkedInBatches } from "./checkedBatches.js";
import type { CheckedSources, CommitChecker } from "./commitChecker.js";

/** A source event as the auditor knows it: where it is, its hash, and whether its signature holds. */
export interface IndexedSource extends HashedSource {
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
  /** Every event read that no record chains, in stream order. */
  unchained(): IndexedSource[];
  /** Reads what the source streams hold now and was not read yet; one catch-up at a time. */
  catchUp(onProgress?: (messages: number) => void): Promise<void>;
  save(): SavedSources[];
}

/**
 * One source event, kept small: an index holds every event of the source streams (a class, not
 * an object literal, for one shape and one `event` getter shared by all). It is its own `event`
 * (it has the fields a record repeats), so no second object is kept per event.
 */
class Entry implements IndexedSource {
  constructor(
    readonly stream: string,
    readonly seq: number,
    readonly id: string,
    readonly type: string,
    readonly subject: string,
    readonly signer: string,
    readonly time: string,
    readonly hash: string,
    readonly signatureOk: boolean,
    readonly ordinal: number,
  ) {}
  get event() {
    return this;
  }
}

/**
 * Every event of the source streams, signature checked and hashed on the checker's threads,
 * indexed by id. Kept whole in memory: a record may name any source event, in any order. The
 * strings that repeat across events (types, signers, subjects) are kept once.
 */
export function sourceIndex(opts: { store: AuditSource; checker: CommitChecker; streams: readonly string[]; from?: readonly SavedSources[] }): SourceIndex {
  const byId = new Map<string, Entry>();
  const streams = opts.streams.map((name) => {
    const saved = opts.from?.find((s) => s.stream === name);
    return { name, created: saved?.created, lastRead: 0, events: 0, chained: saved ? Buffer.from(saved.chained, "base64") : Buffer.alloc(0) };
  });
  type Stream = (typeof streams)[number];
  const strings = new Map<string, string>();
  const once = (s: string) => {
    const kept = strings.get(s);
    if (kept !== undefined) return kept;
    if (strings.size < 100_000) strings.set(s, s);
    return s;
  };
  let tail: Promise<void> = Promise.resolve();

  const streamOf = (name: string) => streams.find((s) => s.name === name)!;
  const bit = (s: Stream, ordinal: number) => ((s.chained[ordinal >> 3] ?? 0) & (1 << (ordinal & 7))) !== 0;

  function index(s: Stream, commits: RawCommit[], checked: CheckedSources) {
    let k = 0;
    for (const [i, commit] of commits.entries()) {
      for (let n = checked.counts[i] ?? 0; n > 0; n--, k++) {
        const fields = checked.fields[k];
        // A message that is not an event (or a second event with an id already seen) never counts as a source.
        if (!fields || byId.has(fields[0])) continue;
        const [id, type, subject, signer, time] = fields;
        byId.set(id, new Entry(s.name, commit.seq, id, once(type), once(subject), once(signer), time, checked.hashes[k]!, checked.valid[k]!, s.events));
        s.events += 1;
      }
      s.lastRead = commit.seq;
    }
  }

  async function readStream(s: Stream, onProgress?: (messages: number) => void) {
    const state = await opts.store.streamState(s.name);
    if (s.created !== undefined && s.created !== state.created) {
      throw new Error(`stream ${s.name} was created again (${state.created}, was ${s.created}) since the audit state was saved: audit from the start`);
    }
    s.created = state.created;
    if (state.lastSeq <= s.lastRead) return;
    await checkedInBatches(opts.store.read(s.name, { fromSeq: s.lastRead + 1, toSeq: state.lastSeq }), {
      prepare: (commit) => commit,
      check: (commits) => opts.checker.checkSources(commits.map((c) => c.data)),
      take: (commits, checked) => {
        index(s, commits, checked);
        onProgress?.(commits.length);
        return true;
      },
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
    unchained() {
      const out: Entry[] = [];
      for (const e of byId.values()) if (!bit(streamOf(e.stream), e.ordinal)) out.push(e);
      // Read in stream order per stream, streams one after another: sorting keeps that whatever the map's order.
      const streamOrder = new Map(streams.map((s, i) => [s.name, i]));
      return out.sort((a, b) => streamOrder.get(a.stream)! - streamOrder.get(b.stream)! || a.seq - b.seq);
    },
    catchUp(onProgress) {
      // One after another: each reads up to what the streams hold when it starts.
      const run = () => Promise.all(streams.map((s) => readStream(s, onProgress))).then(() => undefined);
      const next = tail.then(run, run);
      tail = next.catch(() => undefined);
      return next;
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
