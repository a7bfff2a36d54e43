"""The executor's Python subset, checked with CPython's own parser.

src/adapters/executor/pythonSubset.ts runs this file in an isolated interpreter with the
program on stdin; it prints {"violations": [{rule, line, column}, ...]} or {"syntax": reason}.
Parsing never runs the program.

The check is a filter that tells a model early, in words it can act on, what will not be run.
It is not the wall: code can build strings and reach objects in ways no reading of the source
rules out, so the sandbox must hold for code this check never saw. The rules therefore aim at
the usual ways back to the builtins module, frames and the importer, and leave ordinary code
(functions, loops, comprehensions, match on plain values, f-strings) alone, because every
refusal costs the model a try.

Three rules, each applied wherever its kind of thing appears in the tree:
- Node types are an allow-list: syntax this file does not know (a later Python's) is refused
  by its node name until someone decides it is safe.
- Identifiers are checked by one function wherever the grammar has an `identifier` field:
  names, attributes, parameters, keyword arguments, class-pattern attributes, capture names,
  imports, `global`... The walk takes every string-valued field except the grammar's few
  `string`/`constant` ones, so a field a later grammar adds is checked without a change here.
  Which attribute names are safe cannot be listed (every method of every builtin type is one),
  so this one is a deny-list: the seed's forbidden calls, every dunder but `__name__`, and the
  attributes of frames, code objects, generators, coroutines and tracebacks.
- String constants that name a dunder are refused too (`g["__builtins__"]`, "{0.__class__}"),
  and `str.format` is accepted only on a string known before the program runs, whose fields
  are then checked like attributes: a format field is the one getattr-by-string the builtins
  offer once getattr is gone.
"""

import ast
import json
import re
import string
import sys

import _string

# The seed's list: names that read files, run code or reach the interpreter's namespaces.
FORBIDDEN_NAMES = frozenset({
    "open", "exec", "eval", "compile", "__import__", "globals", "locals", "getattr", "setattr",
    "delattr", "vars", "dir", "input", "breakpoint", "memoryview", "bytearray",
})

# `if __name__ == "__main__":` is how most generated programs start. __name__ is a plain string
# on every object that has it and "__main__" is only its value, so refusing them would cost
# tries and buy nothing.
ALLOWED_DUNDERS = frozenset({"__name__", "__main__"})

# Attributes that lead from a generator, coroutine, frame or traceback to globals, builtins and
# code without a dunder: `(x for x in [1]).gi_frame.f_builtins["eval"]`. The live objects below
# give this interpreter's set; the fixed list keeps the names other versions add (the sandbox's
# Python may not be this one).
KNOWN_INTROSPECTION = frozenset({
    "gi_frame", "gi_code", "gi_running", "gi_yieldfrom", "gi_suspended",
    "cr_frame", "cr_code", "cr_running", "cr_await", "cr_origin", "cr_suspended",
    "ag_frame", "ag_code", "ag_running", "ag_await", "ag_suspended",
    "f_back", "f_builtins", "f_code", "f_globals", "f_locals", "f_lasti", "f_lineno", "f_trace",
    "f_trace_lines", "f_trace_opcodes", "f_generator",
    "tb_frame", "tb_next", "tb_lasti", "tb_lineno",
    "co_code", "co_consts", "co_names", "co_varnames", "co_freevars", "co_cellvars", "co_filename",
    "co_name", "co_qualname", "co_flags", "co_lnotab", "co_linetable", "co_exceptiontable",
    "co_lines", "co_positions", "co_argcount", "co_posonlyargcount", "co_kwonlyargcount",
    "co_nlocals", "co_stacksize", "co_firstlineno", "_co_code_adaptive", "_varname_from_oparg",
})
INTROSPECTION_PREFIX = re.compile(r"_?(gi|cr|ag|f|co|tb)_")


def _live_introspection():
    def generator():
        yield

    async def coroutine():
        pass

    async def async_generator():
        yield

    frame = sys._getframe()
    try:
        raise ValueError
    except ValueError as e:
        traceback = e.__traceback__
    coro = coroutine()
    objects = (generator(), coro, async_generator(), frame, frame.f_code, traceback)
    names = {n for o in objects for n in dir(o) if INTROSPECTION_PREFIX.match(n)}
    coro.close()
    return frozenset(names)


