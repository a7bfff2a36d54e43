import { DEFAULT_UNCHAINED_GRACE_MS } from "../../domain/ledger/unchained.js";
import type { BooksBalance } from "../../domain/credits/books.js";
import { creditsContext } from "../../domain/credits/context.js";
import { auditCreditBooks } from "./creditBooks.js";
export { DEFAULT_UNCHAINED_GRACE_MS };
import type { EventEnvelope } from "../../domain/events/envelope.js";
import { merkleAccumulator, toHex, type MerkleFrontier } from "../../domain/ledger/merkle.js";
import { Checkpoint, GENESIS_HASH } from "../../domain/ledger/record.js";
import { chainVerifier, checkpointIssue, type ChainIssue, type ChainProgress } from "../../domain/ledger/verify.js";
import type { SignatureVerifier } from "../crypto/verificationPool.js";
import type { RawCommit } from "../nats/eventStore.js";
import { chainedStreams } from "../../domain/contexts.js";
import { checkedInBatches, ledgerSteps } from "./checkedBatches.js";
import { commitCheckerOf, eventsOf, type CheckedEvents, type CommitChecker } from "./commitChecker.js";
import { nodeLedger, type AuditSource, type LedgerLocation } from "./ledgerLocation.js";
import { sourceIndex, type SourceIndex } from "./ledgerSources.js";
import { checkUnchained, type UnchainedReport } from "./unchainedSources.js";

// Where its readers have always found them.
export { nodeLedger, type AuditSource, type LedgerLocation };

/** A checkpoint that was found true of the records it names. */
export interface VerifiedCheckpoint extends Checkpoint {
  readonly signer: string;
  readonly seq: number;
  readonly envelope: EventEnvelope;
}

/**
 * The first bad record, or the first bad checkpoint (then `position` counts checkpoints), or a
 * source event the ledger moved past without chaining (then `seq` is in `stream`, a source stream).
 */
export interface AuditIssue extends ChainIssue {
  readonly kind: "record" | "checkpoint" | "source";
  readonly stream?: string;
}

/** Where a verification stands: enough to go on later without reading what it covered again. */
export interface AuditPosition {
  /** The last ledger stream sequence taken. */
  readonly seq: number;
  readonly progress: ChainProgress;
  /** The Merkle tree over the `progress.count` records verified. */
  readonly tree: MerkleFrontier;
  readonly checkpoints: number;
  readonly lastCheckpoint?: VerifiedCheckpoint;
  /**
   * The tree at the last checkpoint and the record hashes since: a checkpoint may name fewer
   * records than were verified when it is read (another coordinator chained meanwhile).
   */
  readonly sinceCheckpoint: { readonly tree: MerkleFrontier; readonly leaves: readonly string[] };
  /** Checkpoints read that name more records than were read before them: checked once those are. */
  readonly pendingCheckpoints: readonly { readonly seq: number; readonly envelope: EventEnvelope }[];
}

export const startOfLedger: AuditPosition = {
  seq: 0,
  progress: { count: 0, headHash: GENESIS_HASH },
  tree: { size: 0, frontier: [] },
  checkpoints: 0,
  sinceCheckpoint: { tree: { size: 0, frontier: [] }, leaves: [] },
  pendingCheckpoints: [],
};

export interface LedgerAuditor {
  /** Takes the next checked ledger messages in stream order; false once something is wrong. */
  take(batch: readonly RawCommit[], checked: CheckedEvents): Promise<boolean>;
  position(): AuditPosition;
  issue(): AuditIssue | undefined;
  /** The ledger ends here (a full audit): a checkpoint still waiting names records it does not hold. */
  finish(): AuditIssue | undefined;
}

const hexBytes = (hex: string) => Buffer.from(hex, "hex");
const decoder = new TextDecoder();
const isObject = (e: unknown): e is Record<string, unknown> => e !== null && typeof e === "object" && !Array.isArray(e);

function sourceIdOf(e: unknown): string | undefined {
  const source = isObject(e) && isObject(e.data) ? e.data.source : undefined;
  return isObject(source) && typeof source.eventId === "string" ? source.eventId : undefined;
}

/** The id of an altered message's first event, when it can still be read from the text. */
function idIn(text: string): string {
  return /"id"\s*:\s*"([^"\\]{1,128})"/.exec(text)?.[1] ?? "(unreadable)";
}

/**
 * The auditor's check of one ledger, message after message in stream order, so that it can stop
 * anywhere and go on later: every record (signature, trusted signer, index, link, match with its
 * source event, no source chained twice) and every checkpoint (signature, trusted signer, it names
 * more records than the one before, and its head hash and Merkle root are those of that many
 * records). A checkpoint is written after the records it names, so one that names more than were
 * read before it is checked when they have been: if one of them is missing, the record after the
 * gap is what is named, not the checkpoint. The first failure is kept and nothing after it is taken.
 */
