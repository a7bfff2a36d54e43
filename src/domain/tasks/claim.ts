import type { Subtask } from "./subtask.js";

/**
 * How long a subtask that an agent's try left without a result waits for someone else before
 * that agent may take it again: one key cannot hold a subtask, let its lease run out and take it
 * straight back while others wait for work.
 */
export const RETRY_HOLD_OFF_MS = 30_000;

/** Whether `agentId` may take this queued subtask now, `queuedForMs` after it went back to the queue. */
export function mayTake(state: Subtask, agentId: string, queuedForMs: number): boolean {
  if (state.status !== "queued" && state.status !== "assigned") return false;
  const triedBy = state.triedBy ?? [];
  // An expired lease still showing as assigned: its holder is the one who just let it lapse.
  const lapsedBy = state.status === "assigned" ? state.lease.agentId : undefined;
  if (!triedBy.includes(agentId) && lapsedBy !== agentId) return true;
  return queuedForMs >= RETRY_HOLD_OFF_MS;
}

/** Whether an agent holding `open` leases may take one more: never more than it declared it runs at once. */
export function hasRoom(open: number, maxConcurrent: number): boolean {
  return open < Math.max(1, maxConcurrent);
}
