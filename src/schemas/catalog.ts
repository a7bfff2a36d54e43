import { z } from "zod";
import { CreditCommand } from "../domain/credits/commands.js";
import { creditEventSpecs } from "../domain/credits/events.js";
import { EventEnvelope } from "../domain/events/envelope.js";
import { subtaskEventSpecs } from "../domain/tasks/subtaskEvents.js";
import { taskEventSpecs } from "../domain/tasks/taskEvents.js";

/**
 * Every schema published under schemas/ as JSON Schema: the envelope, each event's data, and the
 * HTTP bodies. Generated from the zod schemas, checked in, and a test keeps the two in step.
 */
export function schemaCatalog(): Record<string, unknown> {
  const out: Record<string, unknown> = {
    "event-envelope": z.toJSONSchema(EventEnvelope),
    "http/credit-command": z.toJSONSchema(CreditCommand),
  };
  for (const spec of [...creditEventSpecs, ...taskEventSpecs, ...subtaskEventSpecs]) {
    out[`events/${spec.type}.v${spec.schemaVersion}`] = z.toJSONSchema(spec.data);
  }
  return out;
}
