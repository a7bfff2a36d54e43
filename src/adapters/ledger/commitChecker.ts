import { availableParallelism } from "node:os";
import { SIGNED_FIELDS } from "../../domain/events/canonical.js";
import type { EventEnvelope } from "../../domain/events/envelope.js";
import { eventHash } from "../../domain/ledger/record.js";
import type { SignatureVerifier } from "../crypto/verificationPool.js";
import { workerPool } from "../threads/workerPool.js";

/** What an auditor needs of every event of some commits: is it signed right, and its eventHash(). */
export interface CheckedEvents {
  /** One entry per event, the commits' events in order (a commit that is not a JSON array has none). */
  readonly valid: readonly boolean[];
  readonly hashes: readonly string[];
}

/** Checks the events of stream messages given as their text. */
export interface CommitChecker {
  check(commits: readonly string[]): Promise<CheckedEvents>;
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
 * (SHA-256 of the same canonical JSON with the signature in it). Canonical JSON sorts keys, and
 * "signature" sorts right before "signer", whose value and those after it (subject, time, type)
 * are strings: a string cannot hold an unescaped quote, so the last `,"signer":` is the top-level
 * key, and the hashed text is the signed text with the signature spliced in there. Anything
 * unusual is canonicalized again in full, so the hash is always eventHash()'s.
 */
const CHECKER_SOURCE = `
const { createPublicKey, verify, createHash } = require("node:crypto");
let canonicalize;
const keys = new Map();
function keyOf(x) {
  let k = keys.get(x);
  if (!k) {
    if (keys.size > 10000) keys.clear();
    k = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
    keys.set(x, k);
  }
  return k;
}
const plainString = (v) => v === undefined || typeof v === "string";
function hashedText(e, covered, signed) {
  if (typeof e.signature === "string" && typeof e.signer === "string" && plainString(e.subject) && plainString(e.time) && plainString(e.type)) {
    const at = signed.lastIndexOf(',"signer":');
    if (at > 0) return signed.slice(0, at) + ',"signature":' + JSON.stringify(e.signature) + signed.slice(at);
  }
  return canonicalize({ ...covered, signature: e.signature });
}
function checkEvent(e, fields) {
  if (e === null || typeof e !== "object") return [false, "0".repeat(64)];
  const covered = {};
  for (const f of fields) covered[f] = e[f];
  let signed;
  try {
    signed = canonicalize(covered);
  } catch {
    return [false, "0".repeat(64)];
  }
  let ok = false;
  try {
    const sig = Buffer.from(e.signature, "base64url");
    ok = sig.length === 64 && verify(null, Buffer.from(signed, "utf8"), keyOf(e.signer), sig);
  } catch {
    ok = false;
  }
  let hash;
  try {
    hash = createHash("sha256").update(hashedText(e, covered, signed), "utf8").digest("hex");
  } catch {
    hash = "0".repeat(64);
  }
  return [ok, hash];
}
async function handle(texts, { canonicalizeUrl, fields }) {
  canonicalize ??= (await import(canonicalizeUrl)).default;
  const valid = [];
  const hashes = [];
  for (const text of texts) {
    let events;
    try {
      events = JSON.parse(text);
    } catch {
      continue;
    }
    if (!Array.isArray(events)) continue;
    for (const e of events) {
      const [ok, hash] = checkEvent(e, fields);
      valid.push(ok);
      hashes.push(hash);
    }
  }
  return [{ valid, hashes }];
}
`;

/** Commits per job: small enough that both workers get work from one batch, big enough to keep message overhead low. */
const CHUNK = 128;

/**
 * The auditor's checks on worker threads: parsing, canonical JSON, Ed25519 and SHA-256 all run
 * there, so the calling thread only reads the streams and follows the chain.
 */
export function commitCheckerPool(threads = Math.min(4, availableParallelism())): CommitChecker {
  const pool = workerPool<string, CheckedEvents>(CHECKER_SOURCE, { canonicalizeUrl: import.meta.resolve("canonicalize"), fields: SIGNED_FIELDS }, threads);
  return {
    async check(commits) {
      const jobs: Promise<CheckedEvents[]>[] = [];
      for (let i = 0; i < commits.length; i += CHUNK) jobs.push(pool.run(commits.slice(i, i + CHUNK)));
      const parts = (await Promise.all(jobs)).map((r) => r[0]!);
      return parts.length === 1 ? parts[0]! : { valid: parts.flatMap((p) => p.valid), hashes: parts.flatMap((p) => p.hashes) };
    },
    close: () => pool.close(),
  };
}

/** The same checks with a plain signature verifier: signatures on its threads, hashes on this one. */
export function commitCheckerOf(verifier: SignatureVerifier): CommitChecker {
  return {
    async check(commits) {
      const events = commits.flatMap((text) => eventsOf(text) ?? []);
      const envelopes = events.filter((e): e is EventEnvelope => e !== null && typeof e === "object");
      const verdicts = await verifier.verifyAll(envelopes);
      const byEvent = new Map(envelopes.map((e, i) => [e, verdicts[i] ?? false]));
      const valid: boolean[] = [];
      const hashes: string[] = [];
      for (const e of events) {
        const envelope = e !== null && typeof e === "object" ? (e as EventEnvelope) : undefined;
        valid.push(envelope ? (byEvent.get(envelope) ?? false) : false);
        hashes.push(envelope ? safeHash(envelope) : "0".repeat(64));
      }
      return { valid, hashes };
    },
    close: async () => undefined,
  };
}

function safeHash(e: EventEnvelope): string {
  try {
    return eventHash(e);
  } catch {
    return "0".repeat(64);
  }
}
