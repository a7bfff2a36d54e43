import type { Language } from "../tasks/decomposition.js";

export const languageName: Record<Language, string> = { python: "Python", javascript: "JavaScript" };

/**
 * The executor's subset in words a small model follows. Code outside it is refused before it
 * runs, so every rule the validators enforce is stated here, with the usual way around it.
 */
export const subsetRules: Record<Language, readonly string[]> = {
  python: [
    "No import statements: use only built-in functions and types.",
    "No class definitions: use functions, dicts, lists and tuples.",
    "No try, except, with, raise or assert. No async or await. No global or nonlocal.",
    "Never use open, exec, eval, compile, __import__, globals, locals, getattr, setattr, delattr, vars, dir, input, breakpoint, memoryview or bytearray, not even as the name of your own variable, parameter or keyword argument.",
    'No names, attributes or strings that start with two underscores; `if __name__ == "__main__":` is the one exception.',
    'Call .format only on a string literal, as in "{:>4}".format(x); f-strings are better.',
    "Print results with print(...).",
  ],
  javascript: [
    "No import, export or require: use only built-in functions and objects.",
    "No classes, no `new` and no `this`: use functions, object literals and arrays (so no Map, Set, Date or Error objects).",
    "No try, catch or throw. No async or await.",
    "Never use process, globalThis, global, module, exports, eval, Function, Proxy, Reflect, WebAssembly, Atomics, SharedArrayBuffer, constructor, prototype, __proto__, caller, callee or names that start with two underscores, nor Object.getPrototypeOf, setPrototypeOf, getOwnPropertyNames, getOwnPropertyDescriptor(s) or defineProperty; use `arguments` only inside a function.",
    "Print results with console.log(...).",
  ],
};

const commentMark: Record<Language, string> = { python: "#", javascript: "//" };

/** The plan goes into comments, so an answer that ignores the fence is still a runnable program. */
function answerFormat(language: Language): string {
  const c = commentMark[language];
  return [
    `Answer with exactly one \`\`\`${language} code block and nothing else.`,
    `Start the block with your plan as numbered comment lines (${c} 1. ..., ${c} 2. ...), then write only executable code.`,
  ].join("\n");
}

function rulesSection(language: Language): string {
  return [
    `The program runs once, on its own: no input, no network, no files, no packages. It must print its result to standard output.`,
    `It must stay inside this ${languageName[language]} subset, or it is refused without running:`,
    ...subsetRules[language].map((r) => `- ${r}`),
  ].join("\n");
}

export interface CodingTask {
  readonly input: string;
  readonly language: Language;
}

/** The first try: plan as numbered steps, then only executable code. */
export function codePrompt(task: CodingTask): string {
  return [
    `You write one short, complete ${languageName[task.language]} program that solves the task below.`,
    rulesSection(task.language),
    answerFormat(task.language),
    "",
    "Task:",
    task.input,
  ].join("\n");
}

export const MAX_FEEDBACK_CHARS = 4_000;

/** Tracebacks end with what matters, so long feedback keeps its tail. */
export function tail(text: string, max = MAX_FEEDBACK_CHARS): string {
  return text.length <= max ? text : `...${text.slice(text.length - max)}`;
}

/** A later try: the task, the program that failed and why, and a request for the fixed program. */
export function reflectPrompt(task: CodingTask & { readonly code: string; readonly error: string }): string {
  // A fence longer than any backtick run in the code, so the code cannot close it early.
  const fence = "`".repeat((task.code.match(/`+/g) ?? []).reduce((n, run) => Math.max(n, run.length + 1), 3));
  return [
    `Your ${languageName[task.language]} program for the task below did not work. Fix it.`,
    "",
    "Task:",
    task.input,
    "",
    "Your program:",
    `${fence}${task.language}`,
    task.code,
    fence,
    "",
    "What went wrong:",
    tail(task.error),
    "",
    rulesSection(task.language),
    answerFormat(task.language),
  ].join("\n");
}
