import { availableParallelism } from "node:os";
import { signingText } from "../../domain/events/canonical.js";
import type { EventEnvelope } from "../../domain/events/envelope.js";
import { eventHash } from "../../domain/ledger/eventHash.js";
import type { SignatureVerifier } from "../crypto/verificationPool.js";
import { workerPool } from "../threads/workerPool.js";
import type { checkCommits } from "./commitCheckThread.js";
import type { CheckedEvents, CheckedSources } from "./commitChecks.js";

export type { CheckedEvents, CheckedSources };

/**
 * Checks the events of stream messages, given as their bytes: an auditor holds messages as bytes
 * (off the JavaScript heap) while they wait to be checked, and parses them only when it takes them.
 */
export interface CommitChecker {
  /** Ledger messages: the caller parses them too. */
  check(commits: readonly Uint8Array[]): Promise<CheckedEvents>;
  /** Source messages: what records repeat of them comes back, so they are never parsed on the calling thread. */
  checkSources(commits: readonly Uint8Array[]): Promise<CheckedSources>;
  close(): Promise<void>;
}

/** The events of one commit's text, or undefined when it is not a JSON array (the message was altered). */
export function eventsOf(text: string): unknown[] | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Commits per job: small enough that both workers get work from one batch, big enough to keep message overhead low. */
const CHUNK = 128;

/**
 * The auditor's checks on worker threads (commitCheckThread.ts): parsing, canonical JSON,
 * Ed25519 and SHA-256 all run there, so the calling thread only reads the streams and follows
 * the chain.
 */
export function commitCheckerPool(threads = Math.min(4, availableParallelism())): CommitChecker {
  const pool = workerPool<typeof checkCommits>(new URL("./commitCheckThread.js", import.meta.url), undefined, threads);
  const inChunks = <T extends CheckedEvents>(commits: readonly Uint8Array[], sources: boolean): Promise<T[]> => {
    const jobs: Promise<T>[] = [];
    for (let i = 0; i < commits.length; i += CHUNK) {
      const slice = commits.slice(i, i + CHUNK);
      const ends: number[] = [];
      let end = 0;
      for (const c of slice) ends.push((end += c.length));
      jobs.push(pool.run([{ data: Buffer.concat(slice), ends, sources }]).then((r) => r[0] as T));
    }
    return Promise.all(jobs);
  };
  return {
    async check(commits) {
      const parts = await inChunks<CheckedEvents>(commits, false);
      return parts.length === 1 ? parts[0]! : { valid: parts.flatMap((p) => p.valid), hashes: parts.flatMap((p) => p.hashes) };
    },
    async checkSources(commits) {
      const parts = await inChunks<CheckedSources>(commits, true);
      if (parts.length === 1) return parts[0]!;
      return { valid: parts.flatMap((p) => p.valid), hashes: parts.flatMap((p) => p.hashes), counts: parts.flatMap((p) => p.counts), fields: parts.flatMap((p) => p.fields) };
    },
    close: () => pool.close(),
  };
}

/** The same checks with a plain signature verifier: signatures on its threads, the rest on this one. */
export function commitCheckerOf(verifier: SignatureVerifier): CommitChecker {
  async function check(commits: readonly string[]): Promise<CheckedSources> {
    const perCommit = commits.map((text) => eventsOf(text) ?? []);
    const events = perCommit.flat();
    // An event without a canonical form (a lone surrogate) is simply invalid; some verifiers would throw on it.
    const envelopes = events.filter((e): e is EventEnvelope => e !== null && typeof e === "object" && hasCanonicalForm(e as EventEnvelope));
    const verdicts = await verifier.verifyAll(envelopes);
    const byEvent = new Map(envelopes.map((e, i) => [e, verdicts[i] ?? false]));
    const valid: boolean[] = [];
    const hashes: string[] = [];
    const fields: CheckedSources["fields"][number][] = [];
    for (const e of events) {
      const envelope = e !== null && typeof e === "object" ? (e as EventEnvelope) : undefined;
      valid.push(envelope ? (byEvent.get(envelope) ?? false) : false);
      hashes.push(envelope ? safeHash(envelope) : "0".repeat(64));
      const repeated = envelope ? ([envelope.id, envelope.type, envelope.subject, envelope.signer, envelope.time] as const) : undefined;
      fields.push(repeated?.every((f) => typeof f === "string") ? repeated : undefined);
    }
    return { valid, hashes, counts: perCommit.map((c) => c.length), fields };
  }
  const decoder = new TextDecoder();
  return {
    check: async (commits) => {
      const { valid, hashes } = await check(commits.map((c) => decoder.decode(c)));
      return { valid, hashes };
    },
    checkSources: (commits) => check(commits.map((c) => decoder.decode(c))),
    close: async () => undefined,
  };
}

function hasCanonicalForm(e: EventEnvelope): boolean {
  try {
    signingText(e);
    return true;
  } catch {
    return false;
  }
}

function safeHash(e: EventEnvelope): string {
  try {
    return eventHash(e);
  } catch {
    return "0".repeat(64);
  }
}
