/**
 * A pull counts as a heartbeat (an agent busy pulling is not reaped between beats), but writing
 * one on every pull of a busy agent buys nothing: a pull beats at most once per `minGapMs` per
 * agent. Times are the caller's clock, in ms; beyond `max` agents every memory is dropped.
 */
export function pullBeats(minGapMs: number, max = 10_000) {
  const last = new Map<string, number>();
  return {
    /** Whether this pull at `at` should write a beat; if so it is remembered as the agent's last. */
    due(agentId: string, at: number): boolean {
      if (at - (last.get(agentId) ?? 0) < minGapMs) return false;
      if (last.size > max) last.clear();
      last.set(agentId, at);
      return true;
    },
  };
}
