import { describe, expect, it } from "vitest";
import { checkPythonSubset } from "../../src/adapters/executor/pythonSubset.js";

const rulesOf = async (code: string) => {
  const r = await checkPythonSubset(code);
  return r.ok ? [] : r.violations.map((v) => v.rule);
};

describe("the executor's Python subset, checked by CPython's parser", () => {
  it("accepts plain functions, comprehensions, f-strings and print", async () => {
    const code = [
      "def fib(n):",
      "    return n if n < 2 else fib(n - 1) + fib(n - 2)",
      "squares = [x * x for x in range(10) if x % 2 == 0]",
      "pairs = {k: v for k, v in zip('abc', (1, 2, 3))}",
      "total = sum(squares) + max(pairs.values())",
      "print(f'{total} {fib(10)}', sorted(pairs))",
    ].join("\n");
    expect(await checkPythonSubset(code)).toEqual({ ok: true });
  });

  it.each([
    ["import", "import os", "import"],
    ["from-import", "from os import path", "import"],
    ["class", "class A:\n    pass", "class"],
    ["try", "try:\n    x = 1\nexcept Exception:\n    pass", "try"],
    ["with", "with x as y:\n    pass", "with"],
    ["raise", "raise ValueError()", "raise"],
    ["assert", "assert 1 == 1", "assert"],
    ["async def", "async def f():\n    pass", "async"],
    ["await", "async def f():\n    await g()", "async"],
    ["global", "def f():\n    global x", "global"],
  ])("refuses %s", async (_name, code, rule) => {
    expect(await rulesOf(code)).toContain(rule);
  });

  it.each(["open", "exec", "eval", "compile", "__import__", "globals", "locals", "getattr", "setattr", "delattr", "vars", "dir", "input", "breakpoint", "memoryview", "bytearray"])(
    "refuses %s",
    async (name) => {
      expect(await rulesOf(`x = ${name}`)).toContain(name);
    },
  );

  it("refuses the dunder path back to the builtins, naming where it starts", async () => {
    const r = await checkPythonSubset("x = 1\ny = ().__class__.__bases__[0].__subclasses__()");
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/^outside the Python subset: /) });
    expect(r.ok ? [] : r.violations.map((v) => [v.rule, v.line])).toEqual(
      expect.arrayContaining([
        ["__class__", 2],
        ["__bases__", 2],
        ["__subclasses__", 2],
      ]),
    );
  });

  it("refuses code that does not parse, and never runs what it checks", async () => {
    expect(await checkPythonSubset("def f(:\n")).toMatchObject({ ok: false, reason: expect.stringMatching(/^not valid Python/) });
    // Would write a file if it ran; the parser only reads it (and open is refused anyway).
    const marker = `/tmp/ec-py-subset-${process.pid}`;
    await checkPythonSubset(`open(${JSON.stringify(marker)}, "w").write("ran")`);
    await expect(import("node:fs/promises").then((fs) => fs.access(marker))).rejects.toThrow();
  });

  it("answers for code nested too deeply to parse or to check, rather than failing", async () => {
    expect(await checkPythonSubset(`x = ${"-".repeat(100_000)}1`)).toMatchObject({ ok: false, reason: "not valid Python: too deeply nested to parse" });
    expect(await rulesOf(`x = (${"'a' + ".repeat(1500)}'a').format(1)`)).toEqual(["an expression too deeply nested to check"]);
  });

  it("does not mistake words in strings or comments for code", async () => {
    expect(await checkPythonSubset("# import os\nprint('class try eval open')")).toEqual({ ok: true });
  });

  it('accepts `if __name__ == "__main__":`, since __name__ is only a string', async () => {
    expect(await checkPythonSubset('def main():\n    print(1)\n\nif __name__ == "__main__":\n    main()')).toEqual({ ok: true });
    expect(await checkPythonSubset("def f():\n    return 1\nprint(f.__name__)")).toEqual({ ok: true });
  });
});

/**
 * Programs written the way small models write them. The worker feeds each refusal back to the
 * model and a refused program costs a try, so ordinary code must pass untouched.
 */
