import { readFileSync } from "node:fs";
import { join } from "node:path";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import { jsonSchemaTransform } from "fastify-type-provider-zod";
import { packageRoot } from "../adapters/packageRoot.js";

const version = (JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string }).version;

/** Where every gateway serves its API's description: the page, and the OpenAPI document it reads. */
export const DOCS_PREFIX = "/docs";

/**
 * The gateway's OpenAPI 3.1 document, generated from the zod schemas its routes declare (the
 * same ones that validate), at /docs/json (and /docs/yaml), with Swagger UI at /docs. Registered
 * before any route, so every route of every plugin is in it.
 */
export async function serveApiDocs(app: FastifyInstance, service: string, description: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: { title: `EdgeCoder ${service}`, version, description },
      components: {
        securitySchemes: {
          adminToken: { type: "http", scheme: "bearer", description: "the node's admin token (ADMIN_API_TOKEN, or <data-dir>/admin-token)" },
        },
      },
    },
    // OpenAPI 3.1 has const: the document keeps the JSON Schema the zod schemas generate (and schemas/http holds).
    convertConstToEnum: false,
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });
}
