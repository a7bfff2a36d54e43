import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  fill,
  identifierSlots,
  pythonInterpreters,
  rulesOfMany,
  stringIdentifierSlots,
  supports,
  withChecker,
  type IdentifierSlot,
} from "../support/pythonSubset.js";

/**
 * The check holds to the grammar, not to a list of the places someone thought of: each
 * interpreter found reads its own `ast` grammar (each node class's docstring is its ASDL
 * production), and every `identifier` field in it must be checked.
 */
const interpreters = pythonInterpreters();

interface Grammar {
  version: string;
  fields: Record<string, "identifier" | "string" | "constant">;
  nodes: string[];
  notIdentifiers: [string, string][];
  allowed: string[];
  refused: string[];
}

const readGrammar = (python: string) =>
  withChecker<Grammar>(
    python,
    String.raw`
import ast, re
fields, nodes = {}, []
for name in dir(ast):
    node = getattr(ast, name)
    if not (isinstance(node, type) and issubclass(node, ast.AST)) or not node.__doc__:
        continue
    for production, body in re.findall(r"(\w+)\((.*?)\)", node.__doc__):
        if production != name:
            continue
        # ast.parse(mode="exec") makes a Module, never another kind of mod.
        if not issubclass(node, ast.mod) or node is ast.Module:
            nodes.append(name)
        for field in filter(None, (f.strip() for f in body.split(","))):
            kind, field_name = field.split()
            if kind.rstrip("*?") in ("identifier", "string", "constant"):
                fields[name + "." + field_name] = kind.rstrip("*?")
print(json.dumps({
    "version": sys.version.split()[0],
    "fields": fields,
    "nodes": sorted(set(nodes)),
    "notIdentifiers": sorted(check.NOT_IDENTIFIERS),
    "allowed": sorted(t.__name__ for t in check.ALLOWED_NODES),
    "refused": sorted(check.REFUSED_NODES),
}))
`,
    null,
  );

// A name of each kind the identifier rule refuses.
const refusedNames = ["open", "eval", "__import__", "getattr", "vars", "__self__", "__builtins__", "__class__", "__x", "gi_frame", "f_globals", "f_builtins", "tb_frame", "co_code", "cr_frame", "ag_frame"];

const slotsOf = (python: (typeof interpreters)[number], table: Record<string, readonly IdentifierSlot[]>) =>
  Object.entries(table).flatMap(([field, slots]) => slots.filter((s) => supports(python, s)).map((slot) => ({ field, slot })));

// Exact names only: f_x, co_total and tb_size are ordinary names.
const introspection = new Set(["gi_code", "gi_running", "gi_yieldfrom", "gi_suspended", "cr_code", "cr_await", "cr_origin", "cr_running", "cr_suspended", "ag_code", "ag_await", "ag_running", "ag_suspended", "f_back", "f_code", "f_locals", "f_lasti", "f_lineno", "f_trace", "f_generator", "tb_next", "tb_lasti", "tb_lineno"]);
const PYTHON_KEYWORDS = new Set("and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case type".split(" "));
// Names the templates use themselves, which would change what the program means.
const TEMPLATE_NAMES = new Set(["found", "first", "solve", "inner", "items", "value", "package", "thing", "print", "range", "object"]);

describe.each(interpreters.map((p) => [`${p.bin} (${p.version.join(".")})`, p] as const))("the Python subset against the grammar of %s", (_label, python) => {
  it("knows every identifier field of the grammar, and skips only its string and constant fields", async () => {
    const grammar = await readGrammar(python.bin);
    const identifiers = Object.keys(grammar.fields).filter((f) => grammar.fields[f] === "identifier");
    // The docstrings must really hold the grammar: an interpreter without them proves nothing.
    expect(identifiers).toEqual(expect.arrayContaining(["Name.id", "Attribute.attr", "arg.arg", "keyword.arg"]));
    expect(identifiers.filter((f) => identifierSlots[f] === undefined), "identifier fields with no test program").toEqual([]);
    const skippedIdentifiers = grammar.notIdentifiers.map(([node, field]) => `${node}.${field}`).filter((f) => grammar.fields[f] === "identifier");
    expect(skippedIdentifiers, "identifier fields the walk skips").toEqual([]);
  });

  it("sorts every node type of the grammar into allowed or refused (a new one is refused by its name until it is sorted)", async () => {
    const grammar = await readGrammar(python.bin);
    const sorted = new Set([...grammar.allowed, ...grammar.refused]);
    expect(grammar.nodes.length).toBeGreaterThan(50);
    expect(grammar.nodes.filter((n) => !sorted.has(n))).toEqual([]);
  });

  it("refuses a refused name in every identifier field, naming it", async () => {
    const cases = [...slotsOf(python, identifierSlots), ...slotsOf(python, stringIdentifierSlots)].flatMap(({ field, slot }) =>
      refusedNames.map((name) => ({ field, slot, name, code: fill(slot.template, name) })),
    );
    const results = await rulesOfMany(python.bin, cases.map((c) => c.code));
    const missed = cases.filter((c, i) => {
      const r = results[i];
      return r === undefined || !("rules" in r) || !r.rules.includes(c.name) || (c.slot.always !== undefined && !r.rules.includes(c.slot.always));
    });
    expect(missed.map((c) => `${c.field}: ${c.code} -> ${JSON.stringify(results[cases.indexOf(c)])}`)).toEqual([]);
  });

  it("accepts ordinary names in every identifier field where the syntax is allowed", async () => {
    const slots = [...slotsOf(python, identifierSlots), ...slotsOf(python, stringIdentifierSlots)].filter(({ slot }) => slot.always === undefined);
    const ordinaryName = fc
      .stringMatching(/^[a-z][a-z0-9_]{0,10}$/)
      .filter((n) => !PYTHON_KEYWORDS.has(n) && !TEMPLATE_NAMES.has(n) && !refusedNames.includes(n) && !introspection.has(n) && !n.includes("__"));
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(ordinaryName, { minLength: 5, maxLength: 20 }), async (names) => {
        const codes = slots.flatMap(({ slot }) => names.map((n) => fill(slot.template, n)));
        const results = await rulesOfMany(python.bin, codes);
        const refused = codes.filter((_c, i) => JSON.stringify(results[i]) !== JSON.stringify({ rules: [] }));
        expect(refused.map((c) => `${c} -> ${JSON.stringify(results[codes.indexOf(c)])}`)).toEqual([]);
      }),
      { numRuns: 8 },
    );
  });
});

it("refuses a node type it does not know (syntax of a later Python) by its name", async () => {
  const rules = await withChecker<string[]>(
    pythonInterpreters()[0]?.bin ?? "python3",
    [
      "class TemplateStr(check.ast.expr):",
      "    _fields = ('values',)",
      "tree = check.ast.Module(body=[check.ast.Expr(value=TemplateStr(values=[]), lineno=1, col_offset=0)], type_ignores=[])",
      "print(json.dumps([v['rule'] for v in check.violations(tree)]))",
    ].join("\n"),
    null,
  );
  expect(rules).toEqual(["TemplateStr"]);
});

it("finds at least the checker's interpreter", () => {
  expect(interpreters.length).toBeGreaterThan(0);
});
