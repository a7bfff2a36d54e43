import type { FastifyInstance } from "fastify";
import { describe, expect, it } from "vitest";
import { ollamaProvider } from "../../src/adapters/models/ollamaProvider.js";
import { freePort } from "../../src/adapters/nats/natsServerProcess.js";
import { ESCALATION_LIMITS, type EscalationRequest } from "../../src/domain/escalation/request.js";
import { buildInference } from "../../src/gateways/inference/app.js";
import { INFERENCE_TOKEN, postJson, useInferenceService } from "../support/inference.js";

const model = "qwen2.5-coder:1.5b";
const service = useInferenceService(model);

const request: EscalationRequest = {
  subtaskId: "t1-0",
  taskId: "t1",
  language: "python",
  input: "write add(a, b) and print add(2, 3)",
  history: [
    { code: "def add(a, b):\n    return a + c\nprint(add(2, 3))", stderr: "Traceback (most recent call last):\nNameError: name 'c' is not defined" },
    { code: "import operator\nprint(operator.add(2, 3))", stderr: "outside the python subset: import" },
  ],
};

const escalate = (target: FastifyInstance, payload: unknown) => postJson(target, "/escalate", payload);

describe("inference service: POST /escalate through the ollama client", () => {
  it("asks the model with every failed try and its error, and answers the fixed code without fences", async () => {
    service.ollama.answer = () => "Here is the corrected program:\n```python\ndef add(a, b):\n    return a + b\nprint(add(2, 3))\n```";
    const r = await escalate(service.app, request);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ code: "def add(a, b):\n    return a + b\nprint(add(2, 3))", model });

    const sent = service.ollama.requests.at(-1)!;
    expect(sent.path).toBe("/api/generate");
    expect(sent.body).toMatchObject({ model, stream: false });
    const prompt = String(sent.body.prompt);
    expect(prompt).toContain(request.input);
    for (const t of request.history) {
      expect(prompt).toContain(t.code);
      expect(prompt).toContain(t.stderr);
    }
    expect(prompt).toMatch(/only code/);
    expect(prompt).toMatch(/no import statements/);
  });

  it("takes ten tries at their caps, which a prompt-sized body limit would refuse", async () => {
    service.ollama.answer = () => "print(5)";
    const full = { ...request, history: Array.from({ length: ESCALATION_LIMITS.tries }, () => ({ code: "x".repeat(ESCALATION_LIMITS.code), stderr: "e".repeat(ESCALATION_LIMITS.stderr), output: "o".repeat(ESCALATION_LIMITS.output) })) };
    const r = await escalate(service.app, full);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ code: "print(5)", model });
  });

  it("answers 502 no_code when the model answers without code", async () => {
    service.ollama.answer = () => "```python\n```";
    const r = await escalate(service.app, request);
    expect(r.statusCode).toBe(502);
    expect(r.json()).toMatchObject({ error: "no_code", message: expect.stringContaining(model) });
  });

  it("answers 400 with the reason for bad input, and 413 for a body too large, without asking the model", async () => {
    const asked = service.ollama.requests.length;
    for (const [payload, status, reason] of [
      [{ ...request, history: [] }, 400, /history/],
      [{ ...request, history: Array.from({ length: 11 }, () => request.history[0]) }, 400, /history/],
      [{ ...request, language: "cobol" }, 400, /language/],
      [{ ...request, input: "" }, 400, /input/],
      [{ ...request, subtaskId: undefined }, 400, /subtaskId/],
      [{ ...request, history: [{ code: "x", stderr: "e".repeat(ESCALATION_LIMITS.stderr + 1) }] }, 400, /stderr/],
      ["{not json", 400, /./],
      [{ ...request, input: "x".repeat(3 * 1024 * 1024) }, 413, /./],
    ] as const) {
      const bad = await escalate(service.app, payload);
      const label = String(JSON.stringify(payload)).slice(0, 60);
      expect({ label, status: bad.statusCode }).toEqual({ label, status });
      expect((bad.json() as { message: string }).message).toMatch(reason);
    }
    expect(service.ollama.requests.length).toBe(asked);
  });

  it("answers 503 model_unavailable when no model is reachable or the model is missing; there is no fallback", async () => {
    const offline = await buildInference({ provider: ollamaProvider(`http://127.0.0.1:${await freePort()}`, model), token: INFERENCE_TOKEN });
    const r = await escalate(offline, request);
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ error: "model_unavailable", message: expect.stringContaining(model) });
    await offline.close();

    const missingModel = await buildInference({ provider: ollamaProvider(service.ollama.url, "no-such-model"), token: INFERENCE_TOKEN });
    const m = await escalate(missingModel, request);
    expect(m.statusCode).toBe(503);
    expect(m.json()).toMatchObject({ error: "model_unavailable", message: expect.stringContaining("no-such-model") });
    await missingModel.close();
  });
});

describe("inference service: a model's lone surrogate", () => {
  it("becomes U+FFFD in the escalated code and in a plan, so what is signed next is text", async () => {
    service.ollama.answer = () => '```python\nprint("\ud800")\n```';
    const r = await escalate(service.app, request);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ code: 'print("\ufffd")', model });
    service.ollama.answer = () => '[{"input": "print \ud83d"}]';
    const plan = await postJson(service.app, "/decompose", { prompt: "print it" });
    expect(plan.statusCode).toBe(200);
    expect(plan.json()).toMatchObject({ subtasks: [{ input: "print \ufffd" }] });
  });
});
