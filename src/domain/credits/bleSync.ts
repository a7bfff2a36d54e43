import { ed25519 } from "@noble/curves/ed25519.js";
import { z } from "zod";
import { canonicalJson } from "../events/canonical.js";
import { PublicKey, Signature } from "../events/envelope.js";
import { MILLI, modelBillions } from "./workPricing.js";

/**
 * Credit transactions made offline between two devices over Bluetooth (one asked for work, the
 * other did it) and synced to a coordinator when connectivity returns. Each is signed by the
 * paying device's key over its canonical text (bleTransactionText): a device implements the
 * format from schemas/http/credits-ble-sync.schema.json and this text alone.
 */

/** What the signature covers, so a signature made for one purpose cannot be replayed as another. */
export const BLE_TRANSACTION_KIND = "edgecoder.ble.credit.v1";

export const BleTransaction = z.object({
  /** Chosen by the paying device; a transaction synced again (by any device, any number of times) counts once. */
  txId: z.uuid(),
  /** The device that asked for the work and pays: an agent key the coordinator knows. */
  requester: PublicKey,
  /** The device that did the work and earns. */
  provider: PublicKey,
  cpuSeconds: z.number().positive().max(3_600),
  /** The model the work ran on, as Ollama names it: its size sets the rate. */
  model: z.string().min(1).max(200),
  at: z.iso.datetime({ offset: false }),
  /** The requester's Ed25519 signature (base64url) over bleTransactionText. */
  signature: Signature,
});
export type BleTransaction = z.infer<typeof BleTransaction>;

/** The canonical JSON (RFC 8785) of the transaction without its signature, with the kind. */
export function bleTransactionText(tx: Omit<BleTransaction, "signature">): string {
  const { txId, requester, provider, cpuSeconds, model, at } = tx;
  return canonicalJson({ kind: BLE_TRANSACTION_KIND, txId, requester, provider, cpuSeconds, model, at });
}

export function bleSignatureHolds(tx: BleTransaction): boolean {
  try {
    return ed25519.verify(Buffer.from(tx.signature, "base64url"), new TextEncoder().encode(bleTransactionText(tx)), Buffer.from(tx.requester, "base64url"), { zip215: false });
  } catch {
    return false;
  }
}

/** The seeds' BLE rate: 1.0 credit per CPU-second x the model's quality by size (>= 7B 1.0, >= 3B 0.7, >= 1.5B 0.5, else 0.3). */
export function bleModelQuality(model: string): number {
  const b = modelBillions(model);
  return b >= 7 ? 1.0 : b >= 3 ? 0.7 : b >= 1.5 ? 0.5 : 0.3;
}

/** What the transaction moves, in millicredits: at least one. */
export const bleAmount = (tx: Pick<BleTransaction, "cpuSeconds" | "model">): number => Math.max(1, Math.floor(tx.cpuSeconds * MILLI * bleModelQuality(tx.model)));

export interface BleMove {
  readonly txId: string;
  readonly payer: string;
  readonly earner: string;
  readonly amount: number;
}

export type BleRefusal = { readonly refused: "bad_signature" | "unknown_device" | "insufficient_credits" | "repeated_transaction" | "self_payment"; readonly txId: string; readonly message: string };

/**
 * The movements a batch makes, or why it is refused whole: a signature that does not hold, a
 * device the coordinator does not know, a transaction twice in the batch, a device paying itself,
 * or a payer whose balance does not cover what the batch (less what was synced before) spends.
 */
export function planBleSync(
  txs: readonly BleTransaction[],
  facts: { readonly accountOf: (deviceKey: string) => string | undefined; readonly available: (account: string) => number; readonly synced: (txId: string) => boolean },
): { readonly moves: readonly BleMove[]; readonly repeats: readonly string[] } | BleRefusal {
  const seen = new Set<string>();
  const spends = new Map<string, number>();
  const moves: BleMove[] = [];
  const repeats: string[] = [];
  for (const tx of txs) {
    if (seen.has(tx.txId)) return { refused: "repeated_transaction", txId: tx.txId, message: `transaction ${tx.txId} is in the batch twice` };
    seen.add(tx.txId);
    if (!bleSignatureHolds(tx)) return { refused: "bad_signature", txId: tx.txId, message: `transaction ${tx.txId}: the signature is not the requester's over its text` };
    const payer = facts.accountOf(tx.requester);
    const earner = facts.accountOf(tx.provider);
    if (payer === undefined || earner === undefined) {
      return { refused: "unknown_device", txId: tx.txId, message: `transaction ${tx.txId}: device ${payer === undefined ? tx.requester : tx.provider} is no agent this coordinator knows (or it is blacklisted)` };
    }
    if (payer === earner) return { refused: "self_payment", txId: tx.txId, message: `transaction ${tx.txId}: both devices pay and earn on account ${payer}` };
    if (facts.synced(tx.txId)) {
      repeats.push(tx.txId);
      continue;
    }
    const amount = bleAmount(tx);
    const spent = (spends.get(payer) ?? 0) + amount;
    if (spent > facts.available(payer)) {
      return { refused: "insufficient_credits", txId: tx.txId, message: `transaction ${tx.txId}: account ${payer} would spend ${spent} millicredits in this batch, ${facts.available(payer)} available` };
    }
    spends.set(payer, spent);
    moves.push({ txId: tx.txId, payer, earner, amount });
  }
  return { moves, repeats };
}
