import { describe, expect, it } from "vitest";
import { checkPythonSubset } from "../../src/adapters/executor/pythonSubset.js";

const rulesOf = async (code: string) => {
  const r = await checkPythonSubset(code);
  return r.ok ? [] : r.violations.map((v) => v.rule);
};

const RUNTIME_FORMAT = "format on a string built at run time (use an f-string)";

/**
 * Ways around the subset found by trying it as an attacker would (issue 9, item 2): each must be
 * refused, and the refusal must name what was wrong so a model can fix it. The sandbox is still
 * the wall (test/int/bwrapSandbox.int.spec.ts runs code this check never saw).
 */
describe("the Python subset cannot be walked around", () => {
  it("refuses the reported bypass: builtins through a class pattern, then __import__ and open", async () => {
    const code = [
      "match print:",
      "    case object(__self__=B):",
      "        pass",
      "match B:",
      "    case object(__import__=IMP):",
      "        pass",
      'print(IMP("os").getcwd())',
      'print(B.open("/etc/hostname").read())',
    ].join("\n");
    const r = await checkPythonSubset(code);
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.violations.map((v) => [v.rule, v.line])).toEqual([
      ["__self__", 2],
      ["__import__", 5],
      ["open", 8],
    ]);
  });

  it.each([
    // Patterns bind attributes and names without an Attribute or a Name node.
    ["a class-pattern attribute", "match x:\n    case object(__class__=c):\n        pass", "__class__"],
    ["a forbidden name as a class-pattern attribute", "match b:\n    case object(open=o):\n        pass", "open"],
    ["a frame attribute in a class pattern", "match g:\n    case object(gi_frame=fr):\n        pass", "gi_frame"],
    ["a capture pattern", "match x:\n    case eval:\n        pass", "eval"],
    ["an as-pattern", "match x:\n    case [1] as __b:\n        pass", "__b"],
    ["a star pattern", "match x:\n    case [1, *__rest]:\n        pass", "__rest"],
    ["a mapping pattern's rest", "match x:\n    case {**__rest}:\n        pass", "__rest"],
    ["a mapping pattern's key", 'match g:\n    case {"__builtins__": b}:\n        pass', "'__builtins__' in a string"],
    ["format through a class pattern", 'match "{0.gi_frame}":\n    case str(format=f):\n        pass', RUNTIME_FORMAT],
    // Names that are plain strings in the tree.
    ["a keyword argument", "f(__self__=1)", "__self__"],
    ["a forbidden keyword argument", "dict(eval=1)", "eval"],
    ["keys of a ** argument", 'f(**{"__self__": 1})', "__self__"],
    ["a forbidden key of a ** argument", 'f(**{"open": 1})', "open"],
    ["a parameter", "def f(eval):\n    return 1", "eval"],
    ["a positional-only parameter", "def f(a, __b, /):\n    return 1", "__b"],
    ["a keyword-only parameter", "def f(*, open):\n    return 1", "open"],
    ["a *args parameter", "def f(*__a):\n    return 1", "__a"],
    ["a **kwargs parameter", "def f(**__k):\n    return 1", "__k"],
    ["a lambda parameter", "f = lambda __x: __x", "__x"],
    ["a function name", "def __getattr__(n):\n    return n", "__getattr__"],
    ["a forbidden function name", "def compile():\n    return 1", "compile"],
    ["an exception name", "try:\n    pass\nexcept E as __e:\n    pass", "__e"],
    ["a global name", "def f():\n    global __builtins__", "__builtins__"],
    ["an import alias", "import os as eval", "eval"],
    ["a from-import module", "from __future__ import annotations", "__future__"],
    ["a del target", "del __builtins__", "__builtins__"],
    ["an annotated target", "__x: int = 1", "__x"],
    // Forbidden names used as attributes reach the same functions.
    ["a forbidden attribute", "b.open('/etc/passwd')", "open"],
    ["eval as an attribute", "x.eval('1')", "eval"],
    ["__import__ as an attribute", "b.__import__('os')", "__import__"],
    // Frames, code and tracebacks lead to globals and builtins without a dunder.
    ["a generator's frame", '(x for x in [1]).gi_frame.f_globals["__builtins__"]', "gi_frame"],
    ["a frame's globals", "fr.f_globals", "f_globals"],
    ["a frame's builtins", 'fr.f_builtins["eval"]', "f_builtins"],
    ["a frame's caller", "fr.f_back", "f_back"],
    ["a frame's locals", "fr.f_locals", "f_locals"],
    ["a generator's code", "g.gi_code", "gi_code"],
    ["a code object's constants", "c.co_consts", "co_consts"],
    ["a coroutine's frame", "c.cr_frame", "cr_frame"],
    ["an async generator's frame", "a.ag_frame", "ag_frame"],
    ["a traceback's frame", "t.tb_frame", "tb_frame"],
    ["a traceback's next", "t.tb_next", "tb_next"],
    ["a generator it delegates to", "g.gi_yieldfrom", "gi_yieldfrom"],
    // Dunder names as strings.
    ["a dunder key", 'd["__builtins__"]', "'__builtins__' in a string"],
    ["a dunder key built from halves", 'd["__buil" + "tins__"]', "'__buil' in a string"],
    ["a dunder key's second half", 'd["_" + "_class__"]', "'_class__' in a string"],
    ["a dunder in bytes", 'b"__class__".decode()', "'__class__' in a string"],
    ["a dunder in a format field", '"{0.__class__}".format(x)', "__class__"],
    ["a dunder key in a format field", '"{0[__builtins__]}".format(g)', "'__builtins__' in a string"],
    ["a frame in a format field", '"{0.gi_frame.f_builtins}".format(g)', "gi_frame"],
    ["a frame in a nested format field", '"{0:{1.gi_frame}}".format(1, g)', "gi_frame"],
    ["a frame in a folded format string", '("{0." + "gi_frame}").format(g)', "gi_frame"],
    ["a frame in a repeated format string", '("{0.gi_frame}" * n).format(g)', "gi_frame"],
    ["a field split across copies of a repeated format string", '("gi_frame}{0." * n).format(g)', "a format string that does not parse"],
    ["a format string built at run time", "fmt = '{0.' + name + '}'\nprint(fmt.format(g))", RUNTIME_FORMAT],
    ["str.format called on the type", 'str.format("{0.gi_frame}", g)', RUNTIME_FORMAT],
    ["format_map on a string built at run time", "t.format_map(d)", RUNTIME_FORMAT],
    ["a format string that does not parse", '"{0.gi_frame".format(g)', "a format string that does not parse"],
    // Expressions in every corner of the tree are walked.
    ["a decorator", "@eval\ndef f():\n    return 1", "eval"],
    ["a dunder in a decorator", "@print.__self__.open\ndef f():\n    return 1", "__self__"],
    ["a default argument", "def f(x=print.__self__):\n    return x", "__self__"],
    ["a lambda default", "f = lambda x=b.open: x", "open"],
    ["a keyword-only default", "def f(*, x=g.gi_frame):\n    return x", "gi_frame"],
    ["an annotation", "def f(x: print.__self__) -> int:\n    return 1", "__self__"],
    ["an f-string field", 'print(f"{x.__class__}")', "__class__"],
    ["an f-string format spec", 'print(f"{x:{b.open}}")', "open"],
    ["an f-string conversion with a spec", 'print(f"{x!r:>{g.gi_frame}}")', "gi_frame"],
    ["a walrus target", "print((eval := 1))", "eval"],
    ["a walrus in a comprehension", "print([(__b := x) for x in [1]])", "__b"],
    ["a comprehension target", "print([1 for eval in [1]])", "eval"],
    ["a dict comprehension target", "print({k: v for __k, v in []})", "__k"],
    ["a generator's condition", "print(list(x for x in [1] if x.__class__))", "__class__"],
    ["a slice", "print(x[g.gi_frame:])", "gi_frame"],
    ["a match guard", "match x:\n    case 1 if x.__class__:\n        pass", "__class__"],
    ["a class pattern's class", "match x:\n    case print.__class__():\n        pass", "__class__"],
    // Classes without a class statement.
    ["a class made by type()", 'A = type("A", (), {})', "class"],
    // The parser reads the bytes the interpreter will run, coding declaration and all.
    ["code hidden by a coding declaration", '# coding: unicode_escape\ns = "\\x22;print(open)#"', "open"],
    // The parser folds look-alike letters into the names the interpreter uses.
    ["a dunder with a full-width letter", "match print:\n    case object(__\uff53elf__=b):\n        pass", "__self__"],
    ["a forbidden attribute with a full-width letter", "print(b.\uff4fpen)", "open"],
  ])("refuses %s", async (_name, code, rule) => {
    expect(await rulesOf(code)).toContain(rule);
  });

  it("names the place of a violation inside a pattern, a parameter or a keyword", async () => {
    const r = await checkPythonSubset("def f(a,\n      eval):\n    return print(1,\n                 __self__=2)\nmatch x:\n    case [1,\n          object(open=o)]:\n        pass");
    expect(r.ok ? [] : r.violations.map((v) => [v.rule, v.line])).toEqual([
      ["eval", 2],
      ["__self__", 4],
      ["open", 7],
    ]);
  });
});
