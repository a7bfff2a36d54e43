import { spawn } from "node:child_process";
import { subsetResult, type SubsetCheck, type SubsetViolation } from "../../domain/tasks/subset.js";

/**
 * The seed's Python subset, checked with CPython's own parser: `ast.parse` in an isolated
 * interpreter (-I: no site, no user paths, no PYTHON* variables) reading the code from stdin.
 * Parsing never runs the code. Dunder attributes are refused as well, since
 * `().__class__.__bases__[0].__subclasses__()` is the usual way back to everything the list forbids.
 */
const CHECKER = String.raw`
import ast, json, sys
FORBIDDEN_CALLS = {"open", "exec", "eval", "compile", "__import__", "globals", "locals", "getattr", "setattr",
                   "delattr", "vars", "dir", "input", "breakpoint", "memoryview", "bytearray"}
NODES = {ast.Import: "import", ast.ImportFrom: "import", ast.ClassDef: "class", ast.Try: "try", ast.With: "with",
         ast.AsyncWith: "async", ast.Raise: "raise", ast.Assert: "assert", ast.AsyncFunctionDef: "async",
         ast.Await: "async", ast.AsyncFor: "async", ast.Global: "global", ast.Nonlocal: "nonlocal"}
if hasattr(ast, "TryStar"):
    NODES[ast.TryStar] = "try"
out = []
try:
    tree = ast.parse(sys.stdin.read())
except SyntaxError as e:
    print(json.dumps({"syntax": f"{e.msg} (line {e.lineno})"}))
    sys.exit(0)
for node in ast.walk(tree):
    rule = NODES.get(type(node))
    if rule is None and isinstance(node, ast.Name) and node.id in FORBIDDEN_CALLS:
        rule = node.id
    if rule is None and isinstance(node, ast.Attribute) and node.attr.startswith("__"):
        rule = node.attr
    if rule is None and isinstance(node, ast.Name) and node.id.startswith("__"):
        rule = node.id
    if rule is not None:
        out.append({"rule": rule, "line": getattr(node, "lineno", 0), "column": getattr(node, "col_offset", 0)})
out.sort(key=lambda v: (v["line"], v["column"]))
print(json.dumps({"violations": out}))
`;

export const pythonBinary = () => process.env.PYTHON_BIN ?? "python3";

export async function checkPythonSubset(code: string, timeoutMs = 10_000): Promise<SubsetCheck> {
  const answer = await new Promise<string>((resolve, reject) => {
    const child = spawn(pythonBinary(), ["-I", "-c", CHECKER], { stdio: ["pipe", "pipe", "pipe"], timeout: timeoutMs });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", (e) => reject(new Error(`cannot run ${pythonBinary()} to check Python code: ${e.message}`)));
    child.on("close", (status, signal) =>
      status === 0 ? resolve(out) : reject(new Error(`the Python subset check failed (${signal ?? `exit ${status}`}): ${err.slice(0, 500)}`)),
    );
    child.stdin.end(code);
  });
  const parsed = JSON.parse(answer) as { syntax?: string; violations?: SubsetViolation[] };
  if (parsed.syntax !== undefined) return { ok: false, violations: [], reason: `not valid Python: ${parsed.syntax}` };
  return subsetResult("Python", parsed.violations ?? []);
}
