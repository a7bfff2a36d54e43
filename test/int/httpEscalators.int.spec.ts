import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inferenceEscalator } from "../../src/adapters/escalation/inferenceEscalator.js";
import { parentCoordinator } from "../../src/adapters/escalation/parentCoordinator.js";
import { ollamaProvider } from "../../src/adapters/models/ollamaProvider.js";
import { freePort } from "../../src/adapters/nats/natsServerProcess.js";
import { EscalationFailedError, EscalationUnavailableError } from "../../src/domain/escalation/escalator.js";
import { EscalatedCode } from "../../src/domain/escalation/reply.js";
import { ESCALATION_LIMITS, EscalationRequest } from "../../src/domain/escalation/request.js";
import { buildInference } from "../../src/gateways/inference/app.js";
import { installErrorReplies } from "../../src/gateways/errors.js";
import { failureOf } from "../support/escalation.js";
import { startFakeOllama, type FakeOllama } from "../support/fakeOllama.js";

const model = "qwen2.5-coder:1.5b";
const request: EscalationRequest = {
  subtaskId: "t1-0",
  taskId: "t1",
  language: "javascript",
  input: "print the sum of 2 and 3",
  history: [{ code: "console.log(add(2, 3))", stderr: "ReferenceError: add is not defined", output: "" }],
};

/** What the inference service requires; the escalator sends it. */
const token = "inference-test-token-0123456789";
const urlOf = (app: FastifyInstance) => `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;


let ollama: FakeOllama;
let inference: FastifyInstance;
let missingModel: FastifyInstance;

beforeAll(async () => {
  ollama = await startFakeOllama([model]);
  inference = await buildInference({ provider: ollamaProvider(ollama.url, model), token });
  missingModel = await buildInference({ provider: ollamaProvider(ollama.url, "no-such-model"), token });
  await inference.listen({ port: 0, host: "127.0.0.1" });
  await missingModel.listen({ port: 0, host: "127.0.0.1" });
});
afterAll(async () => {
  await inference?.close();
  await missingModel?.close();
  await ollama?.close();
});

describe("inference escalator: client of the inference service's POST /escalate", () => {
  it("sends the request over HTTP and returns the fixed code, the model and its step", async () => {
    ollama.answer = () => "```js\nconst add = (a, b) => a + b;\nconsole.log(add(2, 3));\n```";
    const reply = await inferenceEscalator({ url: urlOf(inference), token }).escalate(request);
    expect(reply).toEqual({ code: "const add = (a, b) => a + b;\nconsole.log(add(2, 3));", model, via: "inference" });
    expect(String(ollama.requests.at(-1)!.body.prompt)).toContain("ReferenceError: add is not defined");
  });

  it("turns a refusal into an EscalationFailedError naming the status and the reason", async () => {
    const overCap = { ...request, history: [{ code: "x", stderr: "e".repeat(ESCALATION_LIMITS.stderr + 1) }] };
    const bad = await failureOf(inferenceEscalator({ url: urlOf(inference), token }).escalate(overCap));
    expect(bad).toBeInstanceOf(EscalationFailedError);
    expect(bad).toMatchObject({ via: "inference", status: 400 });
    expect(bad.message).toMatch(/answered 400: invalid_request: .*stderr/);

    ollama.answer = () => "I would rather not.\n```\n```";
    const noCode = await failureOf(inferenceEscalator({ url: urlOf(inference), token }).escalate(request));
    expect(noCode).toBeInstanceOf(EscalationFailedError);
    expect(noCode).toMatchObject({ status: 502 });
    expect(noCode.message).toMatch(/answered 502: no_code/);
  });

  it("is refused (401, the waterfall moves on) with a wrong token, without asking the model", async () => {
    const asked = ollama.requests.length;
    const refused = await failureOf(inferenceEscalator({ url: urlOf(inference), token: "wrong-token-0123456789" }).escalate(request));
    expect(refused).toBeInstanceOf(EscalationFailedError);
    expect(refused).toMatchObject({ via: "inference", status: 401 });
    expect(refused.message).toMatch(/answered 401: unauthorized: the node's token/);
    expect(ollama.requests.length).toBe(asked);
  });

  it("is unavailable when the service has no model (503), is unreachable, too slow, or not configured", async () => {
    const noModel = await failureOf(inferenceEscalator({ url: urlOf(missingModel), token }).escalate(request));
    expect(noModel).toBeInstanceOf(EscalationUnavailableError);
    expect(noModel.message).toMatch(/answered 503: model_unavailable: .*no-such-model/);

    const port = await freePort();
    const down = await failureOf(inferenceEscalator({ url: `http://127.0.0.1:${port}`, token }).escalate(request));
    expect(down).toBeInstanceOf(EscalationUnavailableError);
    expect(down.message).toMatch(new RegExp(`inference service at http://127.0.0.1:${port}/escalate is unreachable: .*ECONNREFUSED`));

    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const slow = await failureOf(
      inferenceEscalator({ url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, token, timeoutMs: 200 }).escalate(request),
    );
    silent.closeAllConnections();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    expect(slow).toBeInstanceOf(EscalationUnavailableError);
    expect(slow.message).toMatch(/no answer within 200 ms/);

    for (const url of [undefined, ""]) {
      const none = await failureOf(inferenceEscalator({ url, token }).escalate(request));
      expect(none).toBeInstanceOf(EscalationUnavailableError);
      expect(none.message).toBe("inference service is not configured (no URL)");
    }
    const garbled = await failureOf(inferenceEscalator({ url: "not a url", token }).escalate(request));
    expect(garbled).toBeInstanceOf(EscalationUnavailableError);
    expect(garbled.message).toMatch(/misconfigured/);
  });
});

