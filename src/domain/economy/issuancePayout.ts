import type { CreditMove } from "../credits/taskPayments.js";
import type { MovementCause } from "../credits/events.js";
import type { EpochRecord } from "./epochRecord.js";

/**
 * A final epoch pays out: each allocation of the record the quorum signed is minted to its
 * account, once (the command id names the epoch, the role and the account), pointing at the
 * finalization that made it due. The record is read from the votes: the one whose hash the
 * finalization names. Nothing is paid for an epoch not final, or whose record no vote carries.
 */
export function issuancePayout(history: readonly { type: string; data: unknown }[], epochId: string, cause: MovementCause): CreditMove[] {
  const final = history.find((e) => e.type === "epoch.finalized")?.data as { recordHash?: string } | undefined;
  if (!final?.recordHash) return [];
  const vote = history.find((e) => e.type === "epoch.voted" && (e.data as { recordHash?: string }).recordHash === final.recordHash);
  const record = (vote?.data as { record?: EpochRecord } | undefined)?.record;
  if (!record) return [];
  return record.allocations.map((a) => ({
    account: a.accountId,
    commandId: `issue:${epochId}:${a.role}:${a.accountId}`,
    command: { kind: "earn" as const, amount: a.millicredits, reason: `issuance of epoch ${epochId} (${a.role})`.slice(0, 200), ref: `epoch:${epochId}`, cause },
  }));
}
