import { availableParallelism } from "node:os";
import type { EventEnvelope } from "../../domain/events/envelope.js";
import { workerPool } from "../threads/workerPool.js";
import { verifyEventSignature } from "./eventSigning.js";
import type { verifyBatch } from "./verificationThread.js";

/** Checks the signatures of many events; true where the signature is valid. */
export interface SignatureVerifier {
  verifyAll(events: readonly EventEnvelope[]): Promise<boolean[]>;
  close(): Promise<void>;
}

export const inlineVerifier: SignatureVerifier = {
  verifyAll: async (events) => events.map(verifyEventSignature),
  close: async () => undefined,
};

const CHUNK = 256;

/**
 * Ed25519 verification on worker threads (verificationThread.ts): ~66 µs per event on one core
 * here, the cost that bounds a cold rebuild or a cold aggregate load. Batches are split across
 * the workers.
 */
export function verificationPool(threads = Math.min(4, availableParallelism())): SignatureVerifier {
  const pool = workerPool<typeof verifyBatch>(new URL("./verificationThread.js", import.meta.url), undefined, threads);
  return {
    async verifyAll(events) {
      const chunks: EventEnvelope[][] = [];
      for (let i = 0; i < events.length; i += CHUNK) chunks.push(events.slice(i, i + CHUNK));
      return (await Promise.all(chunks.map((c) => pool.run(c)))).flat();
    },
    close: () => pool.close(),
  };
}
