import { z } from "zod";

/** Headers a worker sends with every request; the signature covers method, path, time, nonce and body. */
export const SignedRequestHeaders = z.object({
  "x-ec-agent": z.string().regex(/^[A-Za-z0-9_-]{43}$/, "an Ed25519 public key (43 base64url chars)"),
  "x-ec-timestamp": z.string().regex(/^\d{13}$/, "milliseconds since the epoch"),
  "x-ec-nonce": z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, "16-64 chars of [A-Za-z0-9_-]"),
  "x-ec-signature": z.string().regex(/^[A-Za-z0-9_-]{86}$/, "an Ed25519 signature (86 base64url chars)"),
});
export type SignedRequestHeaders = z.infer<typeof SignedRequestHeaders>;

export const MAX_CLOCK_SKEW_MS = 60_000;

/** The exact text a request signature covers. */
export function requestSigningText(r: { method: string; path: string; timestamp: string; nonce: string; bodySha256: string }): string {
  return ["EC-REQUEST-V1", r.method.toUpperCase(), r.path, r.timestamp, r.nonce, r.bodySha256].join("\n");
}

/** Fresh: no further than the allowed skew from this node's clock, either way. */
export function isFresh(timestampMs: number, nowMs: number, skewMs = MAX_CLOCK_SKEW_MS): boolean {
  return Math.abs(nowMs - timestampMs) <= skewMs;
}
