import type { EventEnvelope } from "../events/envelope.js";
import { Checkpoint, eventHash, GENESIS_HASH, LedgerRecord, recordFor, SourceRef, type SourceFields } from "./record.js";

/** A source event as it stands in its stream. */
export interface SourceEvent {
  readonly stream: string;
  readonly seq: number;
  readonly event: EventEnvelope;
}

/** A source event whose eventHash() is known already: the fields a record repeats suffice (an auditor keeps only these). */
export interface HashedSource {
  readonly stream: string;
  readonly seq: number;
  readonly event: SourceFields;
  readonly hash: string;
}

const isHashed = (s: SourceEvent | HashedSource): s is HashedSource => typeof (s as HashedSource).hash === "string";

/** The source events chained so far, by event id. */
export interface ChainedSources {
  has(eventId: string): boolean;
  add(eventId: string): void;
}

/** The first thing wrong in a ledger: which record (by position and stream sequence) and why. */
export interface ChainIssue {
  /** Position of the offending record in the ledger as read (0-based). */
  readonly position: number;
  /** Its sequence in the ledger stream. */
  readonly seq: number;
  readonly recordId: string;
  readonly reason: string;
}

/** How far a verification got: enough to resume it later without reading the ledger again. */
export interface ChainProgress {
  readonly count: number;
  readonly headHash: string;
}

export interface ChainVerifierOptions {
  /** The source event with this id, if its stream has it. */
  readonly source: (eventId: string) => SourceEvent | HashedSource | undefined;
  /** Coordinator keys allowed to sign records; any key when absent. */
  readonly trustedKeys?: ReadonlySet<string>;
  /** Where an earlier verification stopped (a restarted auditor resumes there). */
  readonly from?: ChainProgress;
  /** The sources chained before `from` (a plain set of this run's by default). */
  readonly chained?: ChainedSources;
}

/**
 * Checks ledger records one after another, as they are read: each must be a well-formed
 * `ledger.recorded` event, validly signed by a trusted coordinator, at the next index, linked to
 * the hash of the record before it, and equal to the record its source event calls for (same
 * hash, stream, sequence, type, actor, time), with no source event chained twice. The first
 * failure is returned and the verifier stops there. Signatures are checked by the caller (on
 * worker threads) and passed in.
 */
export function chainVerifier(opts: ChainVerifierOptions) {
  let count = opts.from?.count ?? 0;
  let headHash = opts.from?.headHash ?? GENESIS_HASH;
  const chained: ChainedSources = opts.chained ?? new Set<string>();
  let failed: ChainIssue | undefined;

  /** `recordHash`, when given, is eventHash(envelope) computed by the caller. */
  function check(envelope: EventEnvelope, signatureOk: boolean, seq: number, recordHash?: string): ChainIssue | undefined {
    if (failed) return failed;
    const issue = (reason: string): ChainIssue => (failed = { position: count, seq, recordId: envelope.id, reason });
    if (envelope.type !== "ledger.recorded") return issue(`not a ledger record: ${envelope.type}`);
    const parsed = LedgerRecord.safeParse(envelope.data);
    if (!parsed.success) return issue(`malformed record: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    const record = parsed.data;
    if (!signatureOk) return issue(`bad signature (signer ${envelope.signer})`);
    if (opts.trustedKeys && !opts.trustedKeys.has(envelope.signer)) return issue(`signed by an unknown key ${envelope.signer}`);
    if (record.index !== count) return issue(`index ${record.index} where ${count} was due: a record is missing, inserted or out of order`);
    if (record.prevHash !== headHash) return issue(`broken link: prevHash ${record.prevHash} is not the hash of record ${count - 1} (${headHash})`);
    const source = opts.source(record.source.eventId);
    if (!source) return issue(`its source event ${record.source.eventId} is not in ${record.source.stream}`);
    const expected = recordFor(source.event, { stream: source.stream, seq: source.seq, hash: isHashed(source) ? source.hash : eventHash(source.event) }, record.index, record.prevHash);
    const mismatch = differingField(expected, record);
    if (mismatch) return issue(`does not match its source event ${record.source.eventId}: ${mismatch} differs`);
    if (chained.has(record.source.eventId)) return issue(`chains source event ${record.source.eventId} a second time`);
    chained.add(record.source.eventId);
    count += 1;
    headHash = recordHash ?? eventHash(envelope);
    return undefined;
  }

  return {
    check,
    progress: (): ChainProgress => ({ count, headHash }),
    issue: () => failed,
  };
}

// Every field of a record and of its source reference, in schema order. Parsed records hold no
// other keys (zod drops unknown ones), so comparing these compares all. No objects are built per
// record: an auditor compares hundreds of thousands.
const RECORD_KEYS = Object.keys(LedgerRecord.shape).filter((k) => k !== "source") as (keyof Omit<LedgerRecord, "source">)[];
const SOURCE_KEYS = Object.keys(SourceRef.shape) as (keyof LedgerRecord["source"])[];

function differingField(expected: LedgerRecord, actual: LedgerRecord): string | undefined {
  for (const key of RECORD_KEYS) if (expected[key] !== actual[key]) return key;
  for (const key of SOURCE_KEYS) if (expected.source[key] !== actual.source[key]) return `source.${key}`;
  return undefined;
}

/** Why a checkpoint is wrong, or undefined: signed, trusted, and true of the records it names. */
export function checkpointIssue(
  envelope: EventEnvelope,
  signatureOk: boolean,
  truth: { headHashAt: (size: number) => string | undefined; rootAt: (size: number) => string | undefined },
  trustedKeys?: ReadonlySet<string>,
): string | undefined {
  const parsed = Checkpoint.safeParse(envelope.data);
  if (envelope.type !== "ledger.checkpointed" || !parsed.success) return "malformed checkpoint";
  if (!signatureOk) return `bad signature (signer ${envelope.signer})`;
  if (trustedKeys && !trustedKeys.has(envelope.signer)) return `signed by an unknown key ${envelope.signer}`;
  const { size, headHash, root } = parsed.data;
  const head = truth.headHashAt(size);
  if (head === undefined) return `names ${size} records, more than the ledger holds`;
  if (head !== headHash) return `head hash ${headHash} is not the hash of record ${size - 1} (${head})`;
  if (truth.rootAt(size) !== root) return `Merkle root ${root} is not the root of the first ${size} records`;
  return undefined;
}
