import { z } from "zod";
import { AggregateId } from "../events/envelope.js";
import { Language } from "../tasks/decomposition.js";

/**
 * Caps on what one escalation carries. Small models have small contexts, and ten tries of
 * whole stderr dumps would drown the task; the tail of stderr names the error.
 */
export const ESCALATION_LIMITS = {
  input: 20_000,
  code: 32_000,
  stderr: 4_000,
  output: 2_000,
  tries: 10,
} as const;

/**
 * Bytes an escalation body may take on the wire: every text at its cap is ~400k characters,
 * and JSON escapes plus multi-byte characters can grow that several times.
 */
export const ESCALATION_BODY_LIMIT = 2 * 1024 * 1024;

export const FailedTry = z.object({
  /** "" when a try produced no code at all. */
  code: z.string().max(ESCALATION_LIMITS.code),
  stderr: z.string().max(ESCALATION_LIMITS.stderr),
  output: z.string().max(ESCALATION_LIMITS.output).optional(),
});
export type FailedTry = z.infer<typeof FailedTry>;

/** A subtask that failed its local tries, with every try, oldest first. */
export const EscalationRequest = z.object({
  subtaskId: AggregateId,
  taskId: AggregateId,
  language: Language,
  input: z.string().trim().min(1).max(ESCALATION_LIMITS.input),
  history: z.array(FailedTry).min(1).max(ESCALATION_LIMITS.tries),
});
export type EscalationRequest = z.infer<typeof EscalationRequest>;

const head = (text: string, max: number) => (text.length <= max ? text : text.slice(0, max));
/** The end of an error stream is where a traceback names what went wrong. */
const tail = (text: string, max: number) => (text.length <= max ? text : text.slice(text.length - max));

/**
 * An escalation request from raw results, which may be longer than the caps: the newest tries
 * are kept, stderr keeps its end, code and output keep their start. Still throws (ZodError) on
 * what no trimming can fix: bad ids, an empty input, no tries.
 */
export function escalationRequest(raw: {
  subtaskId: string;
  taskId: string;
  language: Language;
  input: string;
  history: readonly { code: string; stderr: string; output?: string | undefined }[];
}): EscalationRequest {
  const L = ESCALATION_LIMITS;
  return EscalationRequest.parse({
    subtaskId: raw.subtaskId,
    taskId: raw.taskId,
    language: raw.language,
    input: head(raw.input, L.input),
    history: raw.history.slice(-L.tries).map((t) => ({
      code: head(t.code, L.code),
      stderr: tail(t.stderr, L.stderr),
      ...(t.output === undefined ? {} : { output: head(t.output, L.output) }),
    })),
  });
}
