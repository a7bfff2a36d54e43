import { spawn, spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { pythonBinary, pythonSubsetChecker } from "../../src/adapters/executor/pythonSubset.js";

export interface PythonInterpreter {
  readonly bin: string;
  /** [major, minor] */
  readonly version: readonly [number, number];
}

/**
 * The interpreters the subset is held to: the checker's own, the bubblewrap sandbox's, and any
 * listed in EC_TEST_PYTHONS (separated by spaces or colons), e.g. a 3.12 for type parameters.
 * One of each minor version, so the same grammar is not tried twice.
 */
export function pythonInterpreters(): PythonInterpreter[] {
  const candidates = [pythonBinary(), process.env.EC_SANDBOX_PYTHON ?? "/usr/bin/python3", ...(process.env.EC_TEST_PYTHONS ?? "").split(/[\s:]+/)];
  const found = new Map<string, PythonInterpreter>();
  for (const bin of candidates.filter((c) => c !== "")) {
    const r = spawnSync(bin, ["-I", "-S", "-c", "import sys; print(*sys.version_info[:2])"], { encoding: "utf8" });
    if (r.status !== 0) continue;
    const [major = 0, minor = 0] = r.stdout.trim().split(" ").map(Number);
    if (!found.has(`${major}.${minor}`)) found.set(`${major}.${minor}`, { bin, version: [major, minor] });
  }
  return [...found.values()];
}

/** Runs a Python script with pythonSubsetCheck.py importable as `check`, JSON in on stdin, JSON out. */
export async function withChecker<T>(python: string, script: string, input: unknown): Promise<T> {
  const prelude = `import sys, json\nsys.path.insert(0, ${JSON.stringify(dirname(pythonSubsetChecker))})\nimport pythonSubsetCheck as check\n`;
  return new Promise<T>((resolve, reject) => {
    const child = spawn(python, ["-I", "-S", "-B", "-c", prelude + script], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("close", (status) => (status === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`${python}: ${err}`))));
    child.stdin.end(JSON.stringify(input));
  });
}

/** The rules each program breaks, or a syntax error, all in one interpreter (one process for many programs). */
export const rulesOfMany = (python: string, programs: readonly string[]) =>
  withChecker<({ rules: string[] } | { syntax: string })[]>(
    python,
    [
      "out = []",
      "for code in json.load(sys.stdin):",
      "    try:",
      "        out.append({'rules': [v['rule'] for v in check.violations(check.ast.parse(code))]})",
      "    except SyntaxError as e:",
      "        out.append({'syntax': f'{e.msg} (line {e.lineno})'})",
      "print(json.dumps(out))",
    ].join("\n"),
    programs,
  );

/** One place the grammar puts an identifier, as a program with NAME where the identifier goes. */
export interface IdentifierSlot {
  readonly template: string;
  /** The rule the program breaks whatever NAME is (an import, a class...), if any. */
  readonly always?: string;
  /** The first Python that parses it. */
  readonly since?: readonly [number, number];
}

/**
 * Every `identifier` field of the ast grammar, with the programs that put a name there. The
 * grammar test fails when an interpreter's grammar has a field this table lacks.
 */
export const identifierSlots: Record<string, readonly IdentifierSlot[]> = {
  "Name.id": [{ template: "NAME = 1\nprint(NAME)" }, { template: "print([NAME for NAME in range(3)])" }, { template: "print((NAME := 2))" }, { template: "del NAME" }],
  "Attribute.attr": [{ template: "items = [1]\nprint(items.NAME)" }, { template: "items = [1]\nitems.NAME = 2" }],
  "MatchClass.kwd_attrs": [{ template: "match print:\n    case object(NAME=found):\n        print(found)" }],
  "MatchAs.name": [{ template: "match 1:\n    case 2 as NAME:\n        print(1)" }, { template: "match 1:\n    case NAME:\n        print(1)" }],
  "MatchStar.name": [{ template: "match [1]:\n    case [1, *NAME]:\n        print(1)" }],
  "MatchMapping.rest": [{ template: "match {}:\n    case {1: found, **NAME}:\n        print(found)" }],
  "keyword.arg": [{ template: "print(1, NAME=2)" }],
  "arg.arg": [
    { template: "def solve(first, NAME=1):\n    return first" },
    { template: "def solve(first, NAME, /):\n    return first" },
    { template: "def solve(first, *, NAME):\n    return first" },
    { template: "def solve(*NAME):\n    return 1" },
    { template: "def solve(**NAME):\n    return 1" },
    { template: "solve = lambda NAME: 1" },
  ],
  "FunctionDef.name": [{ template: "def NAME():\n    return 1" }],
  "AsyncFunctionDef.name": [{ template: "async def NAME():\n    return 1", always: "async" }],
  "ClassDef.name": [{ template: "class NAME:\n    pass", always: "class" }],
  "ExceptHandler.name": [{ template: "try:\n    pass\nexcept ValueError as NAME:\n    pass", always: "try" }],
  "Global.names": [{ template: "def solve():\n    global NAME", always: "global" }],
  "Nonlocal.names": [{ template: "def solve():\n    def inner():\n        nonlocal NAME", always: "nonlocal" }],
  "ImportFrom.module": [{ template: "from NAME import thing", always: "import" }, { template: "from package.NAME import thing", always: "import" }],
  "alias.name": [{ template: "import NAME", always: "import" }, { template: "from package import NAME", always: "import" }],
  "alias.asname": [{ template: "import package as NAME", always: "import" }],
  "TypeVar.name": [{ template: "def solve[NAME](value):\n    return value", since: [3, 12] }],
  "ParamSpec.name": [{ template: "def solve[**NAME](value):\n    return value", since: [3, 12] }],
  "TypeVarTuple.name": [{ template: "def solve[*NAME](value):\n    return value", since: [3, 12] }],
};

/** Places where a string stands for an identifier: the check treats them like the grammar's. */
export const stringIdentifierSlots: Record<string, readonly IdentifierSlot[]> = {
  "keys of a **{...} argument": [{ template: 'print(1, **{"NAME": 2})' }],
  "attribute in a format field": [{ template: 'print("{0.NAME}".format(1))' }, { template: 'print("{0:{1.NAME}}".format(1, 2))' }],
};

export const fill = (template: string, name: string) => template.replaceAll("NAME", name);

export const supports = (python: PythonInterpreter, slot: IdentifierSlot) =>
  slot.since === undefined || python.version[0] > slot.since[0] || (python.version[0] === slot.since[0] && python.version[1] >= slot.since[1]);
