import type { FastifyError, FastifyInstance } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { DomainRuleViolation } from "../domain/decider.js";

/**
 * Every failure is a reply with a status and a reason: bad input 400, unknown things 404, refused
 * business rules 409, and only genuine faults 500 (logged, with no internals in the body).
 */
export function installErrorReplies(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation.map((v) => `${v.instancePath || "/"} ${v.message ?? "is invalid"}`.trim());
      return reply.code(400).send({ error: "invalid_request", message: `${err.validationContext ?? "request"}: ${issues.join("; ")}` });
    }
    if (err instanceof DomainRuleViolation) return reply.code(409).send({ error: err.code, message: err.message });
    if (typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: err.code ?? "bad_request", message: err.message });
    }
    req.log.error({ err }, "request failed");
    return reply.code(500).send({ error: "internal", message: "internal error; see the node's log" });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: "not_found", message: `no route ${req.method} ${req.url}` }));
}
