import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { SIGNED_FIELDS, signingBytes } from "../../domain/events/canonical.js";
import type { EventEnvelope, UnsignedEvent } from "../../domain/events/envelope.js";
import { signerFromPrivateKeyPem, type Ed25519Signer } from "./ed25519.js";

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

// Kept as plain source text so the same worker runs from src/ (under tsx or vitest) and from
// dist/. It canonicalizes with the same library and the same field list as signingText().
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createPrivateKey, sign } = require("node:crypto");
const key = createPrivateKey(workerData.pem);
import(workerData.canonicalizeUrl).then(({ default: canonicalize }) => {
  parentPort.on("message", ({ batch, events }) => {
    const signatures = events.map((e) => {
      const covered = {};
      for (const f of workerData.fields) covered[f] = e[f];
      return sign(null, Buffer.from(canonicalize(covered), "utf8"), key).toString("base64url");
    });
    parentPort.postMessage({ batch, signatures });
  });
});
`;

const CHUNK = 32;
const canonicalizeUrl = import.meta.resolve("canonicalize");

interface Pending {
  readonly unsigned: UnsignedEvent;
  readonly resolve: (e: EventEnvelope) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Ed25519 signing on worker threads. One signature costs about 30 µs of CPU here, more than
 * the rest of an append together, so a busy node signs on another core: requests made in one
 * tick go to a worker as one message, and the calling thread keeps the NATS client busy meanwhile.
 */
export function signingPool(privateKeyPem: string, threads = Math.max(1, Math.min(4, availableParallelism()))): EventSealer {
  const { publicKey } = signerFromPrivateKeyPem(privateKeyPem);
  const workers = Array.from({ length: threads }, () => {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { pem: privateKeyPem, canonicalizeUrl, fields: SIGNED_FIELDS } });
    w.unref();
    return { worker: w, inFlight: 0 };
  });
  const batches = new Map<number, { pending: Pending[]; slot: (typeof workers)[number] }>();
  let nextBatch = 0;
  let queue: Pending[] = [];
  let scheduled = false;
  let closed = false;

  for (const slot of workers) {
    slot.worker.on("message", ({ batch, signatures }: { batch?: number; signatures?: string[] }) => {
      if (batch === undefined || !signatures) return;
      const entry = batches.get(batch);
      if (!entry) return;
      batches.delete(batch);
      slot.inFlight -= entry.pending.length;
      entry.pending.forEach((p, i) => p.resolve({ ...p.unsigned, signature: signatures[i]! }));
    });
    slot.worker.on("error", (err) => {
      for (const [id, entry] of batches) {
        if (entry.slot !== slot) continue;
        batches.delete(id);
        for (const p of entry.pending) p.reject(err);
      }
    });
  }

  function flush() {
    scheduled = false;
    const items = queue;
    queue = [];
    // Small chunks keep the pipeline full: the first signatures come back (and get published)
    // while the worker still signs the rest, instead of signing and publishing in turns.
    for (let i = 0; i < items.length; i += CHUNK) {
      const slot = workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
      const pending = items.slice(i, i + CHUNK);
      const batch = nextBatch++;
      batches.set(batch, { pending, slot });
      slot.inFlight += pending.length;
      slot.worker.postMessage({ batch, events: pending.map((p) => p.unsigned) });
    }
  }

  return {
    publicKey,
    seal(event) {
      if (closed) return Promise.reject(new Error("signing pool is closed"));
      const unsigned: UnsignedEvent = { ...event, signer: publicKey };
      return new Promise((resolve, reject) => {
        queue.push({ unsigned, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    async close() {
      closed = true;
      await Promise.all(workers.map((w) => w.worker.terminate()));
    },
  };
}
