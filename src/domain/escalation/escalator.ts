import type { EscalationReply, EscalationVia } from "./reply.js";
import type { EscalationRequest } from "./request.js";

/** One step of the escalation waterfall: something that can be asked to fix failed code. */
export interface Escalator {
  readonly via: EscalationVia;
  escalate(request: EscalationRequest): Promise<EscalationReply>;
}

/**
 * The step cannot be asked at all (not configured, unreachable, timed out, no model): the
 * waterfall moves on without learning anything about the code.
 */
export class EscalationUnavailableError extends Error {
  override readonly name = "EscalationUnavailableError";
  constructor(
    readonly via: EscalationVia,
    message: string,
  ) {
    super(message);
  }
}

/** The step answered, but with a refusal or no usable code; `status` is the HTTP status when there was one. */
export class EscalationFailedError extends Error {
  override readonly name = "EscalationFailedError";
  constructor(
    readonly via: EscalationVia,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}
