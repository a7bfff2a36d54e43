import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ModelUnavailableError, ollamaProvider, type ModelProvider } from "../../src/adapters/models/ollamaProvider.js";
import { createSandbox, type Sandbox } from "../../src/adapters/executor/sandbox.js";
import { runSubtask } from "../../src/worker/runSubtask.js";
import { startFakeOllama, type FakeOllama } from "../support/fakeOllama.js";

const model = "qwen2.5-coder:1.5b";
let ollama: FakeOllama;
let provider: ModelProvider;
let sandbox: Sandbox;
let prompts: string[];

/** The model's answers in order, one per prompt; the last one repeats. */
const answers = (...texts: string[]) => {
  ollama.answer = (prompt) => {
    prompts.push(prompt);
    return texts[Math.min(prompts.length - 1, texts.length - 1)] ?? "";
  };
};
const fenced = (language: string, code: string) => `Here is the program.\n\`\`\`${language}\n${code}\n\`\`\`\nIt prints the answer.`;

beforeAll(async () => {
  ollama = await startFakeOllama([model]);
  provider = ollamaProvider(ollama.url, model);
  sandbox = await createSandbox({ mode: "bwrap", agentMode: "worker", sandboxRequired: true });
});
afterAll(() => ollama?.close());
beforeEach(() => {
  prompts = [];
});

describe("running a subtask: plan, code, run in bubblewrap, reflect", () => {
  it("given a model that writes working Python, then ok on the first try with its output", async () => {
    const code = "# 1. sum the numbers\n# 2. print the sum\nprint(sum(range(1, 11)))";
    answers(fenced("python", code));
    const r = await runSubtask({ input: "print the sum of 1..10", language: "python", timeoutMs: 10_000 }, { provider, sandbox });
    expect(r).toMatchObject({ ok: true, code, output: "55\n", stderr: "", iterations: 1 });
    expect(r.durationMs).toBeGreaterThan(0);
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain("print the sum of 1..10");
    expect(ollama.requests.at(-1)?.body).toMatchObject({ model, stream: false });
  });

  it("given a model that writes working JavaScript, then ok on the first try", async () => {
    answers(fenced("javascript", "// 1. double\nconsole.log([1, 2, 3].map((x) => x * 2).join(','))"));
    const r = await runSubtask({ input: "double 1, 2, 3", language: "javascript", timeoutMs: 10_000 }, { provider, sandbox });
    expect(r).toMatchObject({ ok: true, output: "2,4,6\n", iterations: 1 });
  });

  it("given failing code then a fix, then ok on the second try, and the reflect prompt held the failed code and its stderr", async () => {
    answers(fenced("python", "print(total)"), fenced("python", "total = 6\nprint(total)"));
    const r = await runSubtask({ input: "print six", language: "python", timeoutMs: 10_000 }, { provider, sandbox });
    expect(r).toMatchObject({ ok: true, code: "total = 6\nprint(total)", output: "6\n", iterations: 2 });
    expect(prompts).toHaveLength(2);
    expect(prompts[1]).toContain("did not work");
    expect(prompts[1]).toContain("print(total)");
    expect(prompts[1]).toContain("NameError: name 'total' is not defined");
    expect(prompts[1]).toContain("print six");
  });

  it("given code outside the subset, then it is not run and the violation is fed back", async () => {
    answers(fenced("python", "import os\nprint(os.getcwd())"), fenced("python", "print('fine')"));
    const r = await runSubtask({ input: "print where you are", language: "python", timeoutMs: 10_000 }, { provider, sandbox });
    expect(r).toMatchObject({ ok: true, output: "fine\n", iterations: 2 });
    expect(prompts[1]).toMatch(/refused before running: outside the Python subset: import/);
    expect(prompts[1]).toContain("line 1, column 0: import is not allowed");
  });

  it("given JavaScript that stays outside the subset on every try, then ok=false with stderr starting outside_subset:", async () => {
    answers(fenced("js", "const m = new Map();\nconsole.log(process.env)"));
    const r = await runSubtask({ input: "print the environment", language: "javascript", timeoutMs: 10_000 }, { provider, sandbox });
    expect(r.ok).toBe(false);
    expect(r.iterations).toBe(3);
    expect(r.output).toBe("");
    expect(r.stderr).toMatch(/^outside_subset: outside the JavaScript subset: new, process/);
    expect(prompts).toHaveLength(3);
  });

  it("given code that fails every time, then ok=false after the bound with the last stderr", async () => {
    answers(fenced("python", "print(1 / 0)"));
    const r = await runSubtask({ input: "divide", language: "python", timeoutMs: 10_000 }, { provider, sandbox, maxIterations: 2 });
    expect(r).toMatchObject({ ok: false, iterations: 2, code: "print(1 / 0)" });
    expect(r.stderr).toContain("ZeroDivisionError");
    expect(prompts).toHaveLength(2);
  });

  it("given an endless loop, then the subtask's timeoutMs kills it and the kill is fed back", async () => {
    answers(fenced("python", "while True:\n    pass"), fenced("python", "print('done')"));
    const started = Date.now();
    const r = await runSubtask({ input: "loop", language: "python", timeoutMs: 1_500 }, { provider, sandbox });
    expect(r).toMatchObject({ ok: true, output: "done\n", iterations: 2 });
    expect(Date.now() - started).toBeLessThan(1_500 + 5_000);
    expect(prompts[1]).toContain("killed after 1500 ms: the program ran longer than its time limit");
  });

  it("given an endless loop on the last try, then ok=false and stderr says it was killed at the subtask's limit", async () => {
    answers(fenced("javascript", "for (;;) {}"));
    const r = await runSubtask({ input: "loop", language: "javascript", timeoutMs: 1_000 }, { provider, sandbox, maxIterations: 1 });
    expect(r).toMatchObject({ ok: false, iterations: 1 });
    expect(r.stderr).toMatch(/killed after 1000 ms/);
  });

  it("given a syntax error, then it is fed back as a broken program, not as outside the subset", async () => {
    answers(fenced("python", "print(("), fenced("python", "print(1)"));
    const r = await runSubtask({ input: "print 1", language: "python", timeoutMs: 10_000 }, { provider, sandbox });
    expect(r).toMatchObject({ ok: true, iterations: 2 });
    expect(prompts[1]).toMatch(/not valid Python/);
  });

  it("given no model, then ModelUnavailableError and no code is invented", async () => {
    const missing = ollamaProvider(ollama.url, "no-such-model:1b");
    await expect(runSubtask({ input: "x", language: "python", timeoutMs: 5_000 }, { provider: missing, sandbox })).rejects.toBeInstanceOf(ModelUnavailableError);
    const unreachable = ollamaProvider("http://127.0.0.1:9", model);
    await expect(runSubtask({ input: "x", language: "python", timeoutMs: 5_000 }, { provider: unreachable, sandbox })).rejects.toThrow(/no model .* reachable at http:\/\/127\.0\.0\.1:9/);
  });

  it("given a stop signal, then the subtask is abandoned before the model is asked", async () => {
    answers(fenced("python", "print(1)"));
    const r = runSubtask({ input: "x", language: "python", timeoutMs: 5_000 }, { provider, sandbox, signal: AbortSignal.abort() });
    await expect(r).rejects.toThrow();
    expect(prompts).toHaveLength(0);
  });
});
