import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { decompose as decomposeWith } from "../../src/adapters/inference/decomposeClient.js";
import { freePort } from "../../src/adapters/nats/natsServerProcess.js";
import { ollamaProvider } from "../../src/adapters/models/ollamaProvider.js";
import { buildInference } from "../../src/gateways/inference/app.js";
import { INFERENCE_TOKEN, postJson, useInferenceService } from "../support/inference.js";

const model = "qwen2.5-coder:1.5b";
const service = useInferenceService(model);

const decompose = (payload: unknown) => postJson(service.app, "/decompose", payload);

describe("inference service: POST /decompose through the ollama client", () => {
  it("asks the model with the decomposition template and returns its subtasks", async () => {
    service.ollama.answer = () => 'Plan:\n```json\n[{"input": "write add(a, b)", "language": "python"}, {"input": "print add(2, 3)"}]\n```';
    const r = await decompose({ prompt: "add two numbers and show the result", language: "python" });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      model,
      parsed: true,
      subtasks: [
        { index: 0, input: "write add(a, b)", language: "python", timeoutMs: 5_000 },
        { index: 1, input: "print add(2, 3)", language: "python", timeoutMs: 5_000 },
      ],
    });
    const sent = service.ollama.requests.at(-1)!;
    expect(sent.path).toBe("/api/generate");
    expect(sent.body).toMatchObject({ model, stream: false });
    expect(String(sent.body.prompt)).toContain("add two numbers and show the result");
    expect(String(sent.body.prompt)).toContain("JSON array of at most 10");
  });

  it("falls back to one subtask with the whole prompt when the answer is unusable", async () => {
    service.ollama.answer = () => "Sorry, I can only chat.";
    const r = await decompose({ prompt: "reverse a string", language: "javascript" });
    expect(r.json()).toMatchObject({ parsed: false, subtasks: [{ index: 0, input: "reverse a string", language: "javascript", timeoutMs: 30_000 }] });
  });

  it("answers 503 with the reason when no model is reachable, and 400 for bad input", async () => {
    const offline = await buildInference({ provider: ollamaProvider(`http://127.0.0.1:${await freePort()}`, model), token: INFERENCE_TOKEN });
    const r = await postJson(offline, "/decompose", '{"prompt":"x"}');
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ error: "model_unavailable", message: expect.stringContaining(model) });
    expect((await offline.inject({ url: "/health" })).json()).toEqual({ ok: false, model, reachable: false });
    await offline.close();

    const missingModel = await buildInference({ provider: ollamaProvider(service.ollama.url, "no-such-model"), token: INFERENCE_TOKEN });
    expect((await postJson(missingModel, "/decompose", '{"prompt":"x"}')).statusCode).toBe(503);
    await missingModel.close();

    for (const [payload, status] of [
      [{ prompt: "" }, 400],
      [{ prompt: "x", language: "cobol" }, 400],
      [{ language: "python" }, 400],
      ["{not json", 400],
      [{ prompt: "x".repeat(70_000) }, 413],
    ] as const) {
      const bad = await decompose(payload);
      expect({ payload: String(JSON.stringify(payload)).slice(0, 40), status: bad.statusCode }).toEqual({ payload: String(JSON.stringify(payload)).slice(0, 40), status });
      expect((bad.json() as { message: string }).message.length).toBeGreaterThan(0);
    }
    expect((await service.app.inject({ url: "/health" })).json()).toEqual({ ok: true, model, reachable: true });
  });
});

describe("inference service: every route but /health needs the node's token", () => {
  it("answers 401 with the reason, without asking the model, to no token, a wrong one or another scheme", async () => {
    const asked = service.ollama.requests.length;
    const escalation = { subtaskId: "t-0", taskId: "t", language: "python", input: "print 1", history: [{ code: "print(1/0)", stderr: "ZeroDivisionError" }] };
    for (const [path, body] of [["/decompose", { prompt: "print 1" }], ["/escalate", escalation]] as const) {
      for (const authorization of [null, "Bearer wrong-token-0123456789", `Basic ${INFERENCE_TOKEN}`, "Bearer ", `Bearer ${INFERENCE_TOKEN}x`]) {
        const r = await postJson(service.app, path, body, authorization);
        expect({ path, authorization, status: r.statusCode, body: r.json() }).toEqual({
          path,
          authorization,
          status: 401,
          body: { error: "unauthorized", message: expect.stringMatching(/the node's token .* is required \(Authorization: Bearer \.\.\.\)/) },
        });
      }
    }
    expect(service.ollama.requests.length).toBe(asked);
    expect((await service.app.inject({ url: "/health" })).statusCode).toBe(200);
  });

  it("the decompose client sends the token it is given: the right one is answered, a wrong one refused", async () => {
    await service.app.listen({ port: 0, host: "127.0.0.1" });
    const url = `http://127.0.0.1:${(service.app.server.address() as AddressInfo).port}`;
    service.ollama.answer = () => '```json\n[{"input": "print 1"}]\n```';
    expect(await decomposeWith({ url, token: INFERENCE_TOKEN }, "print 1", "python")).toMatchObject({ parsed: true, subtasks: [{ input: "print 1" }] });
    await expect(decomposeWith({ url, token: "wrong-token-0123456789" }, "print 1", "python")).rejects.toThrow(/inference service: 401 unauthorized the node's token/);
  });
});

describe("inference service: what went wrong is in the node's log", () => {
  it("a 503 (no model) is logged at warn with its request id and reason; a 2xx or 4xx logs nothing", async () => {
    const lines: string[] = [];
    const offline = await buildInference({ provider: ollamaProvider(`http://127.0.0.1:${await freePort()}`, model), token: INFERENCE_TOKEN, log: (line) => lines.push(line) });
    expect((await offline.inject({ url: "/health" })).statusCode).toBe(200);
    expect((await postJson(offline, "/decompose", { prompt: "" })).statusCode).toBe(400);
    expect((await postJson(offline, "/decompose", { prompt: "x" }, null)).statusCode).toBe(401);
    expect(lines).toEqual([]);
    const r = await postJson(offline, "/decompose", { prompt: "x" });
    expect(r.statusCode).toBe(503);
    const id = r.headers["x-request-id"];
    // One JSON object per line.
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      expect.objectContaining({ level: "warn", service: "inference", reqId: id, msg: "request answered with a server error", status: 503, reply: expect.stringContaining("model_unavailable") }),
    ]);
    await offline.close();
  });
});
