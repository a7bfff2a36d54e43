import type { FastifyInstance } from "fastify";
import secureJson from "secure-json-parse";
import { loneSurrogatePath, type ValuePath } from "../domain/text.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The body's exact bytes, which a worker's signature covers. */
    rawBody?: Buffer;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const refused = (code: string, message: string) => Object.assign(new Error(message), { statusCode: 400, code });
export const bodyPath = (path: ValuePath) => ["body", ...path].join("/");

/**
 * The one body parser of every gateway: JSON only (other media types are a 415), decoded as
 * strict UTF-8, so the events hold the text that was sent and signed (a lenient decode turns
 * each stray byte into three of U+FFFD, up to three times the size), a `__proto__` key refused,
 * and no lone surrogate in any string or key (it has no UTF-8 form: it could be neither signed
 * nor stored). An empty body is an empty object, so a missing field is named.
 */
export function acceptStrictJson(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (req, body: Buffer, done) => {
    req.rawBody = body;
    let text: string;
    let value: unknown;
    try {
      text = utf8.decode(body);
      value = body.length === 0 ? {} : secureJson.parse(text, undefined, { protoAction: "error", constructorAction: "error" });
    } catch (err) {
      return done(refused("malformed_json", `malformed JSON body: ${(err as Error).message}`), undefined);
    }
    // Strict UTF-8 yields no lone surrogate: only a \uD800-\uDFFF escape can make one.
    const lone = SURROGATE_ESCAPE.test(text) ? loneSurrogatePath(value) : undefined;
    if (lone) return done(refused("invalid_request", `${bodyPath(lone)} contains a lone surrogate (a \\ud800-\\udfff escape without its pair), which is not text`), undefined);
    done(null, value);
  });
}
