import { signingText } from "../../domain/events/canonical.js";
import type { EventEnvelope } from "../../domain/events/envelope.js";
import { eventHashOfSigned } from "../../domain/ledger/eventHash.js";
import { verifyEd25519 } from "../crypto/ed25519.js";
import { serveBatches } from "../threads/serveBatches.js";
import type { CheckedEvents, CheckedSources, CommitJob } from "./commitChecks.js";

/*
 * A checking thread: per event of each commit, the signed text (signingText()), the Ed25519
 * check (verifyEventSignature() in two steps) and the event hash (eventHash() over the same
 * signed text), so the calling thread only reads the streams and follows the chain.
 * test/unit/commitChecker.unit.spec.ts holds it to verifyEventSignature() and eventHash().
 */

const NO_HASH = "0".repeat(64);
const REPEATED = ["id", "type", "subject", "signer", "time"] as const;

/** What to verify of one event: its signed bytes, key and signature. */
type Check = { readonly signed: Uint8Array; readonly signer: string; readonly signature: string };

const utf8 = new TextEncoder();
const decoder = new TextDecoder();

/** The signature check of one event (null when it cannot be valid) and its hash. */
function prepare(e: unknown): [Check | null, string] {
  if (e === null || typeof e !== "object") return [null, NO_HASH];
  const event = e as EventEnvelope;
  let signed: string;
  try {
    signed = signingText(event);
  } catch {
    return [null, NO_HASH];
  }
  let hash: string;
  try {
    hash = eventHashOfSigned(event, signed);
  } catch {
    hash = NO_HASH;
  }
  return [{ signed: utf8.encode(signed), signer: event.signer, signature: event.signature }, hash];
}

function repeatedFields(e: unknown): CheckedSources["fields"][number] {
  if (e === null || typeof e !== "object") return undefined;
  const event = e as Record<string, unknown>;
  return REPEATED.every((f) => typeof event[f] === "string") ? (REPEATED.map((f) => event[f]) as [string, string, string, string, string]) : undefined;
}

function checkJob(job: CommitJob): CheckedEvents | CheckedSources {
  const checks: (Check | null)[] = [];
  const hashes: string[] = [];
  const counts: number[] = [];
  const fields: CheckedSources["fields"][number][] = [];
  for (let i = 0; i < job.ends.length; i++) {
    const text = decoder.decode(job.data.subarray(i === 0 ? 0 : job.ends[i - 1], job.ends[i]));
    let events: unknown;
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
      const [check, hash] = prepare(e);
      checks.push(check);
      hashes.push(hash);
      if (job.sources) fields.push(repeatedFields(e));
    }
  }
  // All signatures last, in one tight loop: Ed25519 runs faster with its tables still in the CPU's caches.
  const valid = checks.map((c) => c !== null && verifyEd25519(c.signer, c.signed, c.signature));
  return job.sources ? { valid, hashes, counts, fields } : { valid, hashes };
}

export const checkCommits = (jobs: CommitJob[]): (CheckedEvents | CheckedSources)[] => jobs.map(checkJob);

serveBatches(checkCommits);
