import { z } from "zod";
import type { Ed25519Signer } from "../adapters/crypto/ed25519.js";
import { signRequest } from "../adapters/security/signedRequests.js";
import {
  HeartbeatBody,
  HeartbeatReply,
  PullBody,
  PullReply,
  RegisterBody,
  RegisterReply,
  ResultBody,
  ResultReply,
} from "../schemas/coordinatorApi.js";

/**
 * The coordinator answered with an error: its status, and the `error` code and `message` of its
 * JSON body as they were sent (toString adds the route and status, for logs).
 */
export class CoordinatorRequestError extends Error {
  override readonly name = "CoordinatorRequestError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly path: string,
  ) {
    super(message);
  }

  override toString(): string {
    return `POST ${this.path}: ${this.status} ${this.code}${this.message ? `: ${this.message}` : ""}`;
  }
}

/** No answer at all: connection refused, reset, timed out, or a reply that is not the contract's. */
export class CoordinatorUnreachableError extends Error {
  override readonly name = "CoordinatorUnreachableError";
}

/** `signal` abandons a request, as a stopping worker does with a pull it no longer needs. */
export interface RequestOptions {
  readonly signal?: AbortSignal;
}

export interface CoordinatorClient {
  readonly url: string;
  register(body: z.input<typeof RegisterBody>, opts?: RequestOptions): Promise<RegisterReply>;
  heartbeat(body: z.input<typeof HeartbeatBody>, opts?: RequestOptions): Promise<HeartbeatReply>;
  pull(body: z.input<typeof PullBody>, opts?: RequestOptions): Promise<PullReply>;
  result(body: z.input<typeof ResultBody>, opts?: RequestOptions): Promise<ResultReply>;
}

export interface CoordinatorClientOptions {
  readonly url: string;
  readonly signer: Ed25519Signer;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

const ErrorReply = z.object({ error: z.string(), message: z.string().optional() });

/**
 * The worker's side of the coordinator API. Each body is serialized once and those exact bytes
 * are both signed and sent, so the coordinator hashes what was signed.
 */
export function coordinatorClient(opts: CoordinatorClientOptions): CoordinatorClient {
  const base = opts.url.replace(/\/+$/, "");
  const doFetch = opts.fetch ?? fetch;

  async function post<T>(path: string, requestSchema: z.ZodType, body: unknown, replySchema: z.ZodType<T>, req: RequestOptions = {}): Promise<T> {
    const bytes = new TextEncoder().encode(JSON.stringify(requestSchema.parse(body)));
    const url = new URL(base + path);
    const headers = { "content-type": "application/json", ...signRequest(opts.signer, "POST", url.pathname, bytes) };
    const timeoutMs = opts.timeoutMs ?? 30_000;
    // A timer of our own rather than AbortSignal.timeout, so that none is left running after a stop.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
    let res: Response;
    let text: string;
    try {
      const signal = req.signal ? AbortSignal.any([timeout.signal, req.signal]) : timeout.signal;
      res = await doFetch(url, { method: "POST", headers, body: bytes, signal });
      text = await res.text();
    } catch (err) {
      const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      throw new CoordinatorUnreachableError(`coordinator unreachable at ${url.href}: ${cause}`);
    } finally {
      clearTimeout(timer);
    }
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = ErrorReply.safeParse(json);
      throw new CoordinatorRequestError(res.status, e.success ? e.data.error : "http_error", e.success ? (e.data.message ?? "") : text.slice(0, 300), url.pathname);
    }
    const parsed = replySchema.safeParse(json);
    if (!parsed.success) throw new CoordinatorUnreachableError(`unexpected reply from ${url.href}: ${z.prettifyError(parsed.error)}`);
    return parsed.data;
  }

  return {
    url: base,
    register: (body, req) => post("/register", RegisterBody, body, RegisterReply, req),
    heartbeat: (body, req) => post("/heartbeat", HeartbeatBody, body, HeartbeatReply, req),
    pull: (body, req) => post("/pull", PullBody, body, PullReply, req),
    result: (body, req) => post("/result", ResultBody, body, ResultReply, req),
  };
}
