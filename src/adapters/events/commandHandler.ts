import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import pLimit from "p-limit";
import { foldCommit, type Decider } from "../../domain/decider.js";
import type { EventDraft, EventEnvelope } from "../../domain/events/envelope.js";
import type { EventRegistry } from "../../domain/events/registry.js";
import { eventIdFor } from "../crypto/eventSigning.js";
import type { EventSealer } from "../crypto/signingPool.js";
import { WrongExpectedVersionError, type EventStore } from "../nats/eventStore.js";
import { streamForSubject } from "../nats/streams.js";
import type { SignatureVerifier } from "../crypto/verificationPool.js";
import { serialByKey } from "../serialByKey.js";
import { admitAll } from "./admission.js";

export interface CommandMeta {
  /** Makes a retried command idempotent: its events get the same ids and are deduplicated. */
  readonly commandId?: string;
  readonly now: Date;
  /**
   * A refusal on the cached state is final: the caller moves on anyway (a pull trying the next
   * candidate), so a stale cache costs nothing worth a re-read.
   */
  readonly refusalFromCache?: boolean;
}

export interface HandledCommand {
  readonly events: readonly EventEnvelope[];
  /** Stream sequence of the commit, or the aggregate's unchanged version when nothing was decided. */
  readonly version: number;
  readonly duplicate: boolean;
}

export interface CommandHandlerOptions<C, S, E extends EventDraft> {
  readonly store: EventStore;
  readonly decider: Decider<C, S, E>;
  readonly registry: EventRegistry;
  readonly sealer: EventSealer;
  readonly maxAttempts?: number;
  /** How many aggregates' states to keep between commands (0 turns the cache off). */
  readonly cacheSize?: number;
  /** How many aggregates may be read from the stream at once (each read is a server-side consumer). */
  readonly loadConcurrency?: number;
  /** Checks the signatures of a loaded aggregate's history (default: on this thread). */
  readonly verifier?: SignatureVerifier;
  readonly onSkippedEvent?: (subject: string, seq: number, reason: string) => void;
}

interface Loaded<S> {
  readonly state: S;
  readonly version: number;
}

/**
 * Read, decide, append with the expected version; on a version conflict re-read and re-decide,
 * with jittered exponential backoff. States are cached per aggregate, so a writer that is alone
 * on an aggregate does not re-read it; a stale cache only costs one conflict, or one re-read when
 * the cached state refuses the command or has nothing to do.
 */
