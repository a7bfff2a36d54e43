import { z } from "zod";
import {
  AnchorBroadcastReceipt,
  CheckpointAnchored,
  CheckpointAnchorFailed,
  checkpointHashFromOutputs,
} from "../../domain/ledger/anchor.js";
import { BitcoindUnreachableError, BitcoinRpcError, RPC_INVALID_ADDRESS_OR_KEY, type BitcoinRpc } from "../bitcoin/rpc.js";

/** A checkpoint to anchor: the ledger size it covers and its 32-byte hash (hex). */
export interface CheckpointRef {
  readonly size: number;
  readonly hash: string;
}

/** pino's and Fastify's loggers fit. */
export interface AnchoringLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface AnchoringOptions {
  readonly intervalMs: number;
  readonly latestCheckpoint: () => Promise<CheckpointRef | undefined>;
  /** The size of the last checkpoint recorded as anchored, if any. */
  readonly lastAnchored: () => Promise<number | undefined>;
  readonly broadcast: (hash: string) => Promise<AnchorBroadcastReceipt>;
  /** Records the anchor event; a failure here is retried with the same anchor, not a new broadcast. */
  readonly record: (anchor: CheckpointAnchored) => Promise<void>;
  readonly reportFailure: (failure: CheckpointAnchorFailed) => Promise<void>;
  readonly log: AnchoringLog;
  /** First retry after a failure; doubles with each failure in a row. Default: min(intervalMs, 10 s). */
  readonly retryBaseMs?: number;
  /** The longest wait between retries. Default: intervalMs (a failure never delays anchoring past the next regular tick). */
  readonly retryMaxMs?: number;
  readonly now?: () => Date;
}

export type AnchoringOutcome =
  | { readonly status: "anchored"; readonly anchor: CheckpointAnchored }
  | { readonly status: "upToDate" }
  | { readonly status: "failed"; readonly failure: CheckpointAnchorFailed }
  | { readonly status: "stopped" };

export interface Anchoring {
  /** One pass now, whatever the schedule; joins a pass already under way instead of starting another. Never rejects. */
  runOnce(): Promise<AnchoringOutcome>;
  /** Clears the timer and waits for a pass under way; after it resolves nothing runs or writes. */
  stop(): Promise<void>;
}

const reasonOf = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 2000) || "unknown error";

/**
 * Anchors the latest checkpoint not yet anchored, on its own timer: the first pass at once, then
 * every intervalMs. Callers never wait for it. A failed pass is reported and tried again sooner,
 * with backoff; the checkpoint is not dropped, since the next pass reads what is still unanchored.
 * One pass at a time, and a checkpoint this loop broadcast is never broadcast again: if recording
 * its anchor fails, the next pass records that same anchor.
 */
export function startAnchoring(opts: AnchoringOptions): Anchoring {
  const now = opts.now ?? (() => new Date());
  const retryBaseMs = opts.retryBaseMs ?? Math.min(opts.intervalMs, 10_000);
  const retryMaxMs = opts.retryMaxMs ?? opts.intervalMs;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let inFlight: Promise<AnchoringOutcome> | undefined;
  let failuresInARow = 0;
  /** Broadcast, not yet recorded. */
  let unrecorded: CheckpointAnchored | undefined;
  /** The largest checkpoint this loop anchored: guards against a lastAnchored() that lags behind record(). */
  let anchoredHere = 0;

  const retryDelay = () => Math.min(retryBaseMs * 2 ** Math.max(0, failuresInARow - 1), retryMaxMs);

  async function recordAnchor(anchor: CheckpointAnchored): Promise<AnchoringOutcome> {
    unrecorded = anchor;
    await opts.record(anchor);
    unrecorded = undefined;
    anchoredHere = Math.max(anchoredHere, anchor.checkpointSize);
    failuresInARow = 0;
    opts.log.info({ ...anchor }, "checkpoint anchored");
    return { status: "anchored", anchor };
  }

  async function pass(): Promise<AnchoringOutcome> {
    let checkpoint: CheckpointRef | undefined;
    try {
      if (unrecorded) return await recordAnchor(unrecorded);
      checkpoint = await opts.latestCheckpoint();
      if (!checkpoint) return { status: "upToDate" };
      const last = Math.max((await opts.lastAnchored()) ?? 0, anchoredHere);
      if (checkpoint.size <= last) {
        failuresInARow = 0;
        return { status: "upToDate" };
      }
      const receipt = AnchorBroadcastReceipt.parse(await opts.broadcast(checkpoint.hash));
      const anchor = CheckpointAnchored.parse({
        checkpointSize: checkpoint.size,
        checkpointHash: checkpoint.hash,
        txid: receipt.txid,
        network: receipt.network,
        anchoredAt: now().toISOString(),
      });
      return await recordAnchor(anchor);
    } catch (err) {
      failuresInARow++;
      const failedAt = now();
      const about = unrecorded ?? (checkpoint ? { checkpointSize: checkpoint.size, checkpointHash: checkpoint.hash } : {});
      const failure: CheckpointAnchorFailed = {
        ...(about.checkpointSize !== undefined ? { checkpointSize: about.checkpointSize } : {}),
        ...(about.checkpointHash !== undefined ? { checkpointHash: about.checkpointHash } : {}),
        attempt: failuresInARow,
        reason: unrecorded ? `broadcast as ${unrecorded.txid}, not recorded: ${reasonOf(err)}` : reasonOf(err),
        failedAt: failedAt.toISOString(),
        retryAt: new Date(failedAt.getTime() + retryDelay()).toISOString(),
      };
      opts.log.warn({ ...failure }, "checkpoint anchoring failed; will retry");
      try {
        await opts.reportFailure(failure);
      } catch (reportErr) {
        opts.log.error({ ...failure, reportError: reasonOf(reportErr) }, "anchoring failure could not be reported");
      }
      return { status: "failed", failure };
    }
  }

  function runOnce(): Promise<AnchoringOutcome> {
    if (stopped) return Promise.resolve({ status: "stopped" });
    inFlight ??= pass().finally(() => (inFlight = undefined));
    return inFlight;
  }

  function schedule(delayMs: number) {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      void runOnce().then((outcome) => schedule(outcome.status === "failed" ? retryDelay() : opts.intervalMs));
    }, delayMs);
  }
  schedule(0);

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await inFlight;
    },
  };
}