describe("parent coordinator: client of a parent's POST /escalate", () => {
  const token = "parent-secret";
  const received: { authorization: string | undefined; body: EscalationRequest }[] = [];
  let answer: () => unknown = () => ({ code: "console.log(5)", model: "parent-model" });
  let parent: FastifyInstance;

  // The parent's side of the route, with the same schemas a coordinator serves to its children.
  beforeAll(async () => {
    const app = Fastify().withTypeProvider<ZodTypeProvider>();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    installErrorReplies(app);
    app.post("/escalate", { schema: { body: EscalationRequest } }, async (req, reply) => {
      received.push({ authorization: req.headers.authorization, body: req.body });
      if (req.headers.authorization !== `Bearer ${token}`) return reply.code(401).send({ error: "unauthorized", message: "a bearer token is required" });
      const body = answer();
      return typeof body === "string" ? reply.code(500).type("text/plain").send(body) : body;
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    parent = app;
  });
  afterAll(async () => {
    await parent?.close();
  });

  it("sends the same request body with the bearer token and returns the parent's code as step 'parent'", async () => {
    const reply = await parentCoordinator({ url: urlOf(parent), token }).escalate(request);
    expect(reply).toEqual({ code: "console.log(5)", model: "parent-model", via: "parent" });
    expect(EscalatedCode.parse(reply)).toEqual({ code: "console.log(5)", model: "parent-model" });
    expect(received.at(-1)).toEqual({ authorization: `Bearer ${token}`, body: request });
  });

  it("names the status and the reason of a refusal: no token, a wrong token, a fault", async () => {
    for (const config of [{ url: urlOf(parent) }, { url: urlOf(parent), token: "wrong" }]) {
      const refused = await failureOf(parentCoordinator(config).escalate(request));
      expect(refused).toBeInstanceOf(EscalationFailedError);
      expect(refused).toMatchObject({ via: "parent", status: 401 });
      expect(refused.message).toMatch(/parent coordinator at .* answered 401: unauthorized: a bearer token is required/);
    }
    expect(received.at(-2)!.authorization).toBeUndefined();

    answer = () => "upstream exploded";
    const fault = await failureOf(parentCoordinator({ url: urlOf(parent), token }).escalate(request));
    expect(fault).toMatchObject({ status: 500, message: expect.stringMatching(/answered 500: upstream exploded/) });
  });

  it("refuses a 200 that is not an escalation reply", async () => {
    answer = () => ({ code: "", model: "parent-model" });
    const empty = await failureOf(parentCoordinator({ url: urlOf(parent), token }).escalate(request));
    expect(empty).toBeInstanceOf(EscalationFailedError);
    expect(empty.message).toMatch(/answered 200 without an escalation reply \(code: /);
  });

  it("is unavailable when this node has no parent or the parent is down", async () => {
    const none = await failureOf(parentCoordinator({ url: undefined, token }).escalate(request));
    expect(none).toBeInstanceOf(EscalationUnavailableError);
    expect(none.message).toBe("parent coordinator is not configured (no URL)");
    const down = await failureOf(parentCoordinator({ url: `http://127.0.0.1:${await freePort()}/`, token }).escalate(request));
    expect(down).toBeInstanceOf(EscalationUnavailableError);
    expect(down.message).toMatch(/unreachable/);
  });
});