export function commandHandler<C, S, E extends EventDraft>(opts: CommandHandlerOptions<C, S, E>) {
  const { store, decider, registry, sealer } = opts;
  const maxAttempts = opts.maxAttempts ?? 20;
  const cacheSize = opts.cacheSize ?? 10_000;
  const cache = new Map<string, Loaded<S>>();
  // A cold handler facing many aggregates would otherwise open a consumer for each at once,
  // and a server swamped with consumer creations stops acking publishes in time.
  const loadSlot = pLimit(opts.loadConcurrency ?? 16);
  // Commands on one aggregate from this process run one after another: racing ourselves only
  // buys conflicts. Other processes are kept honest by the server's expected-sequence check.
  const inTurn = serialByKey();

  function remember(subject: string, loaded: Loaded<S>) {
    if (cacheSize === 0) return;
    cache.delete(subject);
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as string);
    cache.set(subject, loaded);
  }

  async function load(subject: string): Promise<Loaded<S>> {
    const { commits, version } = await loadSlot(() => store.readAggregate(subject));
    const checks = await admitAll(commits, registry, opts.verifier);
    let state = decider.initialState();
    for (const [i, checked] of checks.entries()) {
      const commit = commits[i]!;
      if (!checked.ok) {
        opts.onSkippedEvent?.(subject, commit.seq, checked.reason);
        continue;
      }
      const folded = foldCommit(decider, state, checked.events.map((e) => ({ type: e.type, data: e.data }) as E));
      if (folded.ok) state = folded.state;
      else opts.onSkippedEvent?.(subject, commit.seq, folded.message);
    }
    const loaded = { state, version };
    remember(subject, loaded);
    return loaded;
  }

  /**
   * Decides on the cached state when it leads to an append (a stale cache only costs a version
   * conflict there). A refusal or "nothing to do" is never appended, so it would not reveal a
   * stale cache: another process may have moved the aggregate on (the escalation flow, another
   * coordinator), and only the stream's own state may refuse. So the stream is asked for the
   * subject's last sequence: when it is still the cached version, the cached state is the
   * stream's, and the decision stands (one request, where reading the history again costs a
   * consumer, the whole history and its signatures checked again). Otherwise the decision is
   * taken again on a fresh read, without counting as a try.
   */
  async function decideOn(subject: string, command: C, refusalFromCache = false): Promise<{ loaded: Loaded<S>; drafts: readonly E[] }> {
    const cached = cache.get(subject);
    if (cached) {
      let refusal: { err: unknown } | undefined;
      try {
        const drafts = decider.decide(command, cached.state);
        if (drafts.length > 0) return { loaded: cached, drafts };
      } catch (err) {
        if (refusalFromCache) throw err;
        refusal = { err };
      }
      // Version 0 is read afresh: that read is one request too, and lastSeqOf also says 0 when it fails.
      if (cached.version > 0 && (await store.lastSeqOf(streamForSubject(subject), subject)) === cached.version) {
        if (refusal) throw refusal.err;
        return { loaded: cached, drafts: [] };
      }
      cache.delete(subject);
    }
    const loaded = await load(subject);
    return { loaded, drafts: decider.decide(command, loaded.state) };
  }

  async function attempt(subject: string, command: C, { commandId, now, refusalFromCache }: CommandMeta): Promise<HandledCommand> {
    for (let n = 1; ; n++) {
      const { loaded, drafts } = await decideOn(subject, command, refusalFromCache);
      const { state, version } = loaded;
      if (drafts.length === 0) return { events: [], version, duplicate: false };
      const time = now.toISOString();
      const seal = (d: E, i: number) =>
        sealer.seal({
          id: commandId === undefined ? randomUUID() : eventIdFor(commandId, i),
          type: d.type,
          subject,
          data: d.data,
          time,
          schemaVersion: registry.get(d.type)?.schemaVersion ?? 1,
        });
      const events = drafts.length === 1 ? [await seal(drafts[0]!, 0)] : await Promise.all(drafts.map(seal));
      try {
        const result = await store.append(subject, events, version);
        if (result.duplicate) cache.delete(subject);
        else remember(subject, { state: drafts.reduce(decider.evolve, state), version: result.seq });
        return { events, version: result.seq, duplicate: result.duplicate };
      } catch (err) {
        cache.delete(subject);
        if (!(err instanceof WrongExpectedVersionError) || n >= maxAttempts) throw err;
        // Full jitter over a window that widens with each loss: contenders spread out instead of colliding again.
        await sleep(Math.random() * Math.min(250, 4 * 2 ** n));
      }
    }
  }

  function handle(subject: string, command: C, meta: CommandMeta): Promise<HandledCommand> {
    return inTurn(subject, () => attempt(subject, command, meta));
  }

  /**
   * Seeds the cache with a state folded elsewhere (a projection's row, folded by the same decider
   * from admitted commits) at its version, unless a newer one is cached. Saves reading the
   * aggregate's history from the stream; if the seed is stale, the append's expected version
   * fails and the handler reads the stream as usual.
   */
  function prime(subject: string, state: S, version: number): void {
    const cached = cache.get(subject);
    if (!cached || cached.version < version) remember(subject, { state, version });
  }

  /** The aggregate's state as the stream holds it now (read afresh, its history's signatures checked). */
  async function read(subject: string): Promise<S> {
    return (await load(subject)).state;
  }

  return Object.assign(handle, { prime, read });
}

export type CommandHandler<C, S, E extends EventDraft> = ReturnType<typeof commandHandler<C, S, E>>;
