import type { Language } from "../tasks/decomposition.js";

/** A fenced block of a markdown answer: its info word (lowercased) and its exact body. */
export interface FencedBlock {
  readonly info: string;
  readonly body: string;
}

const LANGUAGE_TAGS: Record<Language, readonly string[]> = {
  python: ["python", "py", "python3", "py3"],
  javascript: ["javascript", "js", "node", "nodejs", "mjs", "cjs"],
};

// CommonMark's rule: up to three spaces, then three or more backticks or tildes.
const OPENING_FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/s;

/** The fence and its info word, when the line opens a block. */
function openingFence(line: string): { fence: string; info: string } | undefined {
  const m = OPENING_FENCE.exec(line);
  if (!m) return undefined;
  const fence = m[1] ?? "```";
  const rest = m[2] ?? "";
  // A backtick fence's info string holds no backtick: that keeps inline ```x``` in prose from opening a block.
  if (fence[0] === "`" && rest.includes("`")) return undefined;
  return { fence, info: (rest.trim().split(/\s+/)[0] ?? "").toLowerCase() };
}

/** The fenced blocks of a text in order. A block the model never closed runs to the end. */
export function fencedBlocks(text: string): FencedBlock[] {
  const lines = text.split("\n");
  const blocks: FencedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = openingFence(lines[i] ?? "");
    if (!open) continue;
    const { fence } = open;
    const closing = new RegExp(`^ {0,3}${fence[0]}{${fence.length},}[ \\t\\r]*$`);
    let end = i + 1;
    while (end < lines.length && !closing.test(lines[end] ?? "")) end++;
    const body = lines.slice(i + 1, end).join("\n");
    // Small models often glue the closing fence to the last line of code ("print(x)```").
    const unclosed = end >= lines.length;
    blocks.push({ info: open.info, body: unclosed ? body.replace(new RegExp(`${fence[0]}{${fence.length},}\\s*$`), "") : body });
    i = end;
  }
  return blocks;
}

/**
 * The program in a model's answer: the first fenced block tagged with the language, else the
 * first fenced block, else the whole answer. Models wrap code in prose and fences however
 * they were asked, so this never trusts the answer to be bare code.
 */
export function extractCode(modelText: string, language: Language): string {
  const blocks = fencedBlocks(modelText);
  const tagged = blocks.find((b) => LANGUAGE_TAGS[language].includes(b.info));
  return (tagged ?? blocks[0])?.body ?? modelText.trim();
}
