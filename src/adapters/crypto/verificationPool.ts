import { availableParallelism } from "node:os";
import { SIGNED_FIELDS } from "../../domain/events/canonical.js";
import type { EventEnvelope } from "../../domain/events/envelope.js";
import { workerPool } from "../threads/workerPool.js";
import { verifyEventSignature } from "./eventSigning.js";

/** Checks the signatures of many events; true where the signature is valid. */
export interface SignatureVerifier {
  verifyAll(events: readonly EventEnvelope[]): Promise<boolean[]>;
  close(): Promise<void>;
}

export const inlineVerifier: SignatureVerifier = {
  verifyAll: async (events) => events.map(verifyEventSignature),
  close: async () => undefined,
};

/**
 * Worker-thread source of keyOf(x): a public key parsed once per signer, for every verifying
 * worker. It needs createPublicKey from node:crypto in scope.
 */
export const PUBLIC_KEY_CACHE_SOURCE = `
const keys = new Map();
function keyOf(x) {
  let k = keys.get(x);
  if (!k) {
    if (keys.size > 10000) keys.clear();
    k = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
    keys.set(x, k);
  }
  return k;
}
`;

// Same canonical form as signingText(); malformed keys or signatures are simply invalid.
const VERIFIER_SOURCE = `
const { createPublicKey, verify } = require("node:crypto");
let canonicalize;
${PUBLIC_KEY_CACHE_SOURCE}async function handle(events, { canonicalizeUrl, fields }) {
  canonicalize ??= (await import(canonicalizeUrl)).default;
  return events.map((e) => {
    try {
      const covered = {};
      for (const f of fields) covered[f] = e[f];
      const sig = Buffer.from(e.signature, "base64url");
      return sig.length === 64 && verify(null, Buffer.from(canonicalize(covered), "utf8"), keyOf(e.signer), sig);
    } catch {
      return false;
    }
  });
}
`;

const CHUNK = 256;

/**
 * Ed25519 verification on worker threads: ~66 µs per event on one core here, the cost that
 * bounds a cold rebuild or a cold aggregate load. Batches are split across the workers.
 */
export function verificationPool(threads = Math.min(4, availableParallelism())): SignatureVerifier {
  const pool = workerPool<EventEnvelope, boolean>(
    VERIFIER_SOURCE,
    { canonicalizeUrl: import.meta.resolve("canonicalize"), fields: SIGNED_FIELDS },
    threads,
  );
  return {
    async verifyAll(events) {
      const chunks: EventEnvelope[][] = [];
      for (let i = 0; i < events.length; i += CHUNK) chunks.push(events.slice(i, i + CHUNK));
      return (await Promise.all(chunks.map((c) => pool.run(c)))).flat();
    },
    close: () => pool.close(),
  };
}
