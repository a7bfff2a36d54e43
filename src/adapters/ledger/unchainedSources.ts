import { judgeUnchained, type UnchainedCandidate, type UnchainedVerdict } from "../../domain/ledger/unchained.js";
import { admitAll } from "../events/admission.js";
import type { AuditSource, LedgerLocation } from "./ledgerLocation.js";
import { chainedEvents } from "../../domain/contexts.js";
import type { SourceIndex } from "./ledgerSources.js";

export interface UnchainedReport extends UnchainedVerdict {
  /** Admitted events past `limit`, not looked at one by one (counted as pending). */
  readonly unexamined: number;
}

/**
 * After a full audit: every source event the ledger does not hold is refused by admission (as
 * the chainer refuses it), or not chained yet (see judgeUnchained). Events with a bad signature
 * are refused as read; the others are few in a healthy mesh (those in flight), each fetched once
 * to be admitted again and to learn when the server stored it. At most `limit` are fetched.
 */
export async function checkUnchained(opts: {
  store: Pick<AuditSource, "commitAt">;
  sources: SourceIndex;
  ledger: LedgerLocation;
  /** The ledger sequence of the last record read; 0 when there was none. */
  lastRecordSeq: number;
  graceMs: number;
  limit?: number;
}): Promise<UnchainedReport> {
  const limit = opts.limit ?? 10_000;
  const candidates: UnchainedCandidate[] = [];
  let unexamined = 0;
  for (const s of opts.sources.unchained()) {
    const known = { stream: s.stream, seq: s.seq, eventId: s.event.id, type: s.event.type };
    if (!s.signatureOk) {
      candidates.push({ ...known, storedAt: 0, refusedBecause: "bad signature" });
      continue;
    }
    if (candidates.length >= limit) {
      unexamined += 1;
      continue;
    }
    const raw = await opts.store.commitAt(s.stream, s.seq);
    if (!raw) throw new Error(`${s.stream} no longer holds sequence ${s.seq} (event ${s.event.id}), read moments ago: was the stream purged?`);
    const [admission] = await admitAll([raw], chainedEvents);
    candidates.push({ ...known, storedAt: raw.storedAt.getTime(), ...(admission?.ok ? {} : { refusedBecause: admission?.reason ?? "refused" }) });
  }
  const last = opts.lastRecordSeq > 0 ? await opts.store.commitAt(opts.ledger.stream, opts.lastRecordSeq) : undefined;
  const verdict = judgeUnchained(candidates, last?.storedAt.getTime(), opts.graceMs);
  return { ...verdict, pending: verdict.pending + unexamined, unexamined };
}
