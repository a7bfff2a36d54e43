import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll } from "vitest";
import { ollamaProvider } from "../../src/adapters/models/ollamaProvider.js";
import { buildInference } from "../../src/gateways/inference/app.js";
import { startFakeOllama, type FakeOllama } from "./fakeOllama.js";

/** The token the test inference services require (a node's own is its admin token). */
export const INFERENCE_TOKEN = "inference-test-token-0123456789";

/**
 * The inference service over the real ollama client, talking to an Ollama-protocol test server
 * that serves `model`: started before the file's tests, closed after them. Read the fields inside
 * tests (they are set once beforeAll has run).
 */
export function useInferenceService(model: string): { readonly ollama: FakeOllama; readonly app: FastifyInstance } {
  const started: { ollama?: FakeOllama; app?: FastifyInstance } = {};
  beforeAll(async () => {
    started.ollama = await startFakeOllama([model]);
    started.app = await buildInference({ provider: ollamaProvider(started.ollama.url, model), token: INFERENCE_TOKEN });
  });
  afterAll(async () => {
    await started.app?.close();
    await started.ollama?.close();
  });
  return {
    get ollama() {
      return started.ollama!;
    },
    get app() {
      return started.app!;
    },
  };
}

/**
 * POST of a JSON body (or of a string sent as it is, to send malformed JSON) through Fastify's
 * inject, with the service's token (or `authorization`: another header, null for none).
 */
export function postJson(app: FastifyInstance, url: string, payload: unknown, authorization: string | null = `Bearer ${INFERENCE_TOKEN}`) {
  return app.inject({
    method: "POST",
    url,
    headers: { "content-type": "application/json", ...(authorization === null ? {} : { authorization }) },
    payload: typeof payload === "string" ? payload : JSON.stringify(payload),
  });
}