/** The anchor proxy refused a broadcast or could not be reached. */
export class AnchorBroadcastError extends Error {
  override readonly name = "AnchorBroadcastError";
  constructor(
    /** The proxy's HTTP status; absent when it did not answer. */
    readonly status: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

const ErrorReply = z.object({ error: z.string(), message: z.string() }).loose();

/** The anchoring loop's `broadcast`: POST /anchor/broadcast on the anchor proxy at `url`. */
export function proxyBroadcaster(url: string, token: string, opts: { timeoutMs?: number } = {}): (hash: string) => Promise<AnchorBroadcastReceipt> {
  const endpoint = `${url.replace(/\/+$/, "")}/anchor/broadcast`;
  return async (hash) => {
    let res: Response;
    let text: string;
    try {
      res = await fetch(endpoint, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ hash }),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000),
      });
      text = await res.text();
    } catch (err) {
      const cause = err instanceof Error ? ((err.cause as { code?: string } | undefined)?.code ?? err.message) : String(err);
      throw new AnchorBroadcastError(undefined, `anchor proxy not reachable at ${url}: ${cause}`);
    }
    const body = parseJson(text);
    if (!res.ok) {
      const reply = ErrorReply.safeParse(body);
      const why = reply.success ? `${reply.data.error}: ${reply.data.message}` : text.slice(0, 200) || "no reason given";
      throw new AnchorBroadcastError(res.status, `anchor proxy refused the broadcast (HTTP ${res.status}) ${why}`);
    }
    const receipt = AnchorBroadcastReceipt.safeParse(body);
    if (!receipt.success) throw new AnchorBroadcastError(res.status, `anchor proxy answered without a receipt: ${text.slice(0, 200)}`);
    return receipt.data;
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export type AnchorCheck =
  | { readonly status: "ok"; readonly confirmations: number; readonly blockhash?: string }
  /** The transaction exists but its OP_RETURN carries another hash, or none of ours (found: null). */
  | { readonly status: "mismatch"; readonly found: string | null }
  /** bitcoind knows no such transaction: the anchor record names a transaction that was never sent (or is on another chain). */
  | { readonly status: "missing"; readonly reason: string }
  /** This RPC could not check the anchor: no answer, a refusal, or another chain. */
  | { readonly status: "unreachable"; readonly reason: string };

/** For the audit: does the transaction an anchor record names carry that checkpoint's hash? */
export async function checkAnchor(rpc: BitcoinRpc, anchor: CheckpointAnchored): Promise<AnchorCheck> {
  try {
    const { chain } = await rpc.getBlockchainInfo();
    if (chain !== anchor.network) return { status: "unreachable", reason: `${rpc.endpoint} serves ${chain}; the anchor is on ${anchor.network}` };
    const tx = await rpc.getRawTransaction(anchor.txid);
    const found = checkpointHashFromOutputs(tx.vout);
    if (found !== anchor.checkpointHash) return { status: "mismatch", found: found ?? null };
    return { status: "ok", confirmations: tx.confirmations ?? 0, ...(tx.blockhash !== undefined ? { blockhash: tx.blockhash } : {}) };
  } catch (err) {
    if (err instanceof BitcoinRpcError && err.code === RPC_INVALID_ADDRESS_OR_KEY) return { status: "missing", reason: err.message };
    if (err instanceof BitcoinRpcError || err instanceof BitcoindUnreachableError) return { status: "unreachable", reason: err.message };
    throw err;
  }
}
