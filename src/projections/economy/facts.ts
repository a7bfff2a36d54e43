import type { ResourceClass } from "../../domain/economy/units.js";
import type { Db } from "../keyset.js";

/**
 * What the economy computes from other read models: the queue (tasks projection), the approved
 * agents (agents projection) and the credits earned for work (balances projection). Each is a
 * read of facts; what the numbers mean is defined where they are used (src/app/economy).
 */

/** Subtasks waiting for an agent and subtasks under a lease, per resource class. */
export async function queueByClass(db: Db): Promise<Record<ResourceClass, { queued: number; leased: number }>> {
  const { rows } = await db.query<{ resource_class: string | null; queued: number; leased: number }>(
    `SELECT resource_class, count(*) FILTER (WHERE status = 'queued')::int AS queued, count(*) FILTER (WHERE status = 'assigned')::int AS leased
       FROM subtasks WHERE status IN ('queued', 'assigned') GROUP BY resource_class`,
  );
  const out: Record<ResourceClass, { queued: number; leased: number }> = { cpu: { queued: 0, leased: 0 }, gpu: { queued: 0, leased: 0 } };
  // Subtasks queued before their spec carried a class are CPU work, as the spec's default says.
  for (const r of rows) {
    const c = out[r.resource_class === "gpu" ? "gpu" : "cpu"];
    c.queued += r.queued;
    c.leased += r.leased;
  }
  return out;
}

/** An approved agent as capacity: its class and how many subtasks it runs at once (both as it registered them). */
export interface ApprovedAgent {
  readonly agentId: string;
  readonly resourceClass: ResourceClass;
  readonly maxConcurrent: number;
}

export async function approvedAgents(db: Db): Promise<ApprovedAgent[]> {
  const { rows } = await db.query<{ agent_id: string; resource_class: string | null; max_concurrent: number | null }>(
    `SELECT agent_id, capabilities->>'resourceClass' AS resource_class, (capabilities->>'maxConcurrent')::int AS max_concurrent
       FROM agents WHERE status = 'approved'`,
  );
  return rows.map((r) => ({ agentId: r.agent_id, resourceClass: r.resource_class === "gpu" ? "gpu" : "cpu", maxConcurrent: Math.max(1, r.max_concurrent ?? 1) }));
}

/** A credit earning as the balances projection holds it. */
export interface Earning {
  readonly eventId: string;
  readonly accountId: string;
  readonly amount: number;
}

/** The credits.earned movements whose ref starts with `refPrefix` and whose events were recorded in [start, end), by their event time. */
export async function earningsBetween(db: Db, refPrefix: string, start: Date, end: Date): Promise<Earning[]> {
  const { rows } = await db.query<{ event_id: string; account_id: string; amount: number }>(
    `SELECT event_id, account_id, amount FROM credit_transactions
      WHERE type = 'credits.earned' AND starts_with(ref, $1) AND occurred_at >= $2 AND occurred_at < $3 ORDER BY event_id`,
    [refPrefix, start, end],
  );
  return rows.map((r) => ({ eventId: r.event_id, accountId: r.account_id, amount: r.amount }));
}

/** Which of these event ids the balances projection has applied. */
export async function appliedCreditEvents(db: Db, eventIds: readonly string[]): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const { rows } = await db.query<{ event_id: string }>("SELECT event_id FROM credit_transactions WHERE event_id = ANY($1::uuid[])", [eventIds]);
  return new Set(rows.map((r) => r.event_id));
}
