import { workerData } from "node:worker_threads";
import { signingBytes } from "../../domain/events/canonical.js";
import type { UnsignedEvent } from "../../domain/events/envelope.js";
import { serveBatches } from "../threads/serveBatches.js";
import { signerFromPrivateKeyPem } from "./ed25519.js";

/** A signing thread: signs events with the node's key, as the inline sealer does. */
export interface SigningThreadData {
  readonly privateKeyPem: string;
}

const signer = signerFromPrivateKeyPem((workerData as SigningThreadData).privateKeyPem);

/** One signature per event, over signingBytes() of the event with its signer already set. */
export const signBatch = (events: UnsignedEvent[]): string[] => events.map((e) => signer.sign(signingBytes(e)));

serveBatches(signBatch);
