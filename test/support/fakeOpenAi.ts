import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A small HTTP server that answers POST /v1/chat/completions in OpenAI's JSON format, so the
 * real `openai` client runs against it in tests. `reply` decides each answer: a status with an
 * OpenAI-style error, or the assistant's text.
 */
export interface FakeOpenAi {
  /** The API root to give the client as baseURL (ends in /v1). */
  readonly baseURL: string;
  readonly requests: { path: string; headers: IncomingMessage["headers"]; body: ChatRequest }[];
  reply: (body: ChatRequest) => { content: string | null } | { status: number; message: string };
  close(): Promise<void>;
}

export interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  [key: string]: unknown;
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => resolve(text));
  });

const ERROR_TYPES: Record<number, string> = { 401: "invalid_request_error", 429: "rate_limit_exceeded", 500: "server_error" };

export async function startFakeOpenAi(): Promise<FakeOpenAi> {
  const fake: Omit<FakeOpenAi, "baseURL" | "close"> = { requests: [], reply: () => ({ content: "" }) };
  let completions = 0;
  const server: Server = createServer(async (req, res) => {
    const text = await readBody(req);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(payload));
    };
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
      return send(404, { error: { message: `no route ${req.method} ${req.url}`, type: "invalid_request_error", param: null, code: null } });
    }
    const body = JSON.parse(text || "{}") as ChatRequest;
    fake.requests.push({ path: req.url, headers: req.headers, body });
    const answer = fake.reply(body);
    if ("status" in answer) {
      // retry-after-ms keeps the client's backoff short when it retries a 5xx or 429.
      return send(answer.status, { error: { message: answer.message, type: ERROR_TYPES[answer.status] ?? "api_error", param: null, code: null } }, { "retry-after-ms": "10" });
    }
    send(200, {
      id: `chatcmpl-${++completions}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: "assistant", content: answer.content, refusal: null }, logprobs: null, finish_reason: "stop" }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    baseURL: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
