import { z } from "zod";
import { Language } from "../../domain/tasks/decomposition.js";

const DecomposeReply = z.object({
  model: z.string(),
  parsed: z.boolean(),
  subtasks: z.array(z.object({ index: z.number().int(), input: z.string(), language: Language, timeoutMs: z.number().int() })).min(1).max(10),
});
export type DecomposeReply = z.infer<typeof DecomposeReply>;

/** The inference service answered that it has no model: retrying will not help soon. */
export class NoModelError extends Error {
  override readonly name = "NoModelError";
}

/** Where the inference service is, and the token it requires. */
export interface InferenceService {
  readonly url: string;
  readonly token: string;
}

/** `POST <url>/decompose`. Network failures throw plain errors (worth a retry); 503 throws NoModelError. */
export async function decompose(service: InferenceService, prompt: string, language: Language, timeoutMs = 300_000): Promise<DecomposeReply> {
  const res = await fetch(new URL("/decompose", service.url), {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${service.token}` },
    body: JSON.stringify({ prompt, language }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await res.json().catch(() => ({}))) as { error?: string; message?: string };
  if (res.status === 503) throw new NoModelError(body.message ?? "the inference service has no model");
  if (!res.ok) throw new Error(`inference service: ${res.status} ${body.error ?? ""} ${body.message ?? ""}`.trim());
  return DecomposeReply.parse(body);
}
