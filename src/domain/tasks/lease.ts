/**
 * How long a worker holds a subtask it was assigned. EC_LEASE_MS is the least lease; a subtask
 * whose own timeout is long gets three times it, since its worker generates the code (a model
 * call that can take as long as the run), runs it within the timeout, then reports: a shorter
 * lease would end under a live worker doing its job. A worker that dies loses its lease sooner,
 * when its heartbeats stop, whatever this says.
 */
export const LEASE_TIMEOUT_FACTOR = 3;

export function leaseMsFor(minimumLeaseMs: number, subtaskTimeoutMs: number): number {
  return Math.max(minimumLeaseMs, LEASE_TIMEOUT_FACTOR * subtaskTimeoutMs);
}
