/**
 * A coordinator's copies of agents' states: agents change rarely and every request needs its
 * agent, so a copy younger than `ttlMs` is served instead of a query. A second of staleness (a
 * blacklisting taking effect a second late) buys a query per request. An agent not found is never
 * served from a copy, so it is read again as soon as it registers. Times are the caller's clock,
 * in ms; beyond `max` agents every copy is dropped.
 */
export function agentCopies<S>(ttlMs: number, max = 10_000) {
  const copies = new Map<string, { state: S | undefined; at: number }>();
  return {
    /** The copy of the agent's state, if one is young enough at `now`. */
    fresh(agentId: string, now: number): S | undefined {
      const copy = copies.get(agentId);
      return copy?.state !== undefined && now - copy.at < ttlMs ? copy.state : undefined;
    },
    keep(agentId: string, state: S | undefined, now: number): void {
      if (copies.size > max) copies.clear();
      copies.set(agentId, { state, at: now });
    },
  };
}
