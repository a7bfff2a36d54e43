import { availableParallelism } from "node:os";
import { signingBytes } from "../../domain/events/canonical.js";
import type { EventEnvelope, UnsignedEvent } from "../../domain/events/envelope.js";
import { workerPool } from "../threads/workerPool.js";
import { signerFromPrivateKeyPem, type Ed25519Signer } from "./ed25519.js";
import type { signBatch, SigningThreadData } from "./signingThread.js";

/** Seals events: adds the signer's key and the signature. */
export interface EventSealer {
  readonly publicKey: string;
  seal(event: Omit<UnsignedEvent, "signer">): Promise<EventEnvelope>;
  close(): Promise<void>;
}

/** Signs on the calling thread: for light loads and tests. */
export function inlineSealer(signer: Ed25519Signer): EventSealer {
  return {
    publicKey: signer.publicKey,
    seal: async (event) => {
      const unsigned: UnsignedEvent = { ...event, signer: signer.publicKey };
      return { ...unsigned, signature: signer.sign(signingBytes(unsigned)) };
    },
    close: async () => undefined,
  };
}

/** Chunks small enough that the first signatures are published while the rest are signed. */
const CHUNK = 32;

/**
 * Ed25519 signing on worker threads. One signature costs about 30 µs of CPU here, more than
 * the rest of an append together, so a busy node signs on every core: requests made in one
 * tick go out in chunks, and the calling thread keeps the NATS client busy meanwhile.
 */
export function signingPool(privateKeyPem: string, threads = Math.min(4, availableParallelism())): EventSealer {
  const { publicKey } = signerFromPrivateKeyPem(privateKeyPem);
  const data: SigningThreadData = { privateKeyPem };
  const pool = workerPool<typeof signBatch>(new URL("./signingThread.js", import.meta.url), data, threads);
  let queue: { unsigned: UnsignedEvent; resolve: (e: EventEnvelope) => void; reject: (err: unknown) => void }[] = [];
  let scheduled = false;

  function flush() {
    scheduled = false;
    const items = queue;
    queue = [];
    for (let i = 0; i < items.length; i += CHUNK) {
      const chunk = items.slice(i, i + CHUNK);
      pool.run(chunk.map((p) => p.unsigned)).then(
        (signatures) => chunk.forEach((p, k) => p.resolve({ ...p.unsigned, signature: signatures[k]! })),
        (err: unknown) => chunk.forEach((p) => p.reject(err)),
      );
    }
  }

  return {
    publicKey,
    seal(event) {
      const unsigned: UnsignedEvent = { ...event, signer: publicKey };
      return new Promise((resolve, reject) => {
        queue.push({ unsigned, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    close: () => pool.close(),
  };
}