export function ledgerAuditor(opts: {
  ledger: LedgerLocation;
  sources: SourceIndex;
  trustedKeys?: ReadonlySet<string>;
  from?: AuditPosition;
  /** Keep every record hash (the Merkle tree's leaves), for proofs. */
  leaves?: string[];
  onRecord?: (record: EventEnvelope, index: number, seq: number) => void;
  onCheckpoint?: (checkpoint: VerifiedCheckpoint) => void;
}): LedgerAuditor {
  const from = opts.from ?? startOfLedger;
  const verifier = chainVerifier({
    source: (id) => opts.sources.source(id),
    chained: opts.sources.chained,
    from: from.progress,
    ...(opts.trustedKeys ? { trustedKeys: opts.trustedKeys } : {}),
  });
  const tree = merkleAccumulator(from.tree);
  let seq = from.seq;
  let checkpoints = from.checkpoints;
  let lastCheckpoint = from.lastCheckpoint;
  let base = from.sinceCheckpoint.tree;
  let since = [...from.sinceCheckpoint.leaves];
  let failed: AuditIssue | undefined;

  function record(e: unknown, signatureOk: boolean, hash: string, at: number): boolean {
    if (!isObject(e)) {
      failed = { kind: "record", position: verifier.progress().count, seq: at, recordId: "(not an event)", reason: "not an event envelope" };
      return false;
    }
    const envelope = e as unknown as EventEnvelope;
    const bad = verifier.check(envelope, signatureOk, at, hash);
    if (bad) {
      const id = sourceIdOf(e);
      const forged = id === undefined ? undefined : opts.sources.lookup(id);
      const reason =
        forged && !forged.signatureOk && bad.reason.startsWith("its source event")
          ? `its source event ${id} (${forged.stream} sequence ${forged.seq}) has a bad signature`
          : bad.reason;
      failed = { ...bad, reason, kind: "record" };
      return false;
    }
    tree.append(hexBytes(hash));
    since.push(hash);
    opts.leaves?.push(hash);
    opts.onRecord?.(envelope, tree.size - 1, at);
    while (waiting[0] && waiting[0].data.size === tree.size) if (!checkpointHolds(waiting.shift()!)) return false;
    return true;
  }

  /** The tree over the first `size` records, for size between the last checkpoint's and now. */
  function treeAt(size: number) {
    if (size === tree.size) return tree;
    const t = merkleAccumulator(base);
    for (const leaf of since.slice(0, size - base.size)) t.append(hexBytes(leaf));
    return t;
  }

  interface Waiting {
    readonly seq: number;
    readonly envelope: EventEnvelope;
    readonly position: number;
    readonly data: Checkpoint;
  }
  const waiting: Waiting[] = from.pendingCheckpoints.map((p, i) => ({ ...p, position: from.checkpoints + i, data: Checkpoint.parse(p.envelope.data) }));

  function checkpointFailed(position: number, at: number, envelope: EventEnvelope, reason: string): false {
    failed = { kind: "checkpoint", position, seq: at, recordId: typeof envelope.id === "string" ? envelope.id : "(not an event)", reason };
    return false;
  }

  /** A checkpoint as it is read: what it says of itself now, what it says of the records once they are read. */
  function checkpoint(e: unknown, signatureOk: boolean, at: number): boolean {
    const envelope = (isObject(e) ? e : {}) as EventEnvelope;
    const position = checkpoints + waiting.length;
    const fail = (reason: string) => checkpointFailed(position, at, envelope, reason);
    const parsed = Checkpoint.safeParse(envelope.data);
    if (envelope.type !== "ledger.checkpointed" || !parsed.success) return fail("malformed checkpoint");
    if (!signatureOk) return fail(`bad signature (signer ${envelope.signer})`);
    if (opts.trustedKeys && !opts.trustedKeys.has(envelope.signer)) return fail(`signed by an unknown key ${envelope.signer}`);
    // A chainer never checkpoints fewer records than a checkpoint it has seen.
    const before = waiting.at(-1)?.data.size ?? lastCheckpoint?.size;
    if (before !== undefined && parsed.data.size <= before) return fail(`names ${parsed.data.size} records, no more than the checkpoint before it (${before})`);
    const read = { seq: at, envelope, position, data: parsed.data };
    if (parsed.data.size > verifier.progress().count) {
      waiting.push(read);
      return true;
    }
    return checkpointHolds(read);
  }

  /** Its head hash and Merkle root are those of the records it names, all read by now. */
  function checkpointHolds(c: Waiting): boolean {
    const { size } = c.data;
    const count = verifier.progress().count;
    let sized: ReturnType<typeof treeAt> | undefined;
    const why = checkpointIssue(
      c.envelope,
      true,
      {
        headHashAt: (n) => (n > count || n <= base.size ? undefined : n === count ? verifier.progress().headHash : since[n - base.size - 1]),
        rootAt: (n) => toHex((sized ??= treeAt(n)).root()),
      },
      opts.trustedKeys,
    );
    if (why) return checkpointFailed(c.position, c.seq, c.envelope, why);
    const next = (sized ?? treeAt(size)).state();
    since = since.slice(size - base.size);
    base = next;
    lastCheckpoint = { ...c.data, signer: c.envelope.signer, seq: c.seq, envelope: c.envelope };
    checkpoints += 1;
    opts.onCheckpoint?.(lastCheckpoint);
    return true;
  }

  return {
    async take(batch, checked) {
      if (failed) return false;
      // Decoded only now: while they waited to be checked they were bytes, off the heap.
      const texts = batch.map((c) => decoder.decode(c.data));
      const parsed = texts.map((text) => eventsOf(text));
      // A record naming a source event not read yet: the source streams moved on since they were read.
      const unread = batch.some(
        (c, i) =>
          c.subject === opts.ledger.chainSubject &&
          parsed[i]?.some((e) => {
            const id = sourceIdOf(e);
            return id !== undefined && !opts.sources.lookup(id);
          }),
      );
      if (unread) await opts.sources.catchUp();
      let k = 0;
      for (const [i, commit] of batch.entries()) {
        const events = parsed[i];
        const text = texts[i]!;
        const isChain = commit.subject === opts.ledger.chainSubject;
        if (!isChain && commit.subject !== opts.ledger.checkpointSubject) {
          // Another subject of the stream (anchors): its events were checked too, and are skipped.
          k += events?.length ?? 0;
          seq = commit.seq;
          continue;
        }
        if (!events) {
          failed = isChain
            ? { kind: "record", position: verifier.progress().count, seq: commit.seq, recordId: idIn(text), reason: "not a JSON array of events: the message was altered" }
            : { kind: "checkpoint", position: checkpoints + waiting.length, seq: commit.seq, recordId: idIn(text), reason: "not a JSON array of events: the message was altered" };
          return false;
        }
        for (const e of events) {
          const ok = checked.valid[k] ?? false;
          const hash = checked.hashes[k++] ?? "";
          if (!(isChain ? record(e, ok, hash, commit.seq) : checkpoint(e, ok, commit.seq))) return false;
        }
        seq = commit.seq;
      }
      return true;
    },
    position: () => ({
      seq,
      progress: verifier.progress(),
      tree: tree.state(),
      checkpoints,
      ...(lastCheckpoint ? { lastCheckpoint } : {}),
      sinceCheckpoint: { tree: base, leaves: [...since] },
      pendingCheckpoints: waiting.map(({ seq, envelope }) => ({ seq, envelope })),
    }),
    issue: () => failed,
    finish() {
      const first = waiting[0];
      if (!failed && first) checkpointFailed(first.position, first.seq, first.envelope, `names ${first.data.size} records, more than the ledger holds (${verifier.progress().count})`);
      return failed;
    },
  };
}

