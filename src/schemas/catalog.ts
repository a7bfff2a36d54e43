import { z } from "zod";
import { allEventSpecs } from "../domain/contexts.js";
import { CreditCommand } from "../domain/credits/commands.js";
import { EventEnvelope } from "../domain/events/envelope.js";
import { ConsistencyProofDocument, InclusionProofDocument } from "../domain/ledger/proof.js";
import { BleSyncBody, BleSyncReply, HeartbeatBody, PullBody, PullReply, RegisterBody, RegisterReply, ResultBody } from "./coordinatorApi.js";

/** A request body as a client writes it: fields with a default may be left out. */
const body = { io: "input" } as const;

/**
 * Every schema published under schemas/ as JSON Schema: the envelope, each event's data, the
 * HTTP bodies (requests as a client sends them, replies as answered: what the gateways' /docs/json
 * holds), and the proof documents an auditor passes around. Generated from the zod schemas,
 * checked in, and a test keeps the two in step.
 */
export function schemaCatalog(): Record<string, unknown> {
  const out: Record<string, unknown> = {
    "event-envelope": z.toJSONSchema(EventEnvelope),
    "http/credit-command": z.toJSONSchema(CreditCommand, body),
    "http/coordinator-register": z.toJSONSchema(RegisterBody, body),
    "http/coordinator-register-reply": z.toJSONSchema(RegisterReply),
    "http/coordinator-heartbeat": z.toJSONSchema(HeartbeatBody, body),
    "http/coordinator-pull": z.toJSONSchema(PullBody, body),
    "http/coordinator-pull-reply": z.toJSONSchema(PullReply),
    "http/coordinator-result": z.toJSONSchema(ResultBody, body),
    "http/credits-ble-sync": z.toJSONSchema(BleSyncBody, body),
    "http/credits-ble-sync-reply": z.toJSONSchema(BleSyncReply),
    "ledger/inclusion-proof": z.toJSONSchema(InclusionProofDocument),
    "ledger/consistency-proof": z.toJSONSchema(ConsistencyProofDocument),
  };
  // Every context's events, from the one list of contexts.
  for (const spec of allEventSpecs) {
    out[`events/${spec.type}.v${spec.schemaVersion}`] = z.toJSONSchema(spec.data);
  }
  return out;
}
