import type { EventEnvelope } from "../../domain/events/envelope.js";
import { serveBatches } from "../threads/serveBatches.js";
import { verifyEventSignature } from "./eventSigning.js";

/** A verifying thread: the inline verifier's verdict on each event. */
export const verifyBatch = (events: EventEnvelope[]): boolean[] => events.map(verifyEventSignature);

serveBatches(verifyBatch);
