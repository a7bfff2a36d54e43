import type { Language } from "../tasks/decomposition.js";
import type { EscalationRequest, FailedTry } from "./request.js";

/**
 * The executor's language subsets, as the validators enforce them (src/domain/tasks/
 * javascriptSubset.ts, src/adapters/executor/pythonSubset.ts): code outside them is never run,
 * so a fix that breaks them is no fix.
 */
const SUBSET_RULES: Record<Language, readonly string[]> = {
  python: [
    "no import statements (only builtins are available)",
    "no class definitions",
    "no try, with, raise or assert statements",
    "no async, await, global or nonlocal",
    "no use of open, exec, eval, compile, __import__, globals, locals, getattr, setattr, delattr, vars, dir, input, breakpoint, memoryview or bytearray, not even as a variable, parameter or keyword name",
    'no names, attributes or strings starting with "__" (`if __name__ == "__main__":` is the one exception)',
    "`.format` only on a string literal (f-strings are better)",
  ],
  javascript: [
    "no classes, no `new`, no `this`",
    "no try or throw",
    "no import, export, import.meta or await",
    "do not use process, require, globalThis, global, module, exports, eval, Function, Proxy, Reflect, WebAssembly, Atomics or SharedArrayBuffer",
    "do not touch constructor, prototype, __proto__, caller or callee, nor Object.getPrototypeOf, setPrototypeOf, getOwnPropertyNames, getOwnPropertyDescriptor(s) or defineProperty; no names starting with \"__\"; `arguments` only inside a function",
    "the code runs as a strict-mode module: use console.log for output",
  ],
};

const FENCE: Record<Language, string> = { python: "python", javascript: "javascript" };

function describeTry(t: FailedTry, n: number, language: Language): string {
  return [
    `Attempt ${n}:`,
    "```" + FENCE[language],
    t.code.trim() === "" ? "# (no code was produced)" : t.code.trimEnd(),
    "```",
    "Error output:",
    "```",
    t.stderr.trim() === "" ? "(empty: the program ran but its result was wrong or missing)" : t.stderr.trimEnd(),
    "```",
    ...(t.output?.trim() ? ["Standard output:", "```", t.output.trimEnd(), "```"] : []),
  ].join("\n");
}

/**
 * The escalation prompt as a system part (the rules) and a user part (the task and every failed
 * try with its error, oldest first), for chat models; `escalationPrompt` joins them for
 * completion models.
 */
export function escalationMessages(request: EscalationRequest): { system: string; user: string } {
  const { language } = request;
  const system = [
    `You fix ${language} programs that failed. You are given a task and every failed attempt at it, each with the errors it produced.`,
    `Answer with one complete, corrected ${language} program that does the task, and nothing else: only code, no explanation.`,
    "The program runs on its own, without input, network or files, and prints its result to standard output.",
    `It must stay inside the executor's ${language} subset, or it will not be run:`,
    ...SUBSET_RULES[language].map((rule) => `- ${rule}`),
  ].join("\n");
  const user = [
    "Task:",
    request.input.trim(),
    "",
    `Failed attempts (${request.history.length}, oldest first):`,
    "",
    request.history.map((t, i) => describeTry(t, i + 1, language)).join("\n\n"),
    "",
    `Write the fixed ${language} program now.`,
  ].join("\n");
  return { system, user };
}

export function escalationPrompt(request: EscalationRequest): string {
  const { system, user } = escalationMessages(request);
  return `${system}\n\n${user}`;
}
