import type { Language } from "../tasks/decomposition.js";

const TAGS: Record<Language, readonly string[]> = { python: ["python", "py", "python3"], javascript: ["javascript", "js", "node", "mjs"] };
const FENCED = /```([^\n`]*)\n([\s\S]*?)(?:```|$)/g;

/**
 * The program in a model's answer. Models wrap code in fences and prose whatever they are told:
 * a block tagged with the language wins, then the first fenced block, then the whole answer.
 * An unclosed fence (an answer cut off at its token limit) still yields its code.
 */
export function codeFromAnswer(answer: string, language: Language): string {
  const blocks = [...answer.matchAll(FENCED)].map((m) => ({ tag: (m[1] ?? "").trim().toLowerCase(), code: m[2] ?? "" }));
  const chosen = blocks.find((b) => TAGS[language].includes(b.tag)) ?? blocks[0];
  return (chosen?.code ?? answer).trim();
}
