import { availableParallelism } from "node:os";
import { SIGNED_FIELDS, signingText } from "../../domain/events/canonical.js";
import type { EventEnvelope } from "../../domain/events/envelope.js";
import { eventHash } from "../../domain/ledger/record.js";
import { PUBLIC_KEY_CACHE_SOURCE, type SignatureVerifier } from "../crypto/verificationPool.js";
import { workerPool } from "../threads/workerPool.js";

/** What an auditor needs of every event of some commits: is it signed right, and its eventHash(). */
export interface CheckedEvents {
  /** One entry per event, the commits' events in order (a commit that is not a JSON array has none). */
  readonly valid: readonly boolean[];
  readonly hashes: readonly string[];
}

/** The same for source events, with what a ledger record repeats of each, so their text is never parsed here. */
export interface CheckedSources extends CheckedEvents {
  /** How many events each commit holds. */
  readonly counts: readonly number[];
  /** Per event: id, type, subject, signer, time; undefined for a message that is not an event. */
  readonly fields: readonly (readonly [string, string, string, string, string] | undefined)[];
}

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

/*
 * Per event: RFC 8785 canonical JSON of the signed fields, the Ed25519 check, and the event hash
 * (SHA-256 of the same canonical JSON with the signature in it).
 *
 * The events here come out of JSON.parse: no toJSON, no cycles, no undefined, no NaN. So their
 * canonical JSON is JSON.stringify of the same value with every object's keys sorted (by UTF-16
 * code units; JSON.stringify writes strings and numbers as RFC 8785 does), one native call
 * instead of a string built here piece by piece; only objects whose keys are out of order are
 * copied. A string with a lone surrogate is refused (the canonicalize package throws; here the
 * event is then invalid), checked natively with isWellFormed. The property test in
 * test/unit/commitChecker.unit.spec.ts holds it to eventHash() and verifyEventSignature().
 *
 * Canonical JSON sorts keys, and "signature" sorts right before "signer", whose value and those
 * after it (subject, time, type) are strings: a string cannot hold an unescaped quote, so the
 * last `,"signer":` is the top-level key, and the hashed text is the signed text with the
 * signature spliced in there.
 */
