import { z } from "zod";
import { agentEventSpecs } from "../domain/agents/agentEvents.js";
import { CreditCommand } from "../domain/credits/commands.js";
import { creditEventSpecs } from "../domain/credits/events.js";
import { EventEnvelope } from "../domain/events/envelope.js";
import { ConsistencyProofDocument, InclusionProofDocument } from "../domain/ledger/proof.js";
import { ledgerEventSpecs } from "../domain/ledger/record.js";
import { subtaskEventSpecs } from "../domain/tasks/subtaskEvents.js";
import { taskEventSpecs } from "../domain/tasks/taskEvents.js";
import { HeartbeatBody, PullBody, PullReply, RegisterBody, RegisterReply, ResultBody } from "../gateways/coordinator/schemas.js";

/** A request body as a client writes it: fields with a default may be left out. */
const body = { io: "input" } as const;

/**
 * Every schema published under schemas/ as JSON Schema: the envelope, each event's data, the
 * HTTP bodies (requests as sent, replies as answered, as the gateways' /docs/json has them), and the proof documents an auditor passes around. Generated from the zod schemas, checked in, and a test keeps the two in step.
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
    "ledger/inclusion-proof": z.toJSONSchema(InclusionProofDocument),
    "ledger/consistency-proof": z.toJSONSchema(ConsistencyProofDocument),
  };
  for (const spec of [...creditEventSpecs, ...taskEventSpecs, ...subtaskEventSpecs, ...agentEventSpecs, ...ledgerEventSpecs]) {
    out[`events/${spec.type}.v${spec.schemaVersion}`] = z.toJSONSchema(spec.data);
  }
  return out;
}
