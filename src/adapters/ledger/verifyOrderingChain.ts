import type { BitcoinRpc } from "../bitcoin/rpc.js";
import { auditLedger, nodeLedger, type AuditOptions, type AuditResult } from "./audit.js";
import { auditAnchors, type AnchorAudit } from "./auditAnchors.js";
import { commitCheckerPool } from "./commitChecker.js";

export interface OrderingChainVerdict extends AuditResult {
  /** The anchors, checked once the ledger is found sound. */
  readonly anchors?: AnchorAudit;
}

/**
 * The auditor's one call, what `edgecoder audit` runs: with nothing but the streams (read-only
 * access) and the coordinators' public keys, every source event's signature, every record's
 * hash, link, index, signature and match with its source event, every checkpoint's head hash and
 * Merkle root, the source events left out of the ledger, and then the anchors (their
 * transactions too when `rpc` reaches bitcoind). `ok` is false and `issue` (or `anchors.issue`)
 * names the first thing wrong. Checks run on worker threads: `opts.checker`, or a pool of its own.
 */
export async function verifyOrderingChain(opts: Omit<AuditOptions, "verifier"> & { readonly rpc?: BitcoinRpc; readonly threads?: number }): Promise<OrderingChainVerdict> {
  const checker = opts.checker ?? commitCheckerPool(opts.threads);
  try {
    const result = await auditLedger({ ...opts, checker });
    const ledger = opts.ledger ?? nodeLedger;
    if (result.issue || ledger.anchorSubject === undefined) return result;
    const anchors = await auditAnchors({
      store: opts.store,
      checker,
      ledger,
      ...(opts.rpc ? { rpc: opts.rpc } : {}),
      ...(opts.trustedKeys ? { trustedKeys: opts.trustedKeys } : {}),
    });
    return { ...result, ok: result.ok && !anchors.issue, anchors };
  } finally {
    if (!opts.checker) await checker.close();
  }
}
