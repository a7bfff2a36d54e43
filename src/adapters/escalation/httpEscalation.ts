import { EscalatedCode, type EscalationReply, type EscalationVia } from "../../domain/escalation/reply.js";
import type { EscalationRequest } from "../../domain/escalation/request.js";
import { EscalationFailedError, EscalationUnavailableError } from "../../domain/escalation/escalator.js";

/** A model rewriting code can take minutes on a small machine; this is the default patience. */
export const DEFAULT_ESCALATION_TIMEOUT_MS = 180_000;

export interface EscalationTarget {
  readonly via: EscalationVia;
  /** Names the target in errors: "inference service", "parent coordinator". */
  readonly name: string;
  readonly baseUrl: string | undefined;
  readonly headers?: Record<string, string>;
  readonly timeoutMs?: number;
}

/** fetch hides the reason a connection failed (ECONNREFUSED, ENOTFOUND) in `cause`. */
function networkReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause ? `${err.message}: ${cause}` : err.message;
}

/** The reply body's reason: our gateways answer {error, message}; anything else is shown as text. */
async function reasonOf(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown };
    const parts = [body.error, body.message].filter((p): p is string => typeof p === "string" && p !== "");
    if (parts.length > 0) return parts.join(": ");
  } catch {
    // not JSON: the text itself is the best reason there is
  }
  return text.slice(0, 500) || res.statusText || "no reason given";
}

/** `POST <baseUrl>/escalate`, the route the inference service and every coordinator serve alike. */
export async function postEscalation(target: EscalationTarget, request: EscalationRequest): Promise<EscalationReply> {
  const { via, name } = target;
  if (!target.baseUrl) throw new EscalationUnavailableError(via, `${name} is not configured (no URL)`);
  let url: URL;
  try {
    // The base may carry a path prefix (a proxy), which a bare "/escalate" would drop.
    url = new URL("escalate", target.baseUrl.endsWith("/") ? target.baseUrl : `${target.baseUrl}/`);
  } catch {
    throw new EscalationUnavailableError(via, `${name} is misconfigured: ${target.baseUrl} is not a URL`);
  }
  const timeoutMs = target.timeoutMs ?? DEFAULT_ESCALATION_TIMEOUT_MS;
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...target.headers },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const reason = err instanceof Error && err.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : networkReason(err);
    throw new EscalationUnavailableError(via, `${name} at ${url} is unreachable: ${reason}`);
  }
  if (!res.ok) {
    const message = `${name} at ${url} answered ${res.status}: ${await reasonOf(res)}`;
    // 503 is how our services say "no model right now": nothing was learned about the code.
    if (res.status === 503) throw new EscalationUnavailableError(via, message);
    throw new EscalationFailedError(via, message, res.status);
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch (err) {
    throw new EscalationFailedError(via, `${name} at ${url} answered ${res.status} with a body that is not JSON: ${networkReason(err)}`, res.status);
  }
  const reply = EscalatedCode.safeParse(body);
  if (!reply.success) {
    const issues = reply.error.issues.map((i) => `${i.path.join(".") || "/"}: ${i.message}`).join("; ");
    throw new EscalationFailedError(via, `${name} at ${url} answered ${res.status} without an escalation reply (${issues})`, res.status);
  }
  return { ...reply.data, via };
}
