import { z } from "zod";

/**
 * An agent's record of checked results: how many were checked, how many of those failed, and
 * how many passed in a row since the last failure. It is what trust in a stranger is built on.
 */
export const AgentRecord = z.object({
  checked: z.number().int().min(0),
  failed: z.number().int().min(0),
  /** Checks passed in a row since the last failure (or since the first check). */
  streak: z.number().int().min(0),
  lastFailedAt: z.string().optional(),
});
export type AgentRecord = z.infer<typeof AgentRecord>;

export const noRecord: AgentRecord = { checked: 0, failed: 0, streak: 0 };

/**
 * How many checks an agent remembers by (subtask, lease), so a check recorded twice counts once.
 * A checker records a result's check right after the report; 64 covers far more than any agent's
 * open leases, and keeps the state small.
 */
export const REMEMBERED_CHECKS = 64;

/** Ids are [A-Za-z0-9_-], so a slash cannot occur in either part. */
export const checkKey = (subtaskId: string, leaseId: string) => `${subtaskId}/${leaseId}`;

export function recordAfter(record: AgentRecord, check: { readonly ok: boolean; readonly at: string }): AgentRecord {
  if (check.ok) return { ...record, checked: record.checked + 1, streak: record.streak + 1 };
  return { checked: record.checked + 1, failed: record.failed + 1, streak: 0, lastFailedAt: check.at };
}

