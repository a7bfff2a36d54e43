import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ANCHOR_PAYLOAD_BYTES,
  anchorPayloadHex,
  anchorScriptHex,
  CheckpointAnchored,
  CheckpointAnchorFailed,
  checkpointHashFromOutputs,
  checkpointHashFromPayload,
  checkpointHashFromScript,
  opReturnDataFromAsm,
  opReturnDataFromScriptHex,
} from "../../src/domain/ledger/anchor.js";

const hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const other = "a".repeat(64);
const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex"));

describe("the OP_RETURN payload of a checkpoint", () => {
  it("is the ASCII tag EC1 then the 32 hash bytes: 35 bytes, within the 80 relayed as standard", () => {
    expect(anchorPayloadHex(hash)).toBe("454331" + hash);
    expect(ANCHOR_PAYLOAD_BYTES).toBe(35);
    expect(ANCHOR_PAYLOAD_BYTES).toBeLessThanOrEqual(80);
  });

  it("makes the script OP_RETURN, a 35-byte push, the payload", () => {
    expect(anchorScriptHex(hash)).toBe("6a23454331" + hash);
  });

  it("refuses anything but 64 lowercase hex digits", () => {
    for (const bad of ["", "ab", hash.toUpperCase(), hash + "00", hash.slice(0, 62) + "zz"]) expect(() => anchorPayloadHex(bad)).toThrow();
  });

  it("reads back the hash it wrote, from the script's hex and from its asm (property)", () => {
    fc.assert(
      fc.property(hex32, (h) => {
        expect(checkpointHashFromScript({ hex: anchorScriptHex(h) })).toBe(h);
        expect(checkpointHashFromScript({ asm: `OP_RETURN ${anchorPayloadHex(h)}` })).toBe(h);
      }),
    );
  });
});

describe("reading an OP_RETURN script", () => {
  const payload = anchorPayloadHex(hash);

  it("takes a direct push, PUSHDATA1 and PUSHDATA2", () => {
    expect(opReturnDataFromScriptHex("6a23" + payload)).toBe(payload);
    expect(opReturnDataFromScriptHex("6a4c23" + payload)).toBe(payload);
    expect(opReturnDataFromScriptHex("6a4d2300" + payload)).toBe(payload);
    expect(checkpointHashFromScript({ hex: "6a4c23" + payload })).toBe(hash);
  });

  it("refuses scripts that are not OP_RETURN and one push filling the rest", () => {
    for (const bad of [
      "",
      "6a",
      "76a914" + "00".repeat(20) + "88ac", // P2PKH
      "0014" + "00".repeat(20), // P2WPKH
      "6a24" + payload, // push longer than the script
      "6a22" + payload, // bytes after the push
      "6a23" + payload.slice(0, -1), // odd hex
      "6a00",
    ]) {
      expect({ bad, data: opReturnDataFromScriptHex(bad) }).toEqual({ bad, data: undefined });
    }
    expect(opReturnDataFromAsm("OP_RETURN")).toBeUndefined();
    expect(opReturnDataFromAsm(`OP_RETURN ${payload} OP_DROP`)).toBeUndefined();
    expect(opReturnDataFromAsm(`OP_DUP ${payload}`)).toBeUndefined();
  });

  it("finds no checkpoint hash in another protocol's OP_RETURN or a payload of the wrong length", () => {
    expect(checkpointHashFromPayload("455832" + hash)).toBeUndefined(); // "EX2"
    expect(checkpointHashFromPayload("454331" + hash + "00")).toBeUndefined();
    expect(checkpointHashFromPayload("454331" + hash.slice(2))).toBeUndefined();
    expect(checkpointHashFromScript({ hex: "6a0b68656c6c6f20776f726c64" })).toBeUndefined(); // "hello world"
    expect(checkpointHashFromPayload(("454331" + hash).toUpperCase())).toBe(hash);
  });

  it("takes the first output that carries one, preferring the hex to the asm", () => {
    const outputs = [
      { scriptPubKey: { hex: "0014" + "11".repeat(20), asm: "0 " + "11".repeat(20) } },
      { scriptPubKey: { hex: anchorScriptHex(hash), asm: `OP_RETURN ${anchorPayloadHex(other)}` } },
      { scriptPubKey: { hex: anchorScriptHex(other) } },
    ];
    expect(checkpointHashFromOutputs(outputs)).toBe(hash);
    expect(checkpointHashFromOutputs(outputs.slice(0, 1))).toBeUndefined();
    expect(checkpointHashFromOutputs([])).toBeUndefined();
  });
});

describe("anchor records and failure reports", () => {
  const anchor = { checkpointSize: 42, checkpointHash: hash, txid: other, network: "regtest", anchoredAt: "2026-11-24T10:00:00.000Z" };

  it("an anchor names the checkpoint, the transaction, its chain and when", () => {
    expect(CheckpointAnchored.parse(anchor)).toEqual(anchor);
    for (const [field, value] of [
      ["checkpointSize", 0],
      ["checkpointHash", "x"],
      ["txid", other.toUpperCase()],
      ["network", "litecoin"],
      ["anchoredAt", "yesterday"],
    ] as const) {
      expect({ field, ok: CheckpointAnchored.safeParse({ ...anchor, [field]: value }).success }).toEqual({ field, ok: false });
    }
  });

  it("a failure report says which try, why and when the next one comes; the checkpoint may be unknown", () => {
    const failure = { checkpointSize: 42, checkpointHash: hash, attempt: 2, reason: "bitcoind not reachable", failedAt: anchor.anchoredAt, retryAt: "2026-11-24T10:00:20.000Z" };
    expect(CheckpointAnchorFailed.parse(failure)).toEqual(failure);
    const { checkpointSize: _s, checkpointHash: _h, ...unknownCheckpoint } = failure;
    expect(CheckpointAnchorFailed.safeParse(unknownCheckpoint).success).toBe(true);
    expect(CheckpointAnchorFailed.safeParse({ ...failure, attempt: 0 }).success).toBe(false);
    expect(CheckpointAnchorFailed.safeParse({ ...failure, reason: "" }).success).toBe(false);
  });
});
