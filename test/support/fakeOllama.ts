import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A small HTTP server that speaks Ollama's API (/api/generate, /api/chat, /api/tags), so the
 * real `ollama` client runs against it in tests. Answers come from `answer(prompt, model)`.
 */
export interface FakeOllama {
  readonly url: string;
  readonly requests: { path: string; body: Record<string, unknown> }[];
  /** May be async: a slow answer stands in for a model that takes its time. */
  answer: (prompt: string, model: string) => string | Promise<string>;
  close(): Promise<void>;
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => resolve(text));
  });

export async function startFakeOllama(models: string[] = ["qwen2.5-coder:1.5b"]): Promise<FakeOllama> {
  const fake: Omit<FakeOllama, "url" | "close"> = { requests: [], answer: () => "[]" };
  const server: Server = createServer(async (req, res) => {
    const body = req.method === "POST" ? (JSON.parse((await readBody(req)) || "{}") as Record<string, unknown>) : {};
    fake.requests.push({ path: req.url ?? "", body });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    };
    if (req.method === "GET" && req.url === "/api/tags") {
      return send(200, { models: models.map((name) => ({ name, model: name, modified_at: new Date().toISOString(), size: 1, digest: "x", details: {} })) });
    }
    const model = String(body.model ?? "");
    if (!models.includes(model)) return send(404, { error: `model '${model}' not found` });
    const base = { model, created_at: new Date().toISOString(), done: true, done_reason: "stop", total_duration: 1, load_duration: 0, prompt_eval_count: 1, prompt_eval_duration: 1, eval_count: 1, eval_duration: 1 };
    if (req.url === "/api/generate") {
      const text = await fake.answer(String(body.prompt ?? ""), model);
      if (body.stream === false) return send(200, { ...base, response: text, context: [] });
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      for (const piece of text.match(/.{1,16}/gs) ?? []) res.write(JSON.stringify({ ...base, done: false, response: piece }) + "\n");
      return res.end(JSON.stringify({ ...base, response: "", context: [] }) + "\n");
    }
    if (req.url === "/api/chat") {
      const messages = (body.messages as { content: string }[] | undefined) ?? [];
      const text = await fake.answer(messages.at(-1)?.content ?? "", model);
      return send(200, { ...base, message: { role: "assistant", content: text } });
    }
    return send(404, { error: `no route ${req.url}` });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** A model that splits every task into two python subtasks, "print 1" and "print 2", and answers code prompts with `code`. */
export const splitsIntoTwoPrints =
  (code: string) =>
  (prompt: string): string =>
    prompt.includes("JSON array")
      ? JSON.stringify([
          { input: "print 1", language: "python" },
          { input: "print 2", language: "python" },
        ])
      : code;
