import { z } from "zod";

export const Language = z.enum(["python", "javascript"]);
export type Language = z.infer<typeof Language>;

export const MAX_SUBTASKS = 10;
export const FALLBACK_TIMEOUT_MS = 30_000;

/** One subtask as decomposition proposes it, before it gets an id and is queued. */
export interface SubtaskDraft {
  readonly index: number;
  readonly input: string;
  readonly language: Language;
  readonly timeoutMs: number;
}

export interface Decomposition {
  readonly subtasks: readonly SubtaskDraft[];
  /** False when the model's answer could not be used and the whole prompt became one subtask. */
  readonly parsed: boolean;
  readonly reason?: string;
}

const ProposedSubtask = z.object({
  input: z.string().trim().min(1).max(20_000),
  language: Language.optional(),
});

/** The seed's rule: 5 s plus 1 s per 50 characters of input, at most 60 s. */
export function subtaskTimeoutMs(input: string): number {
  return Math.min(5_000 + Math.floor(input.length / 50) * 1_000, 60_000);
}

/**
 * The first JSON array in a model's answer: models wrap JSON in prose or code fences. The scan
 * honours strings, so a bracket inside one does not end the array early.
 */
export function firstJsonArray(text: string): string | undefined {
  const start = text.indexOf("[");
  if (start < 0) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "[") depth++;
    else if (c === "]" && --depth === 0) return text.slice(start, i + 1);
  }
  return undefined;
}

function wholePrompt(prompt: string, language: Language, reason: string): Decomposition {
  return { subtasks: [{ index: 0, input: prompt, language, timeoutMs: FALLBACK_TIMEOUT_MS }], parsed: false, reason };
}

/**
 * Turns the model's answer (asked for a JSON array of {input, language}) into at most ten
 * subtasks. Anything unusable (no array, bad JSON, no valid item) falls back to one subtask
 * holding the whole prompt, with 30 s.
 */
export function parseDecomposition(answer: string, prompt: string, language: Language): Decomposition {
  const json = firstJsonArray(answer);
  if (json === undefined) return wholePrompt(prompt, language, "no JSON array in the model's answer");
  let items: unknown;
  try {
    items = JSON.parse(json);
  } catch (err) {
    return wholePrompt(prompt, language, `the model's array is not JSON: ${(err as Error).message}`);
  }
  const proposed = (items as unknown[]).flatMap((item) => {
    const p = ProposedSubtask.safeParse(item);
    return p.success ? [p.data] : [];
  });
  if (proposed.length === 0) return wholePrompt(prompt, language, "the model proposed no usable subtask");
  const subtasks = proposed.slice(0, MAX_SUBTASKS).map((p, index) => ({
    index,
    input: p.input,
    language: p.language ?? language,
    timeoutMs: subtaskTimeoutMs(p.input),
  }));
  return { subtasks, parsed: true };
}
