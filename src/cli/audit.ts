import { readFile } from "node:fs/promises";
import { join } from "node:path";
import cliProgress from "cli-progress";
import type { NatsConnection } from "@nats-io/transport-node";
import { bitcoinRpc, type BitcoinRpc } from "../adapters/bitcoin/rpc.js";
import { bitcoinRpcConfigFrom } from "../adapters/bitcoin/rpcConfig.js";
import { verifyEventSignature } from "../adapters/crypto/eventSigning.js";
import { auditLedger, type AuditIssue, type AuditOptions, type AuditResult, type AuditSource, type LedgerLocation, type VerifiedCheckpoint } from "../adapters/ledger/audit.js";
import type { AnchorAudit } from "../adapters/ledger/auditAnchors.js";
import { followLedger } from "../adapters/ledger/auditFollow.js";
import { commitCheckerPool, type CommitChecker } from "../adapters/ledger/commitChecker.js";
import { verifyOrderingChain, type OrderingChainVerdict } from "../adapters/ledger/verifyOrderingChain.js";
import { connectNats } from "../adapters/nats/connection.js";
import { createEventReader } from "../adapters/nats/eventStore.js";
import { PublicKey, type EventEnvelope } from "../domain/events/envelope.js";
import { fromHex, merkleLevels } from "../domain/ledger/merkle.js";
import { consistencyProofDocument, inclusionProofDocument, proofKindOf, verifyConsistencyProofDocument, verifyInclusionProofDocument } from "../domain/ledger/proof.js";
import { nodeConfigFrom } from "../node/config.js";
import { resolveNatsUrl } from "./replay.js";

import { SOUND, UNSOUND } from "./auditOptions.js";

/** A mistake in how the command was called, or in what it was pointed at. */
class UsageError extends Error {}

import type { AuditFlags, Globals } from "./auditOptions.js";

export async function runAudit(flags: AuditFlags, globals: ReturnType<Globals>): Promise<number> {
  const modes = [
    flags.follow && "--follow",
    flags.prove !== undefined && "--prove",
    flags.proveConsistency !== undefined && "--prove-consistency",
    flags.verifyProof !== undefined && "--verify-proof",
  ].filter(Boolean);
  if (modes.length > 1) throw new UsageError(`${modes.join(" and ")} cannot be used together`);
  if (flags.json && modes.length > 0) throw new UsageError(`--json is for the full audit, not with ${modes[0]}`);
  const trustedKeys = flags.trustedKeys === undefined ? undefined : await trustedKeysFrom(flags.trustedKeys);
  if (flags.verifyProof !== undefined) return verifyProofFile(flags.verifyProof, trustedKeys);

  const cfg = nodeConfigFrom(globals);
  const ledger: LedgerLocation = {
    stream: flags.ledgerStream,
    chainSubject: `${flags.ledgerSubjectPrefix}.chain`,
    checkpointSubject: `${flags.ledgerSubjectPrefix}.checkpoints`,
    anchorSubject: `${flags.ledgerSubjectPrefix}.anchors`,
  };
  let rpc: BitcoinRpc | undefined;
  try {
    if (flags.bitcoinRpc) rpc = bitcoinRpc({ ...bitcoinRpcConfigFrom(process.env, flags.bitcoinRpc), timeoutMs: 10_000 });
  } catch (err) {
    throw new UsageError(`--bitcoin-rpc: ${err instanceof Error ? err.message : String(err)}`);
  }
  const nc = await connect(await resolveNatsUrl(cfg.natsUrl, cfg.dataDir));
  const checker = commitCheckerPool();
  try {
    // A shallow read-ahead: the audit is slower than the stream (see createEventReader).
    const store = await createEventReader(nc, { readAhead: 256 });
    await store.streamState(ledger.stream).catch((err: unknown) => {
      throw new UsageError(`cannot read stream ${ledger.stream} (${err instanceof Error ? err.message : String(err)}): is this a node's NATS server?`);
    });
    const common = { store, checker, ledger, ...(trustedKeys ? { trustedKeys } : {}) };
    if (flags.follow) return await follow(common, flags.state ?? join(cfg.dataDir, "audit-state.json"), flags.progress, rpc);
    if (flags.prove !== undefined) return await prove(common, flags.prove, flags.progress);
    if (flags.proveConsistency !== undefined) return await proveConsistency(common, flags.proveConsistency, flags.progress);
    return await fullAudit(common, flags.progress, rpc, flags.unchainedGrace * 1000, flags.json === true);
  } finally {
    await checker.close();
    await nc.close().catch(() => undefined);
  }
}

interface Common {
  store: AuditSource;
  checker: CommitChecker;
  ledger: LedgerLocation;
  trustedKeys?: ReadonlySet<string>;
}