const ORDINARY_PROGRAMS: Record<string, string> = {
  "a word count with a main guard": `
def word_counts(text: str) -> dict[str, int]:
    """Count each word, ignoring case and punctuation."""
    counts = {}
    for word in text.lower().split():
        word = word.strip(".,!?;:")
        if word:
            counts[word] = counts.get(word, 0) + 1
    return counts


def main():
    text = "The quick brown fox. The lazy dog! The end?"
    counts = word_counts(text)
    for word, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"{word:<10}{n:>3}")
    print("-" * 20)
    print("=" * 20)


if __name__ == "__main__":
    main()
`,
  "numbers, formatting and math": `
# 1. Compute primes with a sieve
# 2. Print them in rows
def sieve(limit):
    is_prime = [True] * (limit + 1)
    is_prime[0] = is_prime[1] = False
    for i in range(2, int(limit ** 0.5) + 1):
        if is_prime[i]:
            for j in range(i * i, limit + 1, i):
                is_prime[j] = False
    return [i for i, p in enumerate(is_prime) if p]

primes = sieve(100)
for start in range(0, len(primes), 5):
    row = primes[start:start + 5]
    print(("{:>4}" * len(row)).format(*row))
print("Total: {}".format(len(primes)))
print("Average: {:.2f}".format(sum(primes) / len(primes)))
print("%d primes, largest %s" % (len(primes), max(primes)))
print(divmod(17, 5), round(3.14159, 2), pow(2, 10, 1000), abs(-3), bin(10)[2:], hex(255), int("ff", 16))
f_x = co_total = tb_size = 3
print(f_x + co_total + tb_size)
`,
  "a match statement on plain values": `
def describe(command):
    match command.split():
        case ["go", direction] if direction in ("north", "south"):
            return f"going {direction}"
        case ["take", *items]:
            return "taking " + ", ".join(items)
        case ["quit" | "exit"]:
            return "bye"
        case [single]:
            return f"unknown: {single!r}"
        case _:
            return "?"

def shape(point):
    match point:
        case (0, 0):
            return "origin"
        case (x, 0) | (0, x):
            return f"on an axis at {x}"
        case {"x": x, "y": y, **rest}:
            return f"dict point {x},{y} {rest}"
        case int(n) | float(n):
            return f"number {n}"
        case str() as s:
            return s.upper()
        case None:
            return "none"
    return "other"

for c in ["go north", "take lamp key", "quit", "look", ""]:
    print(describe(c))
for p in [(0, 0), (3, 0), {"x": 1, "y": 2, "z": 3}, 4, "abc", None, [1]]:
    print(shape(p))
`,
  "generators, closures and defaults": `
def fibonacci():
    a, b = 0, 1
    while True:
        yield a
        a, b = b, a + b

def take(n, iterable):
    out = []
    for value in iterable:
        if len(out) >= n:
            break
        out.append(value)
    return out

def make_counter(start=0, *, step=1):
    count = [start]
    def increment():
        count[0] += step
        return count[0]
    return increment

def total(*args, **kwargs):
    return sum(args) + sum(kwargs.values())

counter = make_counter(10, step=5)
print(take(10, fibonacci()), counter(), counter())
print(total(1, 2, 3, extra=4, more=5))
print(total(**{"alpha": 1, "beta": 2}))
data = [3, 1, 4, 1, 5, 9, 2, 6]
if (n := len(data)) > 5:
    print(f"{n} items, max {max(data)}, sorted {sorted(data, reverse=True)}")
squares = {x: x * x for x in data if x % 2}
unique = {x for x in data}
print(squares, unique, any(x > 8 for x in data), all(x > 0 for x in data))
print(list(map(str, data)), list(filter(lambda x: x > 3, data)), list(zip(data, data[1:])))
print("".join(reversed("hello")), "hello"[::-1], "a,b,c".split(","), " pad ".strip(), "x".isdigit())
matrix = [[1, 2], [3, 4]]
print([list(row) for row in zip(*matrix)], isinstance(matrix, list), type(matrix).__name__)
`,
  "a small simulation with a grid": `
GRID = [
    "#####",
    "#..E#",
    "#S.##",
    "#####",
]

def neighbours(r, c):
    for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
        yield r + dr, c + dc

def shortest_path(grid):
    start = next((r, c) for r, row in enumerate(grid) for c, ch in enumerate(row) if ch == "S")
    queue = [(start, 0)]
    seen = {start}
    while queue:
        (r, c), dist = queue.pop(0)
        if grid[r][c] == "E":
            return dist
        for nr, nc in neighbours(r, c):
            if grid[nr][nc] != "#" and (nr, nc) not in seen:
                seen.add((nr, nc))
                queue.append(((nr, nc), dist + 1))
    return -1

print(f"shortest path: {shortest_path(GRID)}")
print(f"{'name':<8}|{'value':>6}")
print(f"{3.14159:.3f} {1234567:,} {0.25:.0%} {42:08b}")
`,
};

describe("ordinary generated programs pass the Python subset", () => {
  it.each(Object.entries(ORDINARY_PROGRAMS))("accepts %s", async (_name, code) => {
    expect(await checkPythonSubset(code)).toEqual({ ok: true });
  });

  it("accepts them and they run as written", async () => {
    const { spawnSync } = await import("node:child_process");
    for (const code of Object.values(ORDINARY_PROGRAMS)) {
      const run = spawnSync("python3", ["-I", "-S", "-c", code], { encoding: "utf8" });
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
    }
  });
});
