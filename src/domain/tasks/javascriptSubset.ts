import { parse, type Node, type Options } from "acorn";

import { subsetResult, type SubsetCheck, type SubsetViolation } from "./subset.js";

/**
 * The executor's JavaScript subset, checked on acorn's tree before anything runs.
 *
 * The check is a filter that tells a model early, in words it can act on, what will not be run;
 * it is not the wall. A program can build any string at run time (`["con", "structor"].join("")`)
 * and use it as a key, and no reading of the source rules that out without refusing `obj[key]`,
 * which ordinary code uses everywhere. The sandbox must hold for code this check never saw.
 *
 * Four rules, each applied wherever its kind of thing appears:
 * - Node types are an allow-list: syntax a later acorn parses is refused by its type until
 *   someone decides it is safe.
 * - Every identifier in the tree is checked by one rule, wherever it stands: references,
 *   bindings, destructuring keys (`const { constructor: F } = f`), parameters, property names,
 *   labels. The walk goes through every field of every node, not a walker's idea of which
 *   children matter (acorn-walk skips non-computed keys, pattern properties and labels).
 *   Which property names are safe cannot be listed, so this one is a deny-list.
 * - A computed key (`x[k]`, `{ [k]: v }`) is checked by the same rule for every value it can be
 *   that the source fixes: literals, template literals, `+` of those, either side of `?:`,
 *   `||`, `&&`, `??` and `,`.
 * - Strings that only serve as such keys (exactly "constructor", "prototype", "caller",
 *   "callee", a reflection function's name, or anything starting with "__") are refused too,
 *   since a variable can carry one to a computed key.
 */

/** Syntax the subset refuses, named the way the prompts name it. */
const REFUSED_NODES: Record<string, string> = {
  ClassDeclaration: "class",
  ClassExpression: "class",
  ClassBody: "class",
  MethodDefinition: "class",
  PropertyDefinition: "class",
  StaticBlock: "class",
  PrivateIdentifier: "class",
  NewExpression: "new",
  ThisExpression: "this",
  TryStatement: "try",
  CatchClause: "try",
  ThrowStatement: "throw",
  ImportDeclaration: "import",
  ImportSpecifier: "import",
  ImportDefaultSpecifier: "import",
  ImportNamespaceSpecifier: "import",
  ImportAttribute: "import",
  ImportExpression: "import",
  ExportNamedDeclaration: "export",
  ExportDefaultDeclaration: "export",
  ExportAllDeclaration: "export",
  ExportSpecifier: "export",
  MetaProperty: "import.meta / new.target",
  AwaitExpression: "await",
  WithStatement: "with",
};

const ALLOWED_NODES = new Set([
  "Program", "ExpressionStatement", "BlockStatement", "EmptyStatement", "DebuggerStatement", "ReturnStatement",
  "LabeledStatement", "BreakStatement", "ContinueStatement", "IfStatement", "SwitchStatement", "SwitchCase",
  "WhileStatement", "DoWhileStatement", "ForStatement", "ForInStatement", "ForOfStatement",
  "FunctionDeclaration", "VariableDeclaration", "VariableDeclarator",
  "Identifier", "Literal", "ArrayExpression", "ObjectExpression", "Property", "FunctionExpression",
  "ArrowFunctionExpression", "UnaryExpression", "UpdateExpression", "BinaryExpression", "AssignmentExpression",
  "LogicalExpression", "MemberExpression", "ConditionalExpression", "CallExpression", "SequenceExpression",
  "YieldExpression", "TemplateLiteral", "TaggedTemplateExpression", "TemplateElement", "ChainExpression",
  "SpreadElement", "ObjectPattern", "ArrayPattern", "RestElement", "AssignmentPattern",
]);

/**
 * Names refused wherever they appear. The seed's list (process, require, globalThis, eval,
 * Function, Proxy, Reflect) plus the usual ways back to them: `constructor` reaches Function
 * from any function value; the reflection functions list and read the non-enumerable
 * properties (`constructor` among them) without naming them; `caller`, `callee` and
 * `arguments` walk up to the CommonJS wrapper, whose arguments hold `require` and `module`;
 * V8's stack-trace hooks hand out call sites and their functions.
 */
