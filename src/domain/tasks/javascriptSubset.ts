import { parse, type Node } from "acorn";
import { full } from "acorn-walk";

import { subsetResult, type SubsetCheck, type SubsetViolation } from "./subset.js";

/** Syntax the seed's JavaScript subset refuses, by AST node type. */
const FORBIDDEN_NODES: Record<string, string> = {
  ClassDeclaration: "class",
  ClassExpression: "class",
  NewExpression: "new",
  ThisExpression: "this",
  TryStatement: "try",
  ThrowStatement: "throw",
  ImportDeclaration: "import",
  ImportExpression: "import",
  ExportNamedDeclaration: "export",
  ExportDefaultDeclaration: "export",
  ExportAllDeclaration: "export",
  MetaProperty: "import.meta / new.target",
  AwaitExpression: "await",
};

/**
 * Names the subset refuses wherever they appear as identifiers. The seed's list (process,
 * require, globalThis, eval, Function, Proxy, Reflect) plus the usual ways back to them:
 * `constructor` reaches Function from any function value, and a few more globals that reach
 * the host.
 */
const FORBIDDEN_NAMES = new Set([
  "process", "require", "globalThis", "eval", "Function", "Proxy", "Reflect",
  "constructor", "__proto__", "prototype", "global", "module", "exports", "WebAssembly", "Atomics", "SharedArrayBuffer",
]);

/** The name a key or property stands for: `a.b` and `a["b"]` both name b. */
function nameOf(node: Node, computed: boolean): string | undefined {
  if (!computed && (node.type === "Identifier" || node.type === "PrivateIdentifier")) return (node as Node & { name: string }).name;
  if (node.type === "Literal") {
    const value = (node as Node & { value: unknown }).value;
    return typeof value === "string" ? value : undefined;
  }
  return undefined;
}

/**
 * Checks code against the executor's JavaScript subset before anything runs. The code is
 * parsed as a module (strict mode, so `with` and octal escapes are syntax errors) and every
 * node is visited; property names count too, so `x["constructor"]` is caught as well as `x.constructor`.
 */
export function checkJavascriptSubset(code: string): SubsetCheck {
  let ast: Node;
  try {
    ast = parse(code, { ecmaVersion: "latest", sourceType: "module", locations: true });
  } catch (err) {
    return { ok: false, violations: [], reason: `not valid JavaScript: ${(err as Error).message}` };
  }
  const violations: SubsetViolation[] = [];
  const at = (node: Node, rule: string) =>
    violations.push({ rule, line: node.loc?.start.line ?? 0, column: node.loc?.start.column ?? 0 });
  const forbiddenName = (node: Node, computed: boolean) => {
    const name = nameOf(node, computed);
    if (name !== undefined && FORBIDDEN_NAMES.has(name)) at(node, name);
  };
  full(ast, (node) => {
    const rule = FORBIDDEN_NODES[node.type];
    if (rule) at(node, rule);
    if (node.type === "Identifier") forbiddenName(node, false);
    if (node.type === "MemberExpression") forbiddenName(node.property, node.computed);
    if (node.type === "Property" || node.type === "PropertyDefinition") forbiddenName(node.key, node.computed);
  });
  return subsetResult("JavaScript", violations);
}
