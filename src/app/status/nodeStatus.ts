import { z } from "zod";
import { NodeObservations } from "../../adapters/metrics/observations.js";

const Check = z.object({ ok: z.boolean(), reason: z.string().optional() });

/** What `edgecoder status` shows, as the control plane's GET /status answers it. */
export const NodeStatus = NodeObservations.extend({
  node: z.object({
    publicKey: z.string(),
    /** When this node process started (ISO 8601). */
    startedAt: z.string(),
    urls: z.object({ coordinator: z.string(), inference: z.string(), controlPlane: z.string() }),
  }),
  /** Every dependency the node checks (NATS, Postgres, its worker, ...), and what of it is down. */
  health: z.object({ ok: z.boolean(), checks: z.record(z.string(), Check) }),
});
export type NodeStatus = z.infer<typeof NodeStatus>;

export interface NodeStatusDeps {
  readonly node: NodeStatus["node"];
  readonly health: () => Promise<NodeStatus["health"]>;
  readonly observe: () => Promise<NodeObservations>;
}

/** The node's status: who it is, what of what it needs is down, and what it sees of its streams and read models. */
export async function nodeStatus(deps: NodeStatusDeps): Promise<NodeStatus> {
  const [health, seen] = await Promise.all([deps.health(), deps.observe()]);
  return { node: deps.node, health, ...seen };
}
