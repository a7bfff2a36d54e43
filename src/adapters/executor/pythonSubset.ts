import { spawn } from "node:child_process";
import { join } from "node:path";

import { subsetResult, type SubsetCheck, type SubsetViolation } from "../../domain/tasks/subset.js";
import { packageRoot } from "../packageRoot.js";

/**
 * The seed's Python subset, checked with CPython's own parser by pythonSubsetCheck.py (its
 * docstring gives the rules and why they are what they are). The file is found from the package
 * folder, as the migrations are, so the built CLI in dist/ runs the same file as the tests.
 * It runs in an isolated interpreter (-I: no user paths, no PYTHON* variables; -S: no site) that
 * reads the code from stdin; parsing never runs the code.
 *
 * The subset is a filter that tells a model early what will not run, not the wall: the sandbox
 * must hold for code this check never saw.
 */
export const pythonSubsetChecker = join(packageRoot, "src", "adapters", "executor", "pythonSubsetCheck.py");

export const pythonBinary = () => process.env.PYTHON_BIN ?? "python3";

export interface PythonSubsetOptions {
  /** The interpreter whose parser reads the code; tests pass others to check other grammars. */
  readonly python?: string;
  readonly timeoutMs?: number;
}

export async function checkPythonSubset(code: string, options: PythonSubsetOptions = {}): Promise<SubsetCheck> {
  const python = options.python ?? pythonBinary();
  const answer = await new Promise<string>((resolve, reject) => {
    const child = spawn(python, ["-I", "-S", pythonSubsetChecker], { stdio: ["pipe", "pipe", "pipe"], timeout: options.timeoutMs ?? 10_000 });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", (e) => reject(new Error(`cannot run ${python} to check Python code: ${e.message}`)));
    child.on("close", (status, signal) =>
      status === 0 ? resolve(out) : reject(new Error(`the Python subset check failed (${signal ?? `exit ${status}`}): ${err.slice(0, 500)}`)),
    );
    child.stdin.on("error", () => undefined); // an interpreter that died early is reported by "close"
    child.stdin.end(code);
  });
  const parsed = JSON.parse(answer) as { syntax?: string; violations?: SubsetViolation[] };
  if (parsed.syntax !== undefined) return { ok: false, violations: [], reason: `not valid Python: ${parsed.syntax}` };
  return subsetResult("Python", parsed.violations ?? []);
}
