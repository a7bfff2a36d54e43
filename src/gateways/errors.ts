import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { CommitTooLargeError } from "../adapters/nats/eventStore.js";
import { DomainRuleViolation } from "../domain/decider.js";

/**
 * Every failure is a reply with a status and a reason: bad input 400, unknown things 404 (also a
 * rule refusal that says so), refused
 * business rules 409, events too big for one commit 413 (a body within the limit can still be,
 * once signed into an envelope), and only genuine faults 500: logged with the request id and
 * the stack, and with no internals in the body but the request id to find them by. Every other
 * 5xx a route answers (no model, bitcoind down) is logged too, with its reason.
 */
export function installErrorReplies(app: FastifyInstance): void {
  const logged = new WeakSet<FastifyReply>();
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const part = err.validationContext ?? "request";
      const issues = err.validation.map((v) => `${at(part, v.instancePath)} ${v.message ?? "is invalid"}${unionAlternatives(at(part, v.instancePath), v.params)}`);
      return reply.code(400).send({ error: "invalid_request", message: issues.join("; ") });
    }
    // A rule refused the command (409), or the thing it names does not exist (404).
    if (err instanceof DomainRuleViolation) return reply.code(err.notFound ? 404 : 409).send({ error: err.code, message: err.message });
    if (err instanceof CommitTooLargeError) return reply.code(413).send({ error: "events_too_large", message: `${err.message}: send less` });
    if (typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: err.code ?? "bad_request", message: err.message });
    }
    logged.add(reply);
    req.log.error({ err, method: req.method, url: req.url }, "request failed");
    return reply.code(500).send({ error: "internal", message: `internal error; see the node's log (request ${req.id})`, requestId: req.id });
  });
  app.addHook("onSend", async (req, reply, payload) => {
    reply.header("x-request-id", req.id);
    if (reply.statusCode >= 500 && !logged.has(reply)) {
      req.log.warn({ method: req.method, url: req.url, status: reply.statusCode, reply: typeof payload === "string" ? payload.slice(0, 1_000) : undefined }, "request answered with a server error");
    }
    return payload;
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: "not_found", message: `no route ${req.method} ${req.url}` }));
}

/** "body/prompt": the part of the request, then the path inside it. */
const at = (part: string, instancePath: string) => (instancePath && instancePath !== "/" ? `${part}${instancePath}` : part);

/** A union's "Invalid input" alone names nothing: say why each alternative did not match. */
function unionAlternatives(at: string, params: Record<string, unknown>): string {
  const alternatives = params.errors as { path: PropertyKey[]; message: string }[][] | undefined;
  if (!Array.isArray(alternatives) || alternatives.length === 0) return "";
  const path = (p: PropertyKey[]) => [at, ...p.map(String)].join("/");
  return ` (${alternatives.map((issues) => issues.map((i) => `${path(i.path)} ${i.message}`).join(", ")).join("; or ")})`;
}
