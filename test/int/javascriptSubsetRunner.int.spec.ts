import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkJavascriptSubset } from "../../src/domain/tasks/javascriptSubset.js";
import { ORDINARY_JAVASCRIPT } from "../support/javascriptPrograms.js";

/**
 * The subset against what the runner really does with the code: node runs it as main.js, a
 * CommonJS script (src/adapters/executor/bwrapSandbox.ts, sandbox.ts), not as the module the
 * check parses. Here it runs the same way, without a sandbox, so these programs must only read.
 */
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "ec-js-subset-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function runLikeTheRunner(code: string) {
  const file = join(work, "main.js");
  await writeFile(file, code);
  return spawnSync(process.execPath, ["--disallow-code-generation-from-strings", file], { cwd: work, encoding: "utf8", timeout: 10_000 });
}

describe("programs that reach require in the runner", () => {
  it.each([
    [
      "code hidden from the module parser by an HTML-like comment",
      'let y = 1, x = 0;\nx = 1 <!--y + `\nconsole.log(typeof require);\n//`',
    ],
    ["the CommonJS wrapper's arguments", "const r = arguments[1];\nconsole.log(typeof r);"],
    ["the wrapper reached through a function's caller", 'function f() { return f["cal" + "ler"]["argu" + "ments"][1]; }\nconsole.log(typeof f());'],
  ])("refuses %s", async (_name, code) => {
    // What the check fears is real: the runner hands the program require.
    expect((await runLikeTheRunner(code)).stdout.trim()).toBe("function");
    expect(checkJavascriptSubset(code).ok).toBe(false);
  });
});

describe("ordinary generated programs", () => {
  it.each(Object.entries(ORDINARY_JAVASCRIPT))("%s passes the subset and runs as written", async (_name, code) => {
    expect(checkJavascriptSubset(code)).toEqual({ ok: true });
    const run = await runLikeTheRunner(code);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });
});
