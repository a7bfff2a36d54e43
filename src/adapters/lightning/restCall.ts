import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";

/**
 * One JSON request to a Lightning node's REST API, with the limits a hostile reply needs: a
 * deadline for the whole exchange, a cap on the reply's size, and TLS that trusts the node's own
 * certificate when one is given.
 *
 * node:https rather than fetch: fetch is undici, and trusting a self-signed certificate through
 * it takes undici's Agent, which is not a dependency of this project; node:https takes `ca`.
 * Redirects are not followed: a node does not redirect its API, and a redirect would carry the
 * credential header to wherever it points.
 */
/** An invoice paid in many parts lists every HTLC; 256 KiB holds hundreds of them. */
export const DEFAULT_MAX_REPLY_BYTES = 256 * 1024;
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface RestCall {
  readonly url: URL;
  readonly method: "GET" | "POST";
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** PEM certificate(s) to trust instead of the system's CAs (LND's tls.cert, clnrest's ca.pem). */
  readonly ca?: string;
  readonly timeoutMs: number;
  readonly maxReplyBytes: number;
}

export type RestOutcome =
  | { readonly ok: true; readonly status: number; readonly text: string }
  | { readonly ok: false; readonly reason: "unreachable" | "timeout" | "too_large"; readonly detail: string };

export function restCall(call: RestCall): Promise<RestOutcome> {
  return new Promise((resolve) => {
    const signal = AbortSignal.timeout(call.timeoutMs);
    let done = false;
    let req: ClientRequest | undefined;
    const finish = (outcome: RestOutcome) => {
      if (done) return;
      done = true;
      resolve(outcome);
      // Whatever is still open (a reply too large, a stalled body) is of no more use.
      req?.destroy();
    };
    const failed = (err: unknown) =>
      finish(signal.aborted ? { ok: false, reason: "timeout", detail: `no whole answer within ${call.timeoutMs} ms` } : { ok: false, reason: "unreachable", detail: networkReason(err) });
    const tooLarge = (bytes: number) => finish({ ok: false, reason: "too_large", detail: `reply larger than ${call.maxReplyBytes} bytes (${bytes} so far)` });

    const payload = call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body), "utf8");
    const send = call.url.protocol === "https:" ? httpsRequest : httpRequest;
    try {
      req = send(
        call.url,
        {
          method: call.method,
          headers: {
            ...call.headers,
            accept: "application/json",
            ...(payload ? { "content-type": "application/json", "content-length": String(payload.length) } : {}),
          },
          signal,
          ...(call.ca !== undefined ? { ca: call.ca } : {}),
        },
        (res: IncomingMessage) => {
          const declared = Number(res.headers["content-length"]);
          if (Number.isFinite(declared) && declared > call.maxReplyBytes) return tooLarge(declared);
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > call.maxReplyBytes) return tooLarge(size);
            chunks.push(chunk);
          });
          res.on("end", () => finish({ ok: true, status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", failed);
          res.on("close", () => {
            if (!res.complete) failed(new Error("connection closed before the reply was complete"));
          });
        },
      );
    } catch (err) {
      // A header Node will not send (a control character in a credential) throws here.
      return finish({ ok: false, reason: "unreachable", detail: `request not sent: ${networkReason(err)}` });
    }
    req.on("error", failed);
    req.end(payload);
  });
}

/** The reason behind a failed connection, as Node names it (ECONNREFUSED, a certificate error, ...). */
function networkReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}

/** JSON.parse without throwing: undefined when the text is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The start of a reply, for an error message: enough to recognise it, never all of it. */
export function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}...` : flat || "(empty)";
}

/** A JSON exchange's answer: the JSON of a 2xx reply, or the status and body of any other. */
export type JsonOutcome = { readonly ok: true; readonly json: unknown } | { readonly ok: false; readonly status: number; readonly json: unknown; readonly text: string };

/**
 * restCall for a JSON API: a transport failure (unreachable, timeout) or a reply too large is
 * `fail`ed as such, a 2xx reply that is not JSON as malformed; any other status is the caller's
 * to read, since each node says "refused" and "not found" its own way.
 */
export async function restJsonCall(call: RestCall, fail: (reason: "unreachable" | "timeout" | "malformed", detail: string) => never): Promise<JsonOutcome> {
  const outcome = await restCall(call);
  if (!outcome.ok) return fail(outcome.reason === "too_large" ? "malformed" : outcome.reason, outcome.detail);
  const json = parseJson(outcome.text);
  if (outcome.status >= 200 && outcome.status < 300) return json === undefined ? fail("malformed", `not JSON: ${excerpt(outcome.text)}`) : { ok: true, json };
  return { ok: false, status: outcome.status, json, text: outcome.text };
}
