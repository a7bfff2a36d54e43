import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { asWellFormed, loneSurrogatePath, NUL_REFUSED, nulPaths, pathPattern, withoutNul, type ValuePath } from "../../src/domain/text.js";

/** Every string (not key) of a JSON value and its path. */
function stringPaths(value: unknown, path: ValuePath = []): ValuePath[] {
  if (typeof value === "string") return [path];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringPaths(v, [...path, i]));
  if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => stringPaths(v, [...path, k]));
  return [];
}

/** `value` with the string at `path` replaced by `f` of it. */
function updated(value: unknown, path: ValuePath, f: (s: string) => string): unknown {
  if (path.length === 0) return f(value as string);
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((v, i) => (i === head ? updated(v, rest, f) : v));
  return { ...(value as Record<string, unknown>), [head!]: updated((value as Record<string, unknown>)[head!], rest, f) };
}

const withoutNulChars = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v).replaceAll("\\u0000", "")) as unknown);

describe("text and data: a NUL", () => {
  it("given strings at every depth, when one holds a NUL, then its path is named", () => {
    const body = { prompt: "a\u0000b", nested: { list: ["ok", "x\u0000"] }, fine: "no nul" };
    expect(nulPaths(body)).toEqual([["prompt"], ["nested", "list", 1]]);
  });

  it("given data paths, when data holds a NUL, then it is kept; text beside it is still refused", () => {
    const result = { code: "print(chr(0))", output: "a\u0000b", stderr: "\u0000", leaseId: "l\u0000" };
    expect(nulPaths(result, ["/code", "/output", "/stderr"].map(pathPattern))).toEqual([["leaseId"]]);
    const escalation = { input: "fix it", history: [{ code: "x", stderr: "\u0000" }, { code: "\u0000", stderr: "" }] };
    expect(nulPaths(escalation, ["/history/*/code", "/history/*/stderr"].map(pathPattern))).toEqual([]);
    expect(nulPaths({ ...escalation, input: "\u0000" }, ["/history/*/code", "/history/*/stderr"].map(pathPattern))).toEqual([["input"]]);
  });

  it("given a key holding a NUL, then it is refused even at a data path", () => {
    expect(nulPaths({ "a\u0000": 1 })).toEqual([["a\u0000"]]);
    expect(nulPaths({ output: { "k\u0000": "v" } }, [pathPattern("/output")])).toEqual([["output", "k\u0000"]]);
  });

  it("given a body nested a million levels deep, then the walk does not overflow the stack", () => {
    const depth = 1_000_000;
    const deep = JSON.parse("[".repeat(depth) + '"\\u0000"' + "]".repeat(depth)) as unknown;
    expect(nulPaths(deep)[0]).toHaveLength(depth);
    expect(loneSurrogatePath(deep)).toBeUndefined();
  });

  it("property: a value without a NUL has none; a NUL put in any one string is found at its path, unless that path is data", () => {
    fc.assert(
      fc.property(withoutNulChars, fc.nat(), fc.nat(), (value, pick, at) => {
        expect(nulPaths(value)).toEqual([]);
        const strings = stringPaths(value);
        if (strings.length === 0) return;
        const path = strings[pick % strings.length]!;
        const poisoned = updated(value, path, (s) => s.slice(0, at % (s.length + 1)) + "\u0000" + s.slice(at % (s.length + 1)));
        expect(nulPaths(poisoned)).toEqual([path]);
        const pointer = path.map((p) => "/" + String(p).replaceAll("~", "~0").replaceAll("/", "~1")).join("");
        expect(nulPaths(poisoned, [pathPattern(pointer)])).toEqual([]);
      }),
      { seed: 9, numRuns: 300 },
    );
  });

  it("withoutNul: the zod schema refuses text with a NUL, one issue at each field's path, and keeps data exactly", () => {
    const Body = withoutNul(z.object({ name: z.string(), tags: z.array(z.string()), output: z.string() }), [pathPattern("/output")]);
    const refused = Body.safeParse({ name: "w\u0000", tags: ["a", "\u0000"], output: "x" });
    expect(refused.success).toBe(false);
    expect(refused.error!.issues.map((i) => [i.path, i.message])).toEqual([
      [["name"], NUL_REFUSED],
      [["tags", 1], NUL_REFUSED],
    ]);
    expect(Body.parse({ name: "w", tags: [], output: "a\u0000b" })).toEqual({ name: "w", tags: [], output: "a\u0000b" });
  });

  it("pathPattern reads JSON Pointers, with ~1 and ~0 escapes, and refuses a path without its leading slash", () => {
    expect(pathPattern("/history/*/code")).toEqual(["history", "*", "code"]);
    expect(pathPattern("")).toEqual([]);
    expect(pathPattern("/a~1b/c~0d")).toEqual(["a/b", "c~d"]);
    expect(() => pathPattern("output")).toThrow(/JSON Pointer/);
  });
});

describe("text and data: a lone surrogate", () => {
  it("given a lone high or low surrogate in a string or a key, then its path is named; a pair (an emoji) is text", () => {
    expect(loneSurrogatePath({ prompt: "a\ud800b" })).toEqual(["prompt"]);
    expect(loneSurrogatePath({ list: ["ok", "\udc00"] })).toEqual(["list", 1]);
    expect(loneSurrogatePath({ ["k\ud83d"]: 1 })).toEqual(["k\ud83d"]);
    expect(loneSurrogatePath({ prompt: "\ud83d\ude00 and \u00e9" })).toBeUndefined();
  });

  it("property: a string has a lone surrogate exactly when it has no UTF-8 form that reads back the same", () => {
    const anyUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 8 });
    fc.assert(
      fc.property(anyUnits, (s) => {
        const roundTrips = Buffer.from(s, "utf8").toString("utf8") === s;
        expect(loneSurrogatePath({ s }) === undefined).toBe(roundTrips);
      }),
      { seed: 9, numRuns: 500 },
    );
  });
});

describe("text and data: a model's answer made well-formed", () => {
  it("given lone surrogates, then each becomes U+FFFD; pairs and everything else stay", () => {
    expect(asWellFormed("a\ud800b\udfff\ud83d\ude00\u0000")).toBe("a\ufffdb\ufffd\ud83d\ude00\u0000");
  });

  it("property: the result has no lone surrogate and is what UTF-8 makes of the string", () => {
    const anyUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 12 });
    fc.assert(
      fc.property(anyUnits, (s) => {
        expect(loneSurrogatePath(asWellFormed(s))).toBeUndefined();
        expect(asWellFormed(s)).toBe(Buffer.from(s, "utf8").toString("utf8"));
      }),
      { seed: 9, numRuns: 500 },
    );
  });
});