export interface AuditOptions {
  readonly store: AuditSource;
  /** Checks signatures and hashes events; commitCheckerPool() does all of it on worker threads. */
  readonly checker?: CommitChecker;
  /** Or only signatures on these threads, hashes on the calling one. */
  readonly verifier?: SignatureVerifier;
  readonly ledger?: LedgerLocation;
  readonly sourceStreams?: readonly string[];
  readonly trustedKeys?: ReadonlySet<string>;
  readonly batchSize?: number;
  /** Keep every record hash in `leaves` (default true); a plain audit needs none, a proof all. */
  readonly keepLeaves?: boolean;
  readonly onProgress?: (p: { done: number; total: number; records: number }) => void;
  readonly onRecord?: (record: EventEnvelope, index: number, seq: number) => void;
  readonly onCheckpoint?: (checkpoint: VerifiedCheckpoint) => void;
  /**
   * Source events not chained yet are a fault once the ledger holds a record stored this long
   * after them (default 5 minutes; see judgeUnchained). Negative: not checked.
   */
  readonly unchainedGraceMs?: number;
}


export interface AuditResult {
  readonly ok: boolean;
  readonly records: number;
  readonly checkpoints: number;
  readonly headHash: string;
  readonly latestCheckpoint?: VerifiedCheckpoint;
  /** The first bad record, or the first bad checkpoint. */
  readonly issue?: AuditIssue;
  /** The record hashes in order (the Merkle tree's leaves), for proofs; empty unless kept. */
  readonly leaves: readonly string[];
  readonly progress: ChainProgress;
  /** Where the audit stopped, to go on from there. */
  readonly position: AuditPosition;
  /** The source events no record chains, once the ledger was found sound. */
  readonly unchained?: UnchainedReport;
  /** The credit books from the credits stream: no balance below zero, balances and holds equal minted less burned. */
  readonly books?: BooksBalance;
}

