import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cloudEscalator } from "../../src/adapters/escalation/cloudEscalator.js";
import { freePort } from "../../src/adapters/nats/natsServerProcess.js";
import { EscalationFailedError, EscalationUnavailableError } from "../../src/domain/escalation/escalator.js";
import type { EscalationRequest } from "../../src/domain/escalation/request.js";
import { failureOf } from "../support/escalation.js";
import { startFakeOpenAi, type FakeOpenAi } from "../support/fakeOpenAi.js";

const model = "gpt-4o-mini";
const apiKey = "sk-test-key";
const request: EscalationRequest = {
  subtaskId: "t1-0",
  taskId: "t1",
  language: "python",
  input: "write add(a, b) and print add(2, 3)",
  history: [
    { code: "print(add(2, 3))", stderr: "NameError: name 'add' is not defined" },
    { code: "def add(a, b):\n    return a - b\nprint(add(2, 3))", stderr: "", output: "-1" },
  ],
};


let cloud: FakeOpenAi;
beforeAll(async () => {
  cloud = await startFakeOpenAi();
});
afterAll(async () => {
  await cloud?.close();
});

describe("cloud escalator: the openai client against an OpenAI-compatible endpoint", () => {
  it("sends the model, a system message with the rules and a user message with every try, and returns the code", async () => {
    cloud.reply = () => ({ content: "```python\ndef add(a, b):\n    return a + b\nprint(add(2, 3))\n```" });
    const reply = await cloudEscalator({ baseURL: cloud.baseURL, apiKey, model }).escalate(request);
    expect(reply).toEqual({ code: "def add(a, b):\n    return a + b\nprint(add(2, 3))", model, via: "cloud" });

    const sent = cloud.requests.at(-1)!;
    expect(sent.path).toBe("/v1/chat/completions");
    expect(sent.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(sent.body.model).toBe(model);
    expect(sent.body.messages.map((m) => m.role)).toEqual(["system", "user"]);
    const [system, user] = sent.body.messages.map((m) => m.content);
    expect(system).toMatch(/only code/);
    expect(system).toMatch(/no import statements/);
    expect(user).toContain(request.input);
    for (const t of request.history) expect(user).toContain(t.code);
    expect(user).toContain("NameError: name 'add' is not defined");
    expect(user).toContain("-1");
  });

  it("names the status and the reason of a 401, and of a 500 after its one retry", async () => {
    cloud.reply = () => ({ status: 401, message: "Incorrect API key provided: sk-wrong" });
    const before401 = cloud.requests.length;
    const unauthorized = await failureOf(cloudEscalator({ baseURL: cloud.baseURL, apiKey: "sk-wrong", model }).escalate(request));
    expect(unauthorized).toBeInstanceOf(EscalationFailedError);
    expect(unauthorized).toMatchObject({ via: "cloud", status: 401 });
    expect(unauthorized.message).toMatch(/cloud endpoint .* \(model gpt-4o-mini\) answered 401: Incorrect API key provided: sk-wrong$/);
    expect(cloud.requests.length - before401).toBe(1);

    cloud.reply = () => ({ status: 500, message: "The server had an error while processing your request" });
    const before500 = cloud.requests.length;
    const fault = await failureOf(cloudEscalator({ baseURL: cloud.baseURL, apiKey, model }).escalate(request));
    expect(fault).toBeInstanceOf(EscalationFailedError);
    expect(fault).toMatchObject({ status: 500, message: expect.stringMatching(/answered 500: The server had an error/) });
    expect(cloud.requests.length - before500).toBe(2);
  });

  it("refuses an answer without code", async () => {
    for (const content of [null, "", "```python\n```"]) {
      cloud.reply = () => ({ content });
      const empty = await failureOf(cloudEscalator({ baseURL: cloud.baseURL, apiKey, model, maxRetries: 0 }).escalate(request));
      expect(empty).toBeInstanceOf(EscalationFailedError);
      expect(empty.message).toMatch(/answered without usable code/);
    }
  });

  it("is unavailable when the endpoint is unreachable or a setting is missing, and never reads OPENAI_* from the environment", async () => {
    const port = await freePort();
    const down = await failureOf(cloudEscalator({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey, model, maxRetries: 0 }).escalate(request));
    expect(down).toBeInstanceOf(EscalationUnavailableError);
    expect(down.message).toMatch(new RegExp(`cloud endpoint http://127.0.0.1:${port}/v1 \\(model ${model}\\) is unreachable: Connection error`));

    const saved = { key: process.env.OPENAI_API_KEY, url: process.env.OPENAI_BASE_URL };
    process.env.OPENAI_API_KEY = "sk-from-env";
    process.env.OPENAI_BASE_URL = cloud.baseURL;
    try {
      const before = cloud.requests.length;
      const noKey = await failureOf(cloudEscalator({ baseURL: cloud.baseURL, apiKey: undefined, model }).escalate(request));
      expect(noKey).toBeInstanceOf(EscalationUnavailableError);
      expect(noKey.message).toBe("cloud escalation is not configured (missing apiKey)");
      const nothing = await failureOf(cloudEscalator({ baseURL: undefined, apiKey: undefined, model: "" }).escalate(request));
      expect(nothing.message).toBe("cloud escalation is not configured (missing baseURL, apiKey, model)");
      expect(cloud.requests.length).toBe(before);
    } finally {
      if (saved.key === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = saved.key;
      if (saved.url === undefined) delete process.env.OPENAI_BASE_URL;
      else process.env.OPENAI_BASE_URL = saved.url;
    }
  });

  it("is unavailable when the endpoint does not answer in time", async () => {
    cloud.reply = () => ({ content: "print(5)" });
    const { createServer } = await import("node:http");
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    const slow = await failureOf(cloudEscalator({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey, model, timeoutMs: 200, maxRetries: 0 }).escalate(request));
    silent.closeAllConnections();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    expect(slow).toBeInstanceOf(EscalationUnavailableError);
    expect(slow.message).toMatch(/did not answer within 200 ms/);
  });
});
