import type { FastifyError, FastifyInstance } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { CommitTooLargeError } from "../adapters/nats/eventStore.js";
import { DomainRuleViolation } from "../domain/decider.js";

/**
 * Every failure is a reply with a status and a reason: bad input 400, unknown things 404 (also a
 * rule refusal that says so), refused
 * business rules 409, events too big for one commit 413 (a body within the limit can still be,
 * once signed into an envelope), and only genuine faults 500 (logged, with no internals in the body).
 */
export function installErrorReplies(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation.map((v) => `${v.instancePath || "/"} ${v.message ?? "is invalid"}${unionAlternatives(v.instancePath, v.params)}`.trim());
      return reply.code(400).send({ error: "invalid_request", message: `${err.validationContext ?? "request"}: ${issues.join("; ")}` });
    }
    // A rule refused the command (409), or the thing it names does not exist (404).
    if (err instanceof DomainRuleViolation) return reply.code(err.notFound ? 404 : 409).send({ error: err.code, message: err.message });
    if (err instanceof CommitTooLargeError) return reply.code(413).send({ error: "events_too_large", message: `${err.message}: send less` });
    if (typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: err.code ?? "bad_request", message: err.message });
    }
    req.log.error({ err }, "request failed");
    return reply.code(500).send({ error: "internal", message: "internal error; see the node's log" });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: "not_found", message: `no route ${req.method} ${req.url}` }));
}

/** A union's "Invalid input" alone names nothing: say why each alternative did not match. */
function unionAlternatives(at: string, params: Record<string, unknown>): string {
  const alternatives = params.errors as { path: PropertyKey[]; message: string }[][] | undefined;
  if (!Array.isArray(alternatives) || alternatives.length === 0) return "";
  const path = (p: PropertyKey[]) => [at.replace(/\/$/, ""), ...p.map(String)].join("/") || "/";
  return ` (${alternatives.map((issues) => issues.map((i) => `${path(i.path)} ${i.message}`).join(", ")).join("; or ")})`;
}