/** The checker an audit uses: the one given, or one made of the signature verifier given. */
export function checkerOf(opts: { checker?: CommitChecker; verifier?: SignatureVerifier }): CommitChecker {
  if (opts.checker) return opts.checker;
  if (opts.verifier) return commitCheckerOf(opts.verifier);
  throw new TypeError("an audit needs a checker or a signature verifier");
}

/**
 * The auditor's full check, with nothing but the streams and public keys: every source event's
 * signature, then the ledger from its first message (see ledgerAuditor). Reading, checking on the
 * worker threads and following the chain overlap. Stops at the first bad record and names it.
 */
export async function auditLedger(opts: AuditOptions): Promise<AuditResult> {
  const ledger = opts.ledger ?? nodeLedger;
  const checker = checkerOf(opts);
  const streams = opts.sourceStreams ?? chainedStreams;
  // The ledger's end is taken before the sources are read: every record up to it names a source stored before it.
  const upTo = await opts.store.lastSeq(ledger.stream);
  const total = upTo + (await Promise.all(streams.map((s) => opts.store.lastSeq(s)))).reduce((a, b) => a + b, 0);
  const sources = sourceIndex({ store: opts.store, checker, streams });
  const leaves: string[] = [];
  const auditor = ledgerAuditor({
    ledger,
    sources,
    ...(opts.keepLeaves === false ? {} : { leaves }),
    ...(opts.trustedKeys ? { trustedKeys: opts.trustedKeys } : {}),
    ...(opts.onRecord ? { onRecord: opts.onRecord } : {}),
    ...(opts.onCheckpoint ? { onCheckpoint: opts.onCheckpoint } : {}),
  });
  let done = 0;
  const report = (messages: number) => {
    done += messages;
    opts.onProgress?.({ done, total, records: auditor.position().progress.count });
  };
  const sourcesRead = sources.catchUp(report);
  sourcesRead.catch(() => undefined); // awaited below
  let lastRecordSeq = 0;
  if (upTo > 0) {
    await checkedInBatches(
      opts.store.read(ledger.stream, { toSeq: upTo }),
      ledgerSteps(checker, async (batch, checked) => {
        await sourcesRead;
        const go = await auditor.take(batch, checked);
        if (go) for (const c of batch) if (c.subject === ledger.chainSubject) lastRecordSeq = c.seq;
        report(batch.length);
        return go;
      }),
      { ...(opts.batchSize ? { batchSize: opts.batchSize } : {}) },
    );
  }
  await sourcesRead;
  let issue = auditor.finish();
  const graceMs = opts.unchainedGraceMs ?? DEFAULT_UNCHAINED_GRACE_MS;
  let unchained: UnchainedReport | undefined;
  if (!issue && graceMs >= 0) {
    unchained = await checkUnchained({ store: opts.store, sources, ledger, lastRecordSeq, graceMs });
    const d = unchained.dropped;
    if (d) {
      const reason = `${d.type} event never chained: the ledger holds records stored ${Math.round(graceMs / 1000)} s and more after it, none for it`;
      issue = { kind: "source", stream: d.stream, position: auditor.position().progress.count, seq: d.seq, recordId: d.eventId, reason };
    }
  }
  // The books are the credits stream's own check, read when the audit covers that stream.
  const books =
    streams.includes(creditsContext.stream) && !issue
      ? await auditCreditBooks({ store: opts.store, knownSignature: (id) => sources.lookup(id)?.signatureOk, ...(opts.verifier ? { verifier: opts.verifier } : {}) })
      : undefined;
  const position = auditor.position();
  return {
    ok: !issue && !books?.issue,
    ...(books ? { books } : {}),
    records: position.progress.count,
    checkpoints: position.checkpoints,
    headHash: position.progress.headHash,
    ...(position.lastCheckpoint ? { latestCheckpoint: position.lastCheckpoint } : {}),
    ...(issue ? { issue } : {}),
    leaves,
    progress: position.progress,
    position,
    ...(unchained ? { unchained } : {}),
  };
}
