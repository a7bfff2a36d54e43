import { z } from "zod";

/**
 * A checkpoint anchored in Bitcoin: an OP_RETURN output whose data is the protocol tag "EC1"
 * followed by the 32-byte checkpoint hash (35 bytes, within the 80 bytes relayed as standard).
 * The tag tells our anchors from every other OP_RETURN on the chain and leaves room for a
 * second format ("EC2") without guessing.
 */
export const ANCHOR_TAG = "EC1";
const TAG_HEX = Buffer.from(ANCHOR_TAG, "ascii").toString("hex");
const HASH_BYTES = 32;
export const ANCHOR_PAYLOAD_BYTES = ANCHOR_TAG.length + HASH_BYTES;

const OP_RETURN = 0x6a;
const OP_PUSHDATA1 = 0x4c;
const OP_PUSHDATA2 = 0x4d;

export const CheckpointHash = z.string().regex(/^[0-9a-f]{64}$/, "a 32-byte hash as 64 lowercase hex digits");
export const Txid = z.string().regex(/^[0-9a-f]{64}$/, "a transaction id as 64 lowercase hex digits");
/** The chain names bitcoind reports in getblockchaininfo. */
export const BitcoinNetwork = z.enum(["main", "test", "testnet4", "signet", "regtest"]);
export type BitcoinNetwork = z.infer<typeof BitcoinNetwork>;

/** The data bytes (hex) of the OP_RETURN output for a checkpoint hash: what createrawtransaction takes as `data`. */
export function anchorPayloadHex(checkpointHash: string): string {
  return TAG_HEX + CheckpointHash.parse(checkpointHash);
}

/** The full output script (hex): OP_RETURN and one push of the payload. */
export function anchorScriptHex(checkpointHash: string): string {
  return OP_RETURN.toString(16) + ANCHOR_PAYLOAD_BYTES.toString(16).padStart(2, "0") + anchorPayloadHex(checkpointHash);
}

/** The checkpoint hash in an OP_RETURN payload, or undefined when the payload is not ours. */
export function checkpointHashFromPayload(payloadHex: string): string | undefined {
  const hex = payloadHex.toLowerCase();
  if (hex.length !== ANCHOR_PAYLOAD_BYTES * 2 || !hex.startsWith(TAG_HEX)) return undefined;
  const hash = hex.slice(TAG_HEX.length);
  return CheckpointHash.safeParse(hash).success ? hash : undefined;
}

/**
 * The data pushed by an OP_RETURN script given as hex: OP_RETURN then exactly one push (direct,
 * PUSHDATA1 or PUSHDATA2) that fills the rest of the script. Anything else is undefined.
 */
export function opReturnDataFromScriptHex(scriptHex: string): string | undefined {
  if (!/^([0-9a-fA-F]{2})*$/.test(scriptHex)) return undefined;
  const bytes = Buffer.from(scriptHex, "hex");
  if (bytes[0] !== OP_RETURN || bytes.length < 2) return undefined;
  const op = bytes[1]!;
  let start: number;
  let length: number;
  if (op >= 0x01 && op < OP_PUSHDATA1) [start, length] = [2, op];
  else if (op === OP_PUSHDATA1 && bytes.length >= 3) [start, length] = [3, bytes[2]!];
  else if (op === OP_PUSHDATA2 && bytes.length >= 4) [start, length] = [4, bytes.readUInt16LE(2)];
  else return undefined;
  if (start + length !== bytes.length) return undefined;
  return bytes.subarray(start).toString("hex");
}

/** bitcoind's asm form of the same script: "OP_RETURN <hex>". */
export function opReturnDataFromAsm(asm: string): string | undefined {
  const parts = asm.trim().split(/\s+/);
  if (parts.length !== 2 || parts[0] !== "OP_RETURN" || !/^([0-9a-fA-F]{2})+$/.test(parts[1]!)) return undefined;
  return parts[1]!.toLowerCase();
}

/** An output's scriptPubKey as bitcoind describes it (getrawtransaction verbose). */
export interface ScriptPubKey {
  readonly hex?: string;
  readonly asm?: string;
}

/** The checkpoint hash an output script carries, read from its hex (or its asm when no hex is given). */
export function checkpointHashFromScript(script: ScriptPubKey): string | undefined {
  const data = script.hex !== undefined ? opReturnDataFromScriptHex(script.hex) : script.asm !== undefined ? opReturnDataFromAsm(script.asm) : undefined;
  return data === undefined ? undefined : checkpointHashFromPayload(data);
}

/** The checkpoint hash of the first of a transaction's outputs that carries one. */
export function checkpointHashFromOutputs(outputs: readonly { readonly scriptPubKey: ScriptPubKey }[]): string | undefined {
  for (const output of outputs) {
    const hash = checkpointHashFromScript(output.scriptPubKey);
    if (hash !== undefined) return hash;
  }
  return undefined;
}

/** What a broadcast of a checkpoint hash returns: the transaction and the chain it was sent on. */
export const AnchorBroadcastReceipt = z.object({ txid: Txid, network: BitcoinNetwork });
export type AnchorBroadcastReceipt = z.infer<typeof AnchorBroadcastReceipt>;

/** A checkpoint whose hash a Bitcoin transaction carries: the payload of an anchor event. */
export const CheckpointAnchored = z.object({
  checkpointSize: z.number().int().min(1),
  checkpointHash: CheckpointHash,
  txid: Txid,
  network: BitcoinNetwork,
  anchoredAt: z.iso.datetime(),
});
export type CheckpointAnchored = z.infer<typeof CheckpointAnchored>;

/**
 * An anchoring attempt that failed and will be tried again. The checkpoint is absent when the
 * failure came before one was known (reading the latest checkpoint itself failed).
 */
export const CheckpointAnchorFailed = z.object({
  checkpointSize: z.number().int().min(1).optional(),
  checkpointHash: CheckpointHash.optional(),
  /** Failures in a row, this one included. */
  attempt: z.number().int().min(1),
  reason: z.string().min(1).max(2000),
  failedAt: z.iso.datetime(),
  /** When the loop tries again. */
  retryAt: z.iso.datetime(),
});
export type CheckpointAnchorFailed = z.infer<typeof CheckpointAnchorFailed>;