async function connect(url: string): Promise<NatsConnection> {
  try {
    return await connectNats(url, "edgecoder-audit");
  } catch (err) {
    const where = url.replace(/\/\/[^@/]*@/, "//");
    throw new Error(`cannot connect to NATS at ${where}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function progressBar(enabled: boolean, unit: string) {
  if (!enabled) return { update: (_done: number, _total: number, _records: number) => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { format: `audit |{bar}| {value}/{total} ${unit} | {records} records | {rate}/s`, stream: process.stderr, noTTYOutput: true, notTTYSchedule: 2000, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let running = false;
  return {
    update(done: number, total: number, records: number) {
      if (!running) bar.start(total, 0, { records: 0, rate: 0 });
      running = true;
      bar.setTotal(total);
      bar.update(done, { records, rate: Math.round(records / Math.max(0.001, (Date.now() - started) / 1000)) });
    },
    stop: () => running && ((running = false), bar.stop()),
  };
}

const say = (line: string) => console.log(line);

function describeCheckpoint(c: VerifiedCheckpoint | undefined): string {
  return c ? `${c.size} records, root ${c.root}, signed by ${c.signer} (ledger sequence ${c.seq})` : "none yet";
}

function printSound(ledger: LedgerLocation, r: { records: number; checkpoints: number; headHash: string; latest?: VerifiedCheckpoint }) {
  say(`ledger ${ledger.stream}: ${r.records} records and ${r.checkpoints} checkpoints verified, nothing wrong`);
  say(`  head hash          ${r.headHash}`);
  say(`  latest checkpoint  ${describeCheckpoint(r.latest)}`);
}

function printIssue(ledger: LedgerLocation, issue: AuditIssue, verified: { records: number; checkpoints: number }) {
  if (issue.kind === "source") {
    say(`ledger ${ledger.stream}: FAILED: ${verified.records} records and ${verified.checkpoints} checkpoints are sound, but a source event is missing from the ledger`);
    say(`first unchained source event: ${issue.stream} sequence ${issue.seq}, event id ${issue.recordId}: ${issue.reason}`);
    return;
  }
  say(`ledger ${ledger.stream}: FAILED after ${verified.records} good records and ${verified.checkpoints} good checkpoints`);
  const what = issue.kind === "record" ? `record: position ${issue.position}` : `checkpoint: checkpoint ${issue.position}`;
  say(`first bad ${what}, ledger sequence ${issue.seq}, ${issue.kind} id ${issue.recordId}: ${issue.reason}`);
}

async function fullAudit(common: Common, showProgress: boolean, rpc: BitcoinRpc | undefined, graceMs: number, json: boolean): Promise<number> {
  const bar = progressBar(showProgress, "messages");
  const result = await verifyOrderingChain({
    ...common,
    ...(rpc ? { rpc } : {}),
    keepLeaves: false,
    unchainedGraceMs: graceMs,
    onProgress: (p) => bar.update(p.done, p.total, p.records),
  }).finally(() => bar.stop());
  if (json) {
    say(JSON.stringify(verdictDocument(common.ledger, result), null, 2));
    return result.ok ? SOUND : UNSOUND;
  }
  if (result.issue) {
    printIssue(common.ledger, result.issue, result);
    return UNSOUND;
  }
  printSound(common.ledger, { ...result, ...(result.latestCheckpoint ? { latest: result.latestCheckpoint } : {}) });
  if (result.books) {
    const b = result.books;
    if (b.issue) {
      say(`credit books: FAILED: ${b.issue}`);
      return UNSOUND;
    }
    say(`  credit books       ${b.accounts} accounts, ${b.events} movements: balances ${b.available} + holds ${b.held} = minted ${b.minted} - burned ${b.burned} millicredits, none below zero`);
  }
  const u = result.unchained;
  if (u && u.pending > 0) {
    const oldest = u.oldestPendingAt === undefined ? "" : `; the oldest stored ${new Date(u.oldestPendingAt).toISOString()}, ${Math.round((Date.now() - u.oldestPendingAt) / 1000)} s ago`;
    say(`  not chained yet    ${u.pending} source event${u.pending === 1 ? "" : "s"}, stored less than ${graceMs / 1000} s before the last record${oldest}`);
  }
  if (u && u.refused > 0) say(`  refused            ${u.refused} source event${u.refused === 1 ? "" : "s"} that admission refuses (bad signature or schema), rightly not chained`);
  return result.anchors ? printAnchors(result.anchors, rpc) : SOUND;
}

/** What `--json` prints: the verdict without the in-memory parts (leaves, Merkle frontier, envelopes). */
function verdictDocument(ledger: LedgerLocation, r: OrderingChainVerdict) {
  const c = r.latestCheckpoint;
  return {
    ok: r.ok,
    ledger: ledger.stream,
    records: r.records,
    checkpoints: r.checkpoints,
    headHash: r.headHash,
    latestCheckpoint: c ? { size: c.size, headHash: c.headHash, root: c.root, signer: c.signer, seq: c.seq } : null,
    issue: r.issue ?? null,
    unchained: r.unchained ?? null,
    // Totals are exact integers that may pass 2^53: written as decimal strings.
    books: r.books ? Object.fromEntries(Object.entries(r.books).map(([k, v]) => [k, typeof v === "bigint" ? v.toString() : v])) : null,
    anchors: r.anchors ?? null,
  };
}

function printAnchors(a: AnchorAudit, rpc: BitcoinRpc | undefined): number {
  const failures = a.failuresReported === 0 ? "" : `; ${a.failuresReported} anchoring failure${a.failuresReported === 1 ? "" : "s"} reported (retried)`;
  if (a.issue) {
    say(`anchors: FAILED${failures}`);
    say(`first bad anchor: ledger sequence ${a.issue.seq}, anchor id ${a.issue.recordId}: ${a.issue.reason}`);
    return UNSOUND;
  }
  const checked = a.unchecked ?? `${a.confirmed} of ${a.anchors} transactions found carrying their checkpoint's hash (${a.networks.join(", ") || "no network"}, bitcoind at ${rpc?.endpoint})`;
  say(`anchors: ${a.anchors} checkpoint${a.anchors === 1 ? "" : "s"} anchored, each naming a checkpoint of the ledger; ${checked}${failures}`);
  return SOUND;
}

async function follow(common: Common, stateFile: string, showProgress: boolean, rpc: BitcoinRpc | undefined): Promise<number> {
  const stop = new AbortController();
  const signals = ["SIGINT", "SIGTERM"] as const;
  const onSignal = () => stop.abort();
  for (const s of signals) process.on(s, onSignal);
  const bar = progressBar(showProgress, "ledger messages");
  try {
    const result = await followLedger({
      ...common,
      stateFile,
      signal: stop.signal,
      onResume: (p) => say(`resuming from ${stateFile}: ledger sequence ${p.seq}, ${p.progress.count} records and ${p.checkpoints} checkpoints verified before`),
      onProgress: (p) => bar.update(p.seq, p.lastSeq, p.records),
      onCaughtUp: (p) => {
        bar.stop();
        printSound(common.ledger, { records: p.progress.count, checkpoints: p.checkpoints, headHash: p.progress.headHash, ...(p.lastCheckpoint ? { latest: p.lastCheckpoint } : {}) });
        say(`following ${common.ledger.stream} from sequence ${p.seq + 1}; state in ${stateFile}; Ctrl-C stops`);
      },
      onCheckpoint: (c, live) => live && say(`checkpoint verified: ${c.size} records, root ${c.root}, head ${c.headHash}, signed by ${c.signer} (ledger sequence ${c.seq})`),
      ...(rpc ? { rpc } : {}),
      onAnchor: ({ anchor, seq, confirmed }) =>
        say(`anchor verified: checkpoint of ${anchor.checkpointSize} records in transaction ${anchor.txid} on ${anchor.network}${confirmed ? ", found there" : ""} (ledger sequence ${seq})`),
    });
    bar.stop();
    if (result.issue) {
      printIssue(common.ledger, result.issue, { records: result.position.progress.count, checkpoints: result.position.checkpoints });
      return UNSOUND;
    }
    if (result.anchors?.issue) return printAnchors(result.anchors, rpc);
    const p = result.position;
    say(`stopped at ledger sequence ${p.seq}: ${p.progress.count} records and ${p.checkpoints} checkpoints verified (${result.recordsThisRun} records this run); state saved to ${stateFile}`);
    return SOUND;
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}

/** The full audit a proof is made from, keeping the record hashes; undefined (the issue printed) when the ledger fails it. */
async function auditForProof(common: Common, showProgress: boolean, hooks: Pick<AuditOptions, "onRecord" | "onCheckpoint">): Promise<AuditResult | undefined> {
  const bar = progressBar(showProgress, "messages");
  const result = await auditLedger({ ...common, ...hooks, onProgress: (p) => bar.update(p.done, p.total, p.records) }).finally(() => bar.stop());
  if (!result.issue) return result;
  printIssue(common.ledger, result.issue, result);
  console.error("edgecoder audit: no proof is given from a ledger that fails its audit");
  return undefined;
}

async function prove(common: Common, eventId: string, showProgress: boolean): Promise<number> {
  let found: { record: EventEnvelope; index: number } | undefined;
  const result = await auditForProof(common, showProgress, {
    onRecord: (record, index) => {
      const source = (record.data as { source?: { eventId?: string } }).source;
      if (!found && (source?.eventId === eventId || record.id === eventId)) found = { record, index };
    },
  });
  if (!result) return UNSOUND;
  const checkpoint = result.latestCheckpoint;
  if (!found) {
    console.error(`edgecoder audit: event ${eventId} is not in the ledger (${result.records} records)`);
    return UNSOUND;
  }
  if (!checkpoint || found.index >= checkpoint.size) {
    console.error(`edgecoder audit: event ${eventId} is record ${found.index}, not covered by a checkpoint yet (latest: ${checkpoint ? `${checkpoint.size} records` : "none"}); try again after the next one`);
    return UNSOUND;
  }
  const tree = merkleLevels(result.leaves.slice(0, checkpoint.size).map(fromHex));
  const sourceId = (found.record.data as { source: { eventId: string } }).source.eventId;
  say(JSON.stringify(inclusionProofDocument({ eventId: sourceId, record: found.record, index: found.index, checkpoint: checkpoint.envelope, tree }), null, 2));
  return SOUND;
}

async function proveConsistency(common: Common, size: number, showProgress: boolean): Promise<number> {
  const bySize = new Map<number, EventEnvelope>();
  const result = await auditForProof(common, showProgress, { onCheckpoint: (c) => bySize.set(c.size, c.envelope) });
  if (!result) return UNSOUND;
  const from = bySize.get(size);
  const to = result.latestCheckpoint;
  if (!from || !to) {
    const sizes = [...bySize.keys()];
    const known = sizes.length === 0 ? "it has none" : `sizes ${sizes.length > 8 ? `${sizes.slice(0, 4).join(", ")}, ..., ${sizes.slice(-4).join(", ")}` : sizes.join(", ")}`;
    console.error(`edgecoder audit: the ledger has no checkpoint of ${size} records (${known})`);
    return UNSOUND;
  }
  const tree = merkleLevels(result.leaves.slice(0, to.size).map(fromHex));
  say(JSON.stringify(consistencyProofDocument({ from, to: to.envelope, tree }), null, 2));
  return SOUND;
}

async function verifyProofFile(file: string, trustedKeys: ReadonlySet<string> | undefined): Promise<number> {
  let text: string;
  try {
    text = file === "-" ? await readStdin() : await readFile(file, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read the proof ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    say("proof refused: not JSON");
    return UNSOUND;
  }
  const keys = { signatureOk: verifyEventSignature, ...(trustedKeys ? { trustedKeys } : {}) };
  if (proofKindOf(document) === "consistency") {
    const verdict = verifyConsistencyProofDocument(document, keys);
    if (!verdict.ok) {
      say(`proof refused: ${verdict.reason}`);
      return UNSOUND;
    }
    say(`ok: the checkpoint of ${verdict.to.size} records (root ${verdict.to.root}) extends the checkpoint of ${verdict.from.size} records (root ${verdict.from.root})`);
    if (!trustedKeys) say("  (no --trusted-keys given: the checkpoints' signers were not checked against trusted coordinators)");
    return SOUND;
  }
  const verdict = verifyInclusionProofDocument(document, keys);
  if (!verdict.ok) {
    say(`proof refused: ${verdict.reason}`);
    return UNSOUND;
  }
  const { proof, checkpoint } = verdict;
  say(`ok: event ${proof.eventId} is record ${proof.index} of the ledger whose checkpoint of ${checkpoint.size} records has root ${checkpoint.root}, signed by ${proof.checkpoint.signer}`);
  if (!trustedKeys) say("  (no --trusted-keys given: the checkpoint's signer was not checked against trusted coordinators)");
  return SOUND;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** `--trusted-keys`: a file of keys (whitespace or comma separated, # comments), or the keys themselves. */
async function trustedKeysFrom(arg: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(arg, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENAMETOOLONG") throw new UsageError(`--trusted-keys: cannot read ${arg}: ${(err as Error).message}`);
    text = arg;
  }
  const keys = text
    .split("\n")
    .map((line) => line.replace(/#.*/, ""))
    .flatMap((line) => line.split(/[\s,]+/))
    .filter(Boolean);
  if (keys.length === 0) throw new UsageError(`--trusted-keys: no keys in ${arg}`);
  for (const key of keys) {
    if (!PublicKey.safeParse(key).success) {
      throw new UsageError(`--trusted-keys: ${key.length > 60 ? `${key.slice(0, 60)}...` : key} is neither a readable file nor an Ed25519 public key (43 base64url characters)`);
    }
  }
  return new Set(keys);
}
