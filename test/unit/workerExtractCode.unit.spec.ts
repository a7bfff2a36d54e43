import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { extractCode, fencedBlocks } from "../../src/domain/worker/extractCode.js";

describe("extracting the program from a model's answer", () => {
  it("given prose around a python block, when extracted, then only the block's body is left", () => {
    const answer = "Sure! Here is the program:\n```python\n# 1. add\nprint(1 + 2)\n```\nIt prints 3.";
    expect(extractCode(answer, "python")).toBe("# 1. add\nprint(1 + 2)");
  });

  it("given blocks in several languages, when extracted for javascript, then the javascript block wins over an earlier one", () => {
    const answer = "```bash\nnode main.js\n```\nand\n```js\nconsole.log(42)\n```\n```javascript\nconsole.log('second')\n```";
    expect(extractCode(answer, "javascript")).toBe("console.log(42)");
    expect(extractCode("```py\nprint(1)\n```", "python")).toBe("print(1)");
    expect(extractCode("``` Python title=x\nprint(2)\n```", "python")).toBe("print(2)");
  });

  it("given no block of the language, when extracted, then the first fenced block is taken", () => {
    expect(extractCode("```\nprint(1)\n```\n```ruby\nputs 2\n```", "python")).toBe("print(1)");
    expect(extractCode("~~~\nprint(3)\n~~~", "python")).toBe("print(3)");
  });

  it("given no fence at all, when extracted, then the whole answer is the program, trimmed", () => {
    expect(extractCode("\n\nprint('bare')\n\n", "python")).toBe("print('bare')");
  });

  it("given a block the model never closed, when extracted, then it runs to the end of the answer", () => {
    expect(extractCode("Here:\n```python\nprint(1)\nprint(2)", "python")).toBe("print(1)\nprint(2)");
    expect(extractCode("```python\nprint(1)```\n", "python")).toBe("print(1)");
  });

  it("given backticks inside the code or the prose, when extracted, then they neither open nor close a block", () => {
    expect(extractCode("Use ```x``` inline.\n```js\nconst s = `a ``` b`;\nconsole.log(s)\n```", "javascript")).toBe("const s = `a ``` b`;\nconsole.log(s)");
    expect(extractCode("````python\n```\nnot the end\n````", "python")).toBe("```\nnot the end");
  });

  it("given CRLF line ends, when extracted, then the fences are still found", () => {
    expect(fencedBlocks("```python\r\nprint(1)\r\n```\r\n")).toEqual([{ info: "python", body: "print(1)\r" }]);
  });
});

describe("extractCode properties", () => {
  const fenceLine = /^ {0,3}(`{3,}|~{3,})/;
  const body = fc.array(fc.string({ unit: "grapheme" }).filter((l) => !l.includes("\n") && !fenceLine.test(l)), { maxLength: 12 }).map((ls) => ls.join("\n"));

  it("returns exactly the body of a fenced block of the language, whatever prose surrounds it", () => {
    const prose = fc.string().map((s) => s.replace(/`|~/g, "").replace(/\n/g, " "));
    fc.assert(
      fc.property(body, prose, prose, fc.constantFrom("python", "py", "python3"), (code, before, after, tag) => {
        expect(extractCode(`${before}\n\`\`\`${tag}\n${code}\n\`\`\`\n${after}`, "python")).toBe(code);
      }),
    );
  });

  it("never throws, and returns text that is part of the answer", () => {
    // Answers built from fence fragments reach the unclosed, nested and mislabelled cases that random text rarely does.
    const fragments = fc.array(fc.constantFrom("```", "~~~", "````", "python", "js", "\n", "\r\n", " ", "   ", "print(1)", "`", "x"), { maxLength: 40 }).map((a) => a.join(""));
    fc.assert(
      fc.property(fc.oneof(fragments, fc.string(), fc.string({ unit: "grapheme" })), fc.constantFrom("python" as const, "javascript" as const), (text, language) => {
        const code = extractCode(text, language);
        expect(text.includes(code)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
