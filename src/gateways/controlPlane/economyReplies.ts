import type { FastifyReply } from "fastify";
import { z } from "zod";
import type { Refusal } from "../../app/commands.js";
import { AUTH_ERRORS, BODY_ERRORS, ROUTE_ERRORS } from "../replies.js";

/** What every economy route may answer besides its own: bad input, a fault, no admin token. */
export const ADMIN_ERRORS = { ...ROUTE_ERRORS, ...AUTH_ERRORS } as const;
export const ADMIN_BODY_ERRORS = { ...ADMIN_ERRORS, ...BODY_ERRORS } as const;

const STATUS_OF: Record<string, number> = {
  unknown_intent: 404,
  unknown_epoch: 404,
  unknown_invoice: 409,
  other_provider: 409,
  no_custody_policy: 409,
  // The provider did not answer as its API promises: the node is fine, what it depends on is not.
  lightning_unavailable: 502,
};

/** A use case's refusal as a reply: its code and sentence, with the status its code calls for. */
export function refused(reply: FastifyReply, answer: Refusal) {
  return reply.code(STATUS_OF[answer.refused] ?? 409).send({ error: answer.refused, message: answer.message });
}

/** A timestamp as every reply writes it. */
export const iso = (d: Date) => d.toISOString();
export const Timestamp = z.string();
