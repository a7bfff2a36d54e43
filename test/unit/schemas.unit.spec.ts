import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/adapters/packageRoot.js";
import { routesOf } from "../../src/gateways/gatewayApp.js";
import { schemaCatalog } from "../../src/schemas/catalog.js";
import { stubGateways, type GatewayName } from "../support/gatewayApps.js";
import type { FastifyInstance } from "fastify";

const schemasDir = join(packageRoot, "schemas");

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(".schema.json")).map((e) => relative(schemasDir, join(e.parentPath, e.name)).replace(/\.schema\.json$/, ""));
}
const readSchema = async (name: string) => JSON.parse(await readFile(join(schemasDir, `${name}.schema.json`), "utf8")) as Record<string, unknown>;

describe("published JSON Schemas", () => {
  it("schemas/ holds exactly what the zod schemas generate (run `npm run schemas` after changing them)", async () => {
    for (const [name, schema] of Object.entries(schemaCatalog())) {
      expect({ name, schema: await readSchema(name) }).toEqual({ name, schema });
    }
  });

  it("schemas/ holds no file the catalog no longer generates", async () => {
    expect((await filesUnder(schemasDir)).sort()).toEqual(Object.keys(schemaCatalog()).sort());
  });
});

interface Operation {
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses?: Record<string, { content?: Record<string, { schema: unknown }> }>;
}
type OpenApi = { openapi: string; paths: Record<string, Record<string, Operation>> };

describe("each gateway's /docs/json and schemas/http", () => {
  const apps: [GatewayName, FastifyInstance][] = [];
  const docs = new Map<GatewayName, OpenApi>();
  beforeAll(async () => {
    for (const [name, app] of await stubGateways()) {
      await app.ready();
      apps.push([name, app]);
      docs.set(name, (await app.inject({ url: "/docs/json", headers: { authorization: `Bearer ${"x".repeat(16)}` } })).json<OpenApi>());
    }
  });
  afterAll(async () => {
    await Promise.all(apps.map(([, app]) => app.close()));
  });

  it("every route a gateway serves is in its OpenAPI document, and nothing else", () => {
    for (const [name, app] of apps) {
      const served = routesOf(app)
        .filter((r) => r.method !== "HEAD" && !r.url.startsWith("/docs"))
        .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, "{$1}")}`)
        .sort();
      const documented = Object.entries(docs.get(name)!.paths)
        .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
        .sort();
      expect({ name, documented }).toEqual({ name, documented: served });
    }
  });

  it("every schemas/http file is, byte for byte, the body or a reply of a route some gateway documents", async () => {
    const bodies: unknown[] = [];
    for (const doc of docs.values()) {
      for (const op of Object.values(doc.paths).flatMap((ops) => Object.values(ops))) {
        for (const c of Object.values(op.requestBody?.content ?? {})) bodies.push(c.schema);
        for (const r of Object.values(op.responses ?? {})) for (const c of Object.values(r.content ?? {})) bodies.push(c.schema);
      }
    }
    const http = (await filesUnder(join(schemasDir, "http"))).filter((name) => name.startsWith("http/"));
    expect(http.length).toBeGreaterThan(0);
    for (const name of http) {
      const { $schema: _draft, ...schema } = await readSchema(name);
      expect({ name, documented: bodies.some((b) => JSON.stringify(b) === JSON.stringify(schema)) }).toEqual({ name, documented: true });
    }
  });
});
