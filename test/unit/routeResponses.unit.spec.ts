import type { FastifyInstance } from "fastify";
import { describe, expect, it } from "vitest";
import { buildAnchorProxy } from "../../src/gateways/anchor/app.js";
import { DOCS_PREFIX } from "../../src/gateways/apiDocs.js";
import { buildControlPlane } from "../../src/gateways/controlPlane/app.js";
import { buildCoordinator } from "../../src/gateways/coordinator/app.js";
import { routesOf } from "../../src/gateways/gatewayApp.js";
import { buildInference } from "../../src/gateways/inference/app.js";

/**
 * Every route of every gateway declares what it answers, per status, so the OpenAPI document
 * generated from the schemas is complete and a reply off its schema is caught (the serializer
 * checks each reply against its status's schema): a success, a fault (500), and behind a token
 * or a signature the 401. Routes are read from the apps as the node builds them, with stubs.
 */
const stub = () => {
  throw new Error("a stub serves no request");
};
const token = "x".repeat(16);
const OPEN = new Set(["/health", "/ready", "/metrics"]);

async function gateways(): Promise<[string, FastifyInstance, (url: string) => boolean][]> {
  const apps: [string, FastifyInstance, (url: string) => boolean][] = [
    [
      "coordinator",
      await buildCoordinator({
        pool: {} as never,
        nonces: { claim: stub },
        heartbeats: {} as never,
        handleAgent: stub,
        handleSubtask: stub,
        handleTask: stub,
        heartbeatIntervalMs: 1_000,
        leaseMs: 1_000,
        sandboxRequired: true,
        autoApprove: "none",
        adminToken: token,
      }),
      (url) => !OPEN.has(url),
    ],
    ["inference", await buildInference({ provider: {} as never, token }), (url) => url !== "/health" && url !== "/metrics"],
    ["control plane", await buildControlPlane({ pool: {} as never, handleCredit: stub, handleAgent: stub, status: stub, adminToken: token }), (url) => !OPEN.has(url)],
    ["anchor proxy", await buildAnchorProxy({ rpc: {} as never, token }), () => true],
  ];
  for (const [, app] of apps) await app.ready();
  return apps;
}

describe("every route's response schemas", () => {
  it("name a success, a fault, and a 401 where a token or signature is required", async () => {
    const missing: string[] = [];
    let routes = 0;
    for (const [gateway, app, guarded] of await gateways()) {
      // The docs' own pages (Swagger UI, the document itself) are not routes of the API they describe.
      for (const r of routesOf(app).filter((x) => !x.url.startsWith(DOCS_PREFIX))) {
        routes++;
        const has = (status: string) => r.responses.includes(status);
        const name = `${gateway} ${r.method} ${r.url}`;
        if (!r.responses.some((s) => s.startsWith("2"))) missing.push(`${name}: no 2xx`);
        if (!has("500")) missing.push(`${name}: no 500`);
        if (guarded(r.url) && !has("401")) missing.push(`${name}: no 401`);
      }
      await app.close();
    }
    expect(routes).toBeGreaterThan(25);
    expect(missing).toEqual([]);
  });
});