const CHECKER_SOURCE = `
const { createPublicKey, verify, hash: digest } = require("node:crypto");
// The canonical form written piece by piece: always right, but slow.
function canonicalByHand(v) {
  if (v === null) return "null";
  switch (typeof v) {
    case "string":
      if (!v.isWellFormed()) throw new Error("lone surrogate");
      return JSON.stringify(v);
    case "number":
    case "boolean":
      return JSON.stringify(v);
    case "object": {
      if (Array.isArray(v)) {
        let out = "[";
        for (let i = 0; i < v.length; i++) out += (i === 0 ? "" : ",") + canonicalByHand(v[i]);
        return out + "]";
      }
      const names = Object.keys(v).sort();
      let out = "{";
      let first = true;
      for (const name of names) {
        const value = v[name];
        if (value === undefined) continue;
        out += (first ? "" : ",") + canonicalByHand(name) + ":" + canonicalByHand(value);
        first = false;
      }
      return out + "}";
    }
    default:
      throw new Error("not JSON");
  }
}
// Keys that are array indices come first in any object, in numeric order: no key order can be imposed on them.
const INDEX_KEY = /^(?:0|[1-9][0-9]{0,9})$/;
const HAS_INDEX_KEYS = new Error("index keys");
// The value with every object's keys in sorted order, sharing what is in order already; throws on a lone surrogate.
function sortedKeys(v) {
  if (typeof v === "string") {
    if (!v.isWellFormed()) throw new Error("lone surrogate");
    return v;
  }
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) {
    let out = v;
    for (let i = 0; i < v.length; i++) {
      const c = sortedKeys(v[i]);
      if (c !== v[i]) (out === v ? (out = v.slice()) : out)[i] = c;
    }
    return out;
  }
  const names = Object.keys(v);
  if (names.length > 0 && INDEX_KEY.test(names[0]) && Number(names[0]) < 4294967295) throw HAS_INDEX_KEYS;
  let inOrder = true;
  for (let i = 0; i < names.length; i++) {
    if (!names[i].isWellFormed()) throw new Error("lone surrogate");
    if (i > 0 && inOrder) inOrder = names[i - 1] < names[i];
  }
  if (!inOrder) names.sort();
  // A null prototype: a key "__proto__" (JSON.parse makes it an own property) stays a key.
  let out = inOrder ? v : Object.create(null);
  for (const name of names) {
    const c = sortedKeys(v[name]);
    if (out === v && c !== v[name]) {
      out = Object.create(null);
      for (const n of names) out[n] = v[n];
    }
    if (out !== v) out[name] = c;
  }
  return out;
}
function canonical(v) {
  try {
    return JSON.stringify(sortedKeys(v));
  } catch (err) {
    if (err === HAS_INDEX_KEYS) return canonicalByHand(v);
    throw err;
  }
}
${PUBLIC_KEY_CACHE_SOURCE}const plainString = (v) => v === undefined || typeof v === "string";
function hashedText(e, covered, signed) {
  if (typeof e.signature === "string" && typeof e.signer === "string" && plainString(e.subject) && plainString(e.time) && plainString(e.type)) {
    const at = signed.lastIndexOf(',"signer":');
    if (at > 0) return signed.slice(0, at) + ',"signature":' + JSON.stringify(e.signature) + signed.slice(at);
  }
  return canonical({ ...covered, signature: e.signature });
}
// What to verify of one event (its signed bytes, key and signature; null when it cannot be valid) and its hash.
function prepareEvent(e, fields) {
  if (e === null || typeof e !== "object") return [null, "0".repeat(64)];
  // Built in key order, so that it is not copied to be sorted.
  const covered = {};
  for (const f of fields) covered[f] = e[f];
  let signed;
  try {
    signed = canonical(covered);
  } catch {
    return [null, "0".repeat(64)];
  }
  let check = null;
  try {
    const sig = Buffer.from(e.signature, "base64url");
    if (sig.length === 64) check = [Buffer.from(signed, "utf8"), keyOf(e.signer), sig];
  } catch {
    check = null;
  }
  let hash;
  try {
    hash = digest("sha256", hashedText(e, covered, signed), "hex");
  } catch {
    hash = "0".repeat(64);
  }
  return [check, hash];
}
function verified(check) {
  try {
    return check !== null && verify(null, check[0], check[1], check[2]);
  } catch {
    return false;
  }
}
const decoder = new TextDecoder();
const FIELDS = ["id", "type", "subject", "signer", "time"];
let sortedFields;
function handle([job], { fields }) {
  sortedFields ??= [...fields].sort();
  const valid = [];
  const checks = [];
  const hashes = [];
  const counts = [];
  const repeated = [];
  for (let i = 0; i < job.ends.length; i++) {
    const text = decoder.decode(job.data.subarray(i === 0 ? 0 : job.ends[i - 1], job.ends[i]));
    let events;
    try {
      events = JSON.parse(text);
    } catch {
      events = undefined;
    }
    if (!Array.isArray(events)) {
      counts.push(0);
      continue;
    }
    counts.push(events.length);
    for (const e of events) {
      const [check, hash] = prepareEvent(e, sortedFields);
      checks.push(check);
      hashes.push(hash);
      if (job.sources) repeated.push(e !== null && typeof e === "object" && FIELDS.every((f) => typeof e[f] === "string") ? FIELDS.map((f) => e[f]) : undefined);
    }
  }
  // All signatures last, in one tight loop: Ed25519 runs faster with its tables still in the CPU's caches.
  for (const check of checks) valid.push(verified(check));
  return [job.sources ? { valid, hashes, counts, fields: repeated } : { valid, hashes }];
}
`;

/** Commits per job: small enough that both workers get work from one batch, big enough to keep message overhead low. */
const CHUNK = 128;

/** Commits of one job as one buffer: a message's bytes may be a view into a larger buffer, which a structured clone would copy whole. */
type Job = { data: Uint8Array; ends: number[]; sources: boolean };

/**
 * The auditor's checks on worker threads: parsing, canonical JSON, Ed25519 and SHA-256 all run
 * there, so the calling thread only reads the streams and follows the chain.
 */
export function commitCheckerPool(threads = Math.min(4, availableParallelism())): CommitChecker {
  const pool = workerPool<Job, CheckedEvents | CheckedSources>(CHECKER_SOURCE, { fields: SIGNED_FIELDS }, threads);
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
