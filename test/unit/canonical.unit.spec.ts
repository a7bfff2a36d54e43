import canonicalize from "canonicalize";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/domain/events/canonical.js";

/** The reference implementation of RFC 8785, or the error it throws. */
const reference = (v: unknown): string | Error => {
  try {
    return canonicalize(v) ?? new Error("no JSON form");
  } catch (err) {
    return err as Error;
  }
};
const ours = (v: unknown): string | Error => {
  try {
    return canonicalJson(v);
  } catch (err) {
    return err as Error;
  }
};
/** Both give the same text, or both refuse the value. */
const agree = (v: unknown) => {
  const [r, o] = [reference(v), ours(v)];
  if (typeof r === "string") expect(o).toBe(r);
  else expect(o).toBeInstanceOf(Error);
};

// Strings of the units that matter: escapes, non-ASCII, surrogate pairs and lone surrogates.
const unit = fc.constantFrom("a", "Z", "é", "\u{1F600}", "\ud800", "\udc00", '"', "\\", "\n", "\u0001", "\u007f", "\u2028", "0", "1", "_");
const text = fc.string({ unit, maxLength: 6 });
// Keys that JSON.stringify would not keep in sorted order: array indices, and __proto__.
const key = fc.oneof(text, fc.constantFrom("0", "1", "10", "9", "4294967294", "4294967295", "__proto__", "toJSON", "-1", "01"));
const number = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, 1e21, 1e-7, 5e-324, Number.MAX_SAFE_INTEGER + 2));

describe("canonical JSON", () => {
  it("property: is the canonicalize package's RFC 8785 text of any JSON value, or refused where it refuses", () => {
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: "small" }, fc.constant(null), fc.boolean(), number, text, tie("array"), tie("object")),
      array: fc.array(tie("value"), { maxLength: 4 }),
      // Parsed from JSON text, as events are on every reading thread: own __proto__ keys stay keys.
      object: fc.dictionary(key, tie("value"), { maxKeys: 5 }).map((o) => JSON.parse(JSON.stringify(o)) as unknown),
    }));
    fc.assert(fc.property(value, agree), { numRuns: 2_000 });
  });

  it("property: agrees on values built in code too (undefined members, toJSON, Dates, non-finite numbers)", () => {
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.constantFrom(null, undefined, Number.NaN, Number.POSITIVE_INFINITY, new Date(0), { toJSON: () => ({ b: 1, a: [2, undefined] }) }),
        fc.boolean(),
        number,
        text,
        tie("array"),
        tie("object"),
      ),
      array: fc.array(tie("value"), { maxLength: 4 }),
      object: fc.dictionary(key, tie("value"), { maxKeys: 5 }),
    }));
    fc.assert(fc.property(value, agree), { numRuns: 2_000 });
  });

  it("sorts keys by UTF-16 code units, writes numbers as ECMAScript does, and keeps a parsed __proto__ key", () => {
    expect(canonicalJson(JSON.parse('{"b":1,"a":{"\u{1F600}":1,"\uff61":2},"10":[1e21,1e-7,-0],"9":"\u2028","__proto__":{"y":1,"x":2}}'))).toBe(
      '{"10":[1e+21,1e-7,0],"9":"\u2028","__proto__":{"x":2,"y":1},"a":{"\u{1F600}":1,"\uff61":2},"b":1}',
    );
  });

  it("refuses what has no canonical form: lone surrogates, numbers that are not finite, cycles, a top-level undefined", () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const v of [{ a: "\ud800" }, { "\udc00": 1 }, [Number.NaN], { a: Number.NEGATIVE_INFINITY }, cycle, undefined, 10n]) {
      expect(() => canonicalJson(v)).toThrow();
    }
  });
});
