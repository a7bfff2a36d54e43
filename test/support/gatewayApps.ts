import type { FastifyInstance } from "fastify";
import { buildAnchorProxy } from "../../src/gateways/anchor/app.js";
import { buildControlPlane } from "../../src/gateways/controlPlane/app.js";
import { buildCoordinator } from "../../src/gateways/coordinator/app.js";
import { buildInference } from "../../src/gateways/inference/app.js";

export type GatewayName = "coordinator" | "inference" | "controlPlane" | "anchor";

/** Every gateway app, built the way the node builds it but with stubs that serve nothing: to read routes and documents from. */
export async function stubGateways(): Promise<[GatewayName, FastifyInstance][]> {
  const stub = () => {
    throw new Error("a stub serves no request");
  };
  const token = "x".repeat(16);
  return [
    [
      "coordinator",
      await buildCoordinator({
        pool: {} as never,
        nonces: { claim: stub },
        heartbeats: {} as never,
        handleAgent: stub,
        handleSubtask: stub,
        handleTask: stub,
        handleCredit: stub,
        store: {} as never,
        defaultModel: "m:1b",
        heartbeatIntervalMs: 1_000,
        leaseMs: 1_000,
        sandboxRequired: true,
        autoApprove: "none",
        adminToken: token,
        escalator: { via: "inference", escalate: stub },
      }),
    ],
    ["inference", await buildInference({ provider: {} as never, token })],
    ["controlPlane", await buildControlPlane({ pool: {} as never, handleCredit: stub, handleAgent: stub, status: stub, adminToken: token })],
    ["anchor", await buildAnchorProxy({ rpc: {} as never, token })],
  ];
}
