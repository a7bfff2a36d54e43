/**
 * Subtasks this coordinator claimed (or tried to) in the last seconds. Its projection lags the
 * stream, so for a moment it still shows them queued: skipping them keeps concurrent pulls from
 * queueing up on a subtask that is gone. Times are the caller's clock, in ms.
 */
export function claimMemory(forMs = 2_000) {
  const until = new Map<string, number>();
  return {
    add(subtaskId: string, now: number): void {
      until.set(subtaskId, now + forMs);
    },
    /** The subtasks claimed within `forMs` before `now`; older ones are forgotten. */
    ids(now: number): string[] {
      for (const [id, end] of until) if (end < now) until.delete(id);
      return [...until.keys()];
    },
  };
}

/** What this coordinator did to one lease lately: won it (held) or gave it back, at which stream version. */
export interface KnownLease {
  readonly subtaskId: string;
  readonly held: boolean;
  readonly version: number;
}

/**
 * What this coordinator did to each holder's leases lately (won one, took its result), at which
 * stream version: under load the projection lags by seconds, and an agent whose last result it
 * does not show yet would seem to hold a lease it gave back. Kept for a minute, far beyond lag;
 * at most `maxHolders` holders (the oldest is forgotten first).
 */
export function leaseMemory(forMs = 60_000, maxHolders = 10_000) {
  const byHolder = new Map<string, Map<string, { held: boolean; version: number; end: number }>>();
  return {
    note(holder: string, subtaskId: string, held: boolean, version: number, now: number): void {
      let leases = byHolder.get(holder);
      if (!leases) {
        if (byHolder.size >= maxHolders) byHolder.delete(byHolder.keys().next().value as string);
        byHolder.set(holder, (leases = new Map()));
      }
      leases.set(subtaskId, { held, version, end: now + forMs });
    },
    of(holder: string, now: number): KnownLease[] {
      const leases = byHolder.get(holder);
      if (!leases) return [];
      for (const [id, l] of leases) if (l.end < now) leases.delete(id);
      if (leases.size === 0) byHolder.delete(holder);
      return [...leases].map(([subtaskId, l]) => ({ subtaskId, held: l.held, version: l.version }));
    },
  };
}

/**
 * Live leases: the projection's, corrected by what this coordinator did that the projection does
 * not show yet (a lease it shows at an older version than the one known here is as known here).
 */
export function liveLeaseCount(projected: readonly { subtaskId: string; live: boolean; version: number }[], known: readonly KnownLease[]): number {
  const open = new Set(projected.filter((r) => r.live).map((r) => r.subtaskId));
  const versions = new Map(projected.map((r) => [r.subtaskId, r.version]));
  for (const k of known) {
    if ((versions.get(k.subtaskId) ?? 0) >= k.version) continue;
    if (k.held) open.add(k.subtaskId);
    else open.delete(k.subtaskId);
  }
  return open.size;
}
