import type { Language } from "./decomposition.js";

/** The decomposition prompt: asks for a JSON array of {input, language}, at most ten items. */
export function decompositionPrompt(prompt: string, language: Language): string {
  return [
    "You split a coding request into small, independent subtasks that can each be solved by one short program.",
    `Answer with only a JSON array of at most 10 objects {"input": string, "language": "python" | "javascript"}.`,
    `Use "${language}" unless the request asks for another language. No prose, no code fences.`,
    "",
    "Request:",
    prompt,
  ].join("\n");
}