INTROSPECTION = KNOWN_INTROSPECTION | _live_introspection()


def _node_types(names):
    return tuple(t for t in (getattr(ast, n, None) for n in names) if t is not None)


# The allow-list of syntax. Operators and expression contexts are tags, allowed as a family.
ALLOWED_NODES = _node_types([
    "Module", "FunctionDef", "Return", "Delete", "Assign", "AugAssign", "AnnAssign", "For", "While",
    "If", "Match", "Expr", "Pass", "Break", "Continue",
    "BoolOp", "NamedExpr", "BinOp", "UnaryOp", "Lambda", "IfExp", "Dict", "Set", "ListComp",
    "SetComp", "DictComp", "GeneratorExp", "Yield", "YieldFrom", "Compare", "Call",
    "FormattedValue", "JoinedStr", "Constant", "Attribute", "Subscript", "Starred", "Name", "List",
    "Tuple", "Slice",
    "comprehension", "arguments", "arg", "keyword", "match_case",
    "MatchValue", "MatchSingleton", "MatchSequence", "MatchMapping", "MatchClass", "MatchStar",
    "MatchAs", "MatchOr",
    "TypeAlias", "TypeVar", "ParamSpec", "TypeVarTuple", "TypeIgnore",
    # Only found under a refused statement, which is the violation reported.
    "alias", "withitem", "ExceptHandler",
]) + (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)

# Refused syntax, named the way the prompts name it.
REFUSED_NODES = {
    "Import": "import", "ImportFrom": "import", "ClassDef": "class", "Try": "try", "TryStar": "try",
    "With": "with", "AsyncWith": "async", "AsyncFor": "async", "AsyncFunctionDef": "async",
    "Await": "async", "Raise": "raise", "Assert": "assert", "Global": "global", "Nonlocal": "nonlocal",
}

# The grammar's fields that hold text but no identifier (`string` and `constant` in the ASDL);
# every other string-valued field is an identifier. test/int/pythonSubsetGrammar.int.spec.ts
# holds this list to the grammar of every interpreter it finds.
NOT_IDENTIFIERS = frozenset({
    ("Constant", "value"), ("Constant", "kind"), ("MatchSingleton", "value"), ("TypeIgnore", "tag"),
    ("FunctionDef", "type_comment"), ("AsyncFunctionDef", "type_comment"), ("Assign", "type_comment"),
    ("For", "type_comment"), ("AsyncFor", "type_comment"), ("With", "type_comment"),
    ("AsyncWith", "type_comment"), ("arg", "type_comment"),
})

FORMAT_METHODS = frozenset({"format", "format_map"})
RUNTIME_FORMAT = "format on a string built at run time (use an f-string)"
BAD_FORMAT = "a format string that does not parse"
TOO_DEEP = "an expression too deeply nested to check"

# A dunder word inside a string: two underscores touching a letter or digit. "____" (a rule
# line) and "a_b" are not; "__class__", "__cl" and "ss__" (halves of a built name) are.
DUNDER_WORD = re.compile(r"\w*(?:[^\W_]__|__[^\W_])\w*")


def identifier_rule(name):
    """Why an identifier is refused, or None. Dotted names (import modules) count by part."""
    for part in name.split("."):
        if part in FORBIDDEN_NAMES or part in INTROSPECTION:
            return part
        if part.startswith("__") and part not in ALLOWED_DUNDERS:
            return part
    return None


def string_rule(text):
    """Why a string constant is refused: it names a dunder (other than the allowed ones)."""
    for word in DUNDER_WORD.findall(text):
        if word not in ALLOWED_DUNDERS:
            return repr(word) + " in a string"
    return None


