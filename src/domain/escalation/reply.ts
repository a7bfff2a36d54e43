import { z } from "zod";
import { EscalationStep } from "../tasks/subtaskEvents.js";
import { ESCALATION_LIMITS } from "./request.js";

/** The waterfall's automatic steps; a person, the last step, is not an Escalator. */
export const EscalationVia = EscalationStep.exclude(["human"]);
export type EscalationVia = z.infer<typeof EscalationVia>;

/**
 * The reply of every `POST /escalate`: the inference service's and a coordinator's to its
 * children alike, so one schema serves both ends of the wire.
 */
export const EscalatedCode = z.object({
  code: z.string().min(1).max(ESCALATION_LIMITS.code),
  model: z.string().min(1).max(200),
});
export type EscalatedCode = z.infer<typeof EscalatedCode>;

export const EscalationReply = EscalatedCode.extend({ via: EscalationVia });
export type EscalationReply = z.infer<typeof EscalationReply>;
