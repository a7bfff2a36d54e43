import type { FastifyInstance } from "fastify";
import { describe, expect, it } from "vitest";
import { DOCS_PREFIX } from "../../src/gateways/apiDocs.js";
import { routesOf } from "../../src/gateways/gatewayApp.js";
import { stubGateways, type GatewayName } from "../support/gatewayApps.js";

/**
 * Every route of every gateway declares what it answers, per status, so the OpenAPI document
 * generated from the schemas is complete and a reply off its schema is caught (the serializer
 * checks each reply against its status's schema): a success, a fault (500), and behind a token
 * or a signature the 401. Routes are read from the apps as the node builds them, with stubs.
 */
const OPEN = new Set(["/health", "/ready", "/metrics"]);

/** Which of a gateway's routes want a token or a signature: the anchor proxy guards all of its own. */
const GUARDED: Record<GatewayName, (url: string) => boolean> = {
  coordinator: (url) => !OPEN.has(url),
  inference: (url) => url !== "/health" && url !== "/metrics",
  controlPlane: (url) => !OPEN.has(url),
  anchor: () => true,
};

async function gateways(): Promise<[GatewayName, FastifyInstance, (url: string) => boolean][]> {
  const apps = await stubGateways();
  for (const [, app] of apps) await app.ready();
  return apps.map(([name, app]) => [name, app, GUARDED[name]]);
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