def folded_string(node):
    """The value of a string expression known before the program runs, or None."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in node.values):
        return "".join(v.value for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = folded_string(node.left), folded_string(node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        for text, times in ((node.left, node.right), (node.right, node.left)):
            value = folded_string(text)
            if value is not None and isinstance(times, ast.Constant) and type(times.value) is int:
                return value * times.value if len(value) * times.value <= 100_000 else None
    return None


def format_templates(node):
    """The strings a `.format` receiver can be, when they are known before the program runs.

    `("{:>4}" * len(row)).format(*row)` is common: a known string repeated any number of times.
    Every field of s * n (n >= 2) is already a field of s * 2 or s * 3, since each copy of s
    holds a brace wherever a field can start or end, so those stand for every n.
    """
    template = folded_string(node)
    if template is not None:
        return [template]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        for text in (node.left, node.right):
            value = folded_string(text)
            if value is not None:
                return [value, value * 2, value * 3]
    return None


def format_field_rules(template, depth=0):
    """What a format string's fields reach: attribute parts are identifiers, [keys] are strings."""
    rules = []
    try:
        for _text, field, spec, _conversion in string.Formatter().parse(template):
            if field is None:
                continue
            # "{name.attr[key]}": name and key are looked up in mappings, attr with getattr.
            first, rest = _string.formatter_field_name_split(field)
            if isinstance(first, str):
                rules.append(string_rule(first))
            for is_attribute, key in rest:
                if is_attribute:
                    rules.append(identifier_rule(key))
                elif isinstance(key, str):
                    rules.append(string_rule(key))
            if spec and depth < 2:
                rules.extend(format_field_rules(spec, depth + 1))
    except ValueError:
        rules.append(BAD_FORMAT)
    return [r for r in rules if r is not None]


def node_rules(node):
    """Every rule one node breaks, apart from those of its children."""
    kind = type(node).__name__
    if not isinstance(node, ALLOWED_NODES):
        yield REFUSED_NODES.get(kind, kind)
    for field, value in ast.iter_fields(node):
        if (kind, field) in NOT_IDENTIFIERS:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                yield identifier_rule(item)
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        text = node.value if isinstance(node.value, str) else node.value.decode("latin-1")
        yield string_rule(text)
    if isinstance(node, ast.Attribute) and node.attr in FORMAT_METHODS:
        templates = format_templates(node.value)
        if templates is None:
            yield RUNTIME_FORMAT
        else:
            for template in templates:
                yield from format_field_rules(template)
    if isinstance(node, ast.MatchClass) and FORMAT_METHODS.intersection(node.kwd_attrs):
        yield RUNTIME_FORMAT
    if isinstance(node, ast.Call):
        # f(**{"name": v}) passes keyword names as strings: they are identifiers like f(name=v).
        for kw in node.keywords:
            if kw.arg is None and isinstance(kw.value, ast.Dict):
                for key in kw.value.keys:
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        yield identifier_rule(key.value)
        # type(name, bases, namespace) makes a class without a class statement.
        if isinstance(node.func, ast.Name) and node.func.id == "type" and len(node.args) + len(node.keywords) > 1:
            yield "class"


def violations(tree):
    out = []
    # Nodes without a position (arguments, comprehension...) report their parent's.
    stack = [(tree, 1, 0)]
    while stack:
        node, line, column = stack.pop()
        line = getattr(node, "lineno", line)
        column = getattr(node, "col_offset", column)
        try:
            for rule in node_rules(node):
                if rule is not None:
                    out.append({"rule": rule, "line": line, "column": column})
        except RecursionError:
            out.append({"rule": TOO_DEEP, "line": line, "column": column})
        stack.extend((child, line, column) for child in ast.iter_child_nodes(node))
    out.sort(key=lambda v: (v["line"], v["column"], v["rule"]))
    return out


def main():
    # The bytes, not text: the parser then honours a coding declaration exactly as the
    # interpreter that runs the file will (a `# coding: unicode_escape` line turns "\x5f" into "_").
    try:
        tree = ast.parse(sys.stdin.buffer.read())
    except (SyntaxError, ValueError) as e:
        where = f" (line {e.lineno})" if isinstance(e, SyntaxError) else ""
        print(json.dumps({"syntax": f"{getattr(e, 'msg', str(e))}{where}"}))
        return
    except (RecursionError, MemoryError):
        # The interpreter that would run it cannot compile it either.
        print(json.dumps({"syntax": "too deeply nested to parse"}))
        return
    print(json.dumps({"violations": violations(tree)}))


if __name__ == "__main__":
    main()
