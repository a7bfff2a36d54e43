import type { FastifyInstance } from "fastify";
import { mockProvider } from "../../src/adapters/lightning/mock.js";
import { economy } from "../../src/app/economy/economy.js";
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
    [
      "controlPlane",
      await buildControlPlane({
        pool: {} as never,
        handleCredit: stub,
        handleAgent: stub,
        status: stub,
        // The economy's use cases on deps that serve nothing: built, never called.
        economy: economy({ pool: {} as never, store: {} as never, handlers: {} as never, lightning: mockProvider(), nodeKey: "k".repeat(43), now: () => new Date(), heartbeatIntervalMs: 1_000, intentTtlMs: 60_000, treasuryPolicyId: "treasury" }),
        adminToken: token,
      }),
    ],
    ["anchor", await buildAnchorProxy({ rpc: {} as never, token })],
  ];
}
