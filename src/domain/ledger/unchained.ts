/**
 * Source events the ledger does not hold. The chainer refuses what admission refuses (a bad
 * signature, an unknown type, a malformed payload), and an admitted event may still be on its
 * way: chaining is asynchronous, and a chainer that died holding one leaves it to another after
 * the consumer's ack wait. So an admitted event missing from the ledger is a fault only once the
 * ledger has moved on well past it: the server stored a record `graceMs` or more after the event.
 */
export interface UnchainedCandidate {
  readonly stream: string;
  readonly seq: number;
  readonly eventId: string;
  readonly type: string;
  /** When the server stored the event's message (ms since the epoch): the server's clock, not the writer's. */
  readonly storedAt: number;
  /** Undefined when admission takes it, else why admission refuses it. */
  readonly refusedBecause?: string;
}

export interface UnchainedVerdict {
  /** The earliest-stored admitted event the ledger moved past without it. */
  readonly dropped?: UnchainedCandidate;
  /** Admitted events not chained yet, the ledger not past them by `graceMs`. */
  readonly pending: number;
  /** When the earliest of those was stored: how far a stalled chainer is behind. */
  readonly oldestPendingAt?: number;
  /** Events admission refuses, rightly not chained. */
  readonly refused: number;
}

/** `ledgerStoredAt`: when the server stored the last record read (undefined: the ledger is empty). */
export function judgeUnchained(candidates: readonly UnchainedCandidate[], ledgerStoredAt: number | undefined, graceMs: number): UnchainedVerdict {
  let dropped: UnchainedCandidate | undefined;
  let pending = 0;
  let oldestPendingAt: number | undefined;
  let refused = 0;
  for (const c of candidates) {
    if (c.refusedBecause !== undefined) refused += 1;
    else if (ledgerStoredAt !== undefined && c.storedAt + graceMs <= ledgerStoredAt) {
      if (!dropped || c.storedAt < dropped.storedAt) dropped = c;
    } else {
      pending += 1;
      oldestPendingAt = Math.min(oldestPendingAt ?? c.storedAt, c.storedAt);
    }
  }
  return { ...(dropped ? { dropped } : {}), pending, ...(oldestPendingAt !== undefined ? { oldestPendingAt } : {}), refused };
}

/** Five minutes: far past the chainer's ack wait (15 s), after which another node chains what a dead one held. */
export const DEFAULT_UNCHAINED_GRACE_MS = 300_000;
