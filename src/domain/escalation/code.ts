import { extractCode } from "../worker/extractCode.js";
import type { Language } from "../tasks/decomposition.js";

/**
 * The program in an escalation answer: the worker's extraction (the language's fenced block,
 * else the first block, else the whole answer), trimmed so that an empty block reads as no code.
 */
export function codeFromAnswer(answer: string, language: Language): string {
  return extractCode(answer, language).trim();
}
