import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { storableParams, storableText } from "../../src/adapters/postgres/storableText.js";

const wellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

describe("text made storable for Postgres", () => {
  it("shows a NUL as U+2400 and a lone surrogate as U+FFFD, and keeps pairs and everything else", () => {
    expect(storableText("a\u0000b")).toBe("a\u2400b");
    expect(storableText("x\ud800y\udfffz")).toBe("x\ufffdy\ufffdz");
    expect(storableText("\u{1F600}\ud83d\ude00")).toBe("\u{1F600}\u{1F600}");
    expect(storableText(null)).toBeNull();
  });

  it("given any string, gives one with no NUL and no lone surrogate, of the same length, unchanged when already storable", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const out = storableText(s);
        expect(out.includes("\u0000")).toBe(false);
        expect(wellFormed(out)).toBe(true);
        expect(out.length).toBe(s.length);
        if (!s.includes("\u0000") && wellFormed(s)) expect(out).toBe(s);
      }),
    );
  });

  it("leaves JSON text alone: its escapes already stand for what cannot be stored", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: "binary" }), (value, s) => {
        const json = JSON.stringify({ value, s });
        expect(storableText(json)).toBe(json);
      }),
    );
  });

  it("makes every string parameter and string array element storable, nothing else", () => {
    expect(storableParams(["a\u0000", 1, null, ["b\u0000", 2], new Date(0)])).toEqual(["a\u2400", 1, null, ["b\u2400", 2], new Date(0)]);
  });
});