const FORBIDDEN_NAMES = new Set([
  "process", "require", "globalThis", "eval", "Function", "Proxy", "Reflect",
  "constructor", "prototype", "global", "module", "exports", "WebAssembly", "Atomics", "SharedArrayBuffer",
  "getPrototypeOf", "setPrototypeOf", "getOwnPropertyNames", "getOwnPropertyDescriptor", "getOwnPropertyDescriptors",
  "getOwnPropertySymbols", "defineProperty", "defineProperties",
  "caller", "callee", "prepareStackTrace", "captureStackTrace",
]);

/** Refused as strings too: they have no use but as keys (`"con" + "structor"` is folded first). */
const KEY_ONLY_STRINGS = new Set([
  "constructor", "prototype", "caller", "callee", "getPrototypeOf", "setPrototypeOf", "getOwnPropertyNames",
  "getOwnPropertyDescriptor", "getOwnPropertyDescriptors", "getOwnPropertySymbols", "defineProperty", "defineProperties",
  "prepareStackTrace", "captureStackTrace",
]);

/** `arguments` outside a function is the CommonJS wrapper's: exports, require, module... */
const TOP_LEVEL_ARGUMENTS = "arguments outside a function";
const TWO_READINGS = "code that reads differently as a script (the runner) and as a module";

type Role = "name" | "property";

function nameRule(name: string, role: Role): string | undefined {
  if (FORBIDDEN_NAMES.has(name) || name.startsWith("__")) return name;
  if (role === "property" && name === "arguments") return name;
  return undefined;
}

function stringRule(text: string): string | undefined {
  return KEY_ONLY_STRINGS.has(text) || text.startsWith("__") ? `${JSON.stringify(text)} in a string` : undefined;
}

type Known = string | number | bigint | boolean | null | RegExp | undefined;
type AnyNode = Node & Record<string, unknown>;
const MAX_KNOWN = 64;

const isNode = (v: unknown): v is AnyNode => typeof v === "object" && v !== null && typeof (v as { type?: unknown }).type === "string";
const child = (node: AnyNode, key: string): AnyNode => node[key] as AnyNode;

/** The values a key expression can take that the source itself fixes (not all it can take). */
function knownValues(node: AnyNode): Known[] {
  switch (node.type) {
    case "Literal":
      return [node.value as Known];
    case "TemplateLiteral": {
      const quasis = node.quasis as AnyNode[];
      let out: string[] = [String((quasis[0]?.value as { cooked: string | null }).cooked ?? "")];
      (node.expressions as AnyNode[]).forEach((e, i) => {
        const tail = String((quasis[i + 1]?.value as { cooked: string | null }).cooked ?? "");
        const values = knownValues(e);
        out = values.length === 0 ? [] : out.flatMap((head) => values.map((v) => head + String(v) + tail)).slice(0, MAX_KNOWN);
      });
      return out;
    }
    case "BinaryExpression": {
      if (node.operator !== "+") return [];
      const left = knownValues(child(node, "left"));
      const right = knownValues(child(node, "right"));
      return left.flatMap((a) => right.flatMap((b) => plus(a, b))).slice(0, MAX_KNOWN);
    }
    case "ConditionalExpression":
      return [...knownValues(child(node, "consequent")), ...knownValues(child(node, "alternate"))];
    case "LogicalExpression":
      return [...knownValues(child(node, "left")), ...knownValues(child(node, "right"))];
    case "SequenceExpression": {
      const last = (node.expressions as AnyNode[]).at(-1);
      return last ? knownValues(last) : [];
    }
    case "AssignmentExpression":
      return node.operator === "=" ? knownValues(child(node, "right")) : [];
    default:
      return [];
  }
}

/** JavaScript's own `+`, so `1 + 1` is 2 and `"1" + 1` is "11", as the key will be. */
function plus(a: Known, b: Known): Known[] {
  try {
    return [(a as never as number) + (b as never as number)];
  } catch {
    return []; // 1n + 1 throws: no key at all
  }
}

const POSITION_KEYS = new Set(["start", "end", "loc", "range", "sourceType"]);

