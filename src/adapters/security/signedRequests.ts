import { createHash, randomBytes } from "node:crypto";
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import { isFresh, MAX_CLOCK_SKEW_MS, requestSigningText, SignedRequestHeaders } from "../../domain/security/signedRequest.js";
import { verifyEd25519, type Ed25519Signer } from "../crypto/ed25519.js";

const sha256 = (body: Uint8Array | string) => createHash("sha256").update(body).digest("hex");

/** Headers for a request signed by a worker. */
export function signRequest(signer: Ed25519Signer, method: string, path: string, body: Uint8Array | string, now = Date.now()): SignedRequestHeaders {
  const timestamp = String(now);
  const nonce = randomBytes(18).toString("base64url");
  const text = requestSigningText({ method, path, timestamp, nonce, bodySha256: sha256(body) });
  return {
    "x-ec-agent": signer.publicKey,
    "x-ec-timestamp": timestamp,
    "x-ec-nonce": nonce,
    "x-ec-signature": signer.sign(new TextEncoder().encode(text)),
  };
}

/** Nonces seen in the last few minutes, in JetStream KV: shared by every coordinator, expiring on their own. */
export interface NonceStore {
  /** True the first time a nonce is claimed; false when it was seen before (a replay). */
  claim(agent: string, nonce: string): Promise<boolean>;
}

export const NONCE_BUCKET = "ec_request_nonces";

export async function kvNonceStore(nc: NatsConnection, ttlMs = 2 * MAX_CLOCK_SKEW_MS + 60_000): Promise<NonceStore> {
  const kv: KV = await new Kvm(nc).create(NONCE_BUCKET, { ttl: ttlMs, history: 1 });
  return {
    async claim(agent, nonce) {
      try {
        // create() succeeds only when the key does not exist: atomic across coordinators.
        await kv.create(`${agent}.${nonce}`, new Uint8Array());
        return true;
      } catch (err) {
        if (/wrong last sequence|key exists/i.test(String(err))) return false;
        throw err;
      }
    },
  };
}

export type RequestCheck = { ok: true; agent: string } | { ok: false; status: 400 | 401; reason: string };

/**
 * Checks a signed request: headers present and well formed, timestamp fresh, signature valid
 * over method, path, timestamp, nonce and body, and the nonce never seen before (checked last,
 * so a forged request cannot burn a real worker's nonce).
 */
export async function verifySignedRequest(
  headers: Record<string, string | string[] | undefined>,
  method: string,
  path: string,
  body: Uint8Array | string,
  nonces: NonceStore,
  now = Date.now(),
): Promise<RequestCheck> {
  const parsed = SignedRequestHeaders.safeParse(headers);
  if (!parsed.success) return { ok: false, status: 401, reason: `unsigned or malformed request: ${z.prettifyError(parsed.error)}` };
  const h = parsed.data;
  if (!isFresh(Number(h["x-ec-timestamp"]), now)) {
    return { ok: false, status: 401, reason: `stale request: timestamp ${h["x-ec-timestamp"]} is more than ${MAX_CLOCK_SKEW_MS} ms from now` };
  }
  const text = requestSigningText({ method, path, timestamp: h["x-ec-timestamp"], nonce: h["x-ec-nonce"], bodySha256: sha256(body) });
  if (!verifyEd25519(h["x-ec-agent"], new TextEncoder().encode(text), h["x-ec-signature"])) {
    return { ok: false, status: 401, reason: "bad request signature" };
  }
  if (!(await nonces.claim(h["x-ec-agent"], h["x-ec-nonce"]))) return { ok: false, status: 401, reason: "replayed request: nonce already used" };
  return { ok: true, agent: h["x-ec-agent"] };
}