/** Whether two parses of the same text are the same tree, positions aside. */
function sameTree(a: unknown, b: unknown): boolean {
  const pairs: [unknown, unknown][] = [[a, b]];
  while (pairs.length > 0) {
    const [x, y] = pairs.pop()!;
    if (x === y) continue;
    if (x instanceof RegExp || y instanceof RegExp) {
      if (String(x) !== String(y)) return false;
      continue;
    }
    if (typeof x !== "object" || typeof y !== "object" || x === null || y === null || Array.isArray(x) !== Array.isArray(y)) return false;
    const keys = Object.keys(x).filter((k) => !POSITION_KEYS.has(k));
    if (keys.length !== Object.keys(y).filter((k) => !POSITION_KEYS.has(k)).length) return false;
    for (const k of keys) pairs.push([(x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]]);
  }
  return true;
}

function parseAs(code: string, sourceType: Options["sourceType"]): Node | Error {
  try {
    // A CommonJS file may return at top level; a module may not, and strict mode is the module's.
    return parse(code, { ecmaVersion: "latest", sourceType, locations: sourceType === "module", allowReturnOutsideFunction: sourceType === "script" });
  } catch (err) {
    return err as Error;
  }
}

/**
 * Checks code against the executor's JavaScript subset before anything runs. The code is read
 * as a module (strict mode, so `with` and octal escapes are syntax errors) and also as the
 * script the runner executes it as (main.js is CommonJS): text that the two read differently,
 * such as an HTML-like comment (`<!--`, only a comment in a script), is refused, since the
 * check would vouch for a program other than the one that runs.
 */
export function checkJavascriptSubset(code: string): SubsetCheck {
  const ast = parseAs(code, "module");
  if (ast instanceof Error) return { ok: false, violations: [], reason: `not valid JavaScript: ${ast.message}` };
  const violations: SubsetViolation[] = [];
  const seen = new Set<string>();
  const at = (node: Node, rule: string | undefined) => {
    if (rule === undefined) return;
    const v = { rule, line: node.loc?.start.line ?? 0, column: node.loc?.start.column ?? 0 };
    const key = `${v.rule}\u0000${v.line}\u0000${v.column}`;
    if (seen.has(key)) return;
    seen.add(key);
    violations.push(v);
  };

  const script = parseAs(code, "script");
  if (!(script instanceof Error) && !sameTree(script, ast)) at(ast, TWO_READINGS);

  // Depth-first through every field of every node, iteratively so deep code cannot overflow the stack.
  const stack: { node: AnyNode; role: Role; inFunction: boolean }[] = [{ node: ast as AnyNode, role: "name", inFunction: false }];
  while (stack.length > 0) {
    const { node, role, inFunction } = stack.pop()!;
    if (!ALLOWED_NODES.has(node.type)) at(node, REFUSED_NODES[node.type] ?? node.type);
    if (node.type === "Identifier") {
      const name = node.name as string;
      at(node, nameRule(name, role));
      if (role === "name" && name === "arguments" && !inFunction) at(node, TOP_LEVEL_ARGUMENTS);
    }
    if (node.type === "Literal" && typeof node.value === "string") at(node, stringRule(node.value));
    if (node.type === "TemplateElement") at(node, stringRule(String((node.value as { cooked: string | null }).cooked ?? "")));
    const keyField = node.type === "MemberExpression" ? "property" : "key" in node ? "key" : undefined;
    if (keyField !== undefined) {
      const key = child(node, keyField);
      // A literal key names a property as plainly as an identifier does: { "constructor": 1 }.
      if (node.computed === true || key.type === "Literal") for (const v of knownValues(key)) at(key, nameRule(String(v), "property"));
    }
    const inner = inFunction || node.type === "FunctionDeclaration" || node.type === "FunctionExpression";
    for (const [field, value] of Object.entries(node)) {
      const childRole: Role = field === keyField && node.computed !== true ? "property" : "name";
      for (const c of Array.isArray(value) ? value : [value]) if (isNode(c)) stack.push({ node: c, role: childRole, inFunction: inner });
    }
  }
  violations.sort((a, b) => a.line - b.line || a.column - b.column);
  return subsetResult("JavaScript", violations);
}
