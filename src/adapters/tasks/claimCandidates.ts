import type pg from "pg";
import type { ClaimFilter } from "../../domain/agents/eligibility.js";
import type { Subtask } from "../../domain/tasks/subtask.js";

/** A subtask that may be claimed, with its projected state and the stream version of that state. */
export interface Candidate {
  readonly subtaskId: string;
  readonly state: Subtask;
  readonly version: number;
  /** When its last event was recorded: for a queued subtask, since when it waits. */
  readonly updatedAt: Date;
}

/**
 * Subtasks an agent could claim, best first, from the projection: queued ones and those whose
 * lease ran out. The projection may lag the stream, so this only proposes; the subtask's own
 * decider, appended with the expected version, decides who gets it. Order: the agent's model was
 * asked for, then priority, then age. The first few are shuffled so that many agents pulling at
 * once do not all fight over the same subtask; only rows as good as the first are shuffled.
 */
/** `exclude`: subtasks this coordinator just claimed or lost, which the projection may not show yet. */
/** `forAgent`: subtasks this agent tried before without a result come after all others. */
export async function claimCandidates(pool: pg.Pool, filter: ClaimFilter, opts: { limit?: number; exclude?: readonly string[]; forAgent?: string } = {}): Promise<Candidate[]> {
  const { rows } = await pool.query<{ subtask_id: string; rank: string; state: Subtask; last_seq: string; updated_at: Date }>(
    `SELECT subtask_id, (requested_model IS NOT NULL)::text || ':' || ($8::text IS NOT NULL AND $8 = ANY(tried_by))::text || ':' || priority AS rank,
            state, last_seq, updated_at FROM subtasks
      WHERE (status = 'queued' OR (status = 'assigned' AND lease_expires_at < now()))
        AND language = ANY($1) AND resource_class = ANY($2)
        AND (requested_model IS NULL OR requested_model = ANY($3))
        AND ($4::integer IS NULL OR timeout_ms <= $4)
        AND ($5 OR state->'spec'->>'sandboxRequired' = 'false')
        AND subtask_id <> ALL($7)
      ORDER BY (requested_model IS NOT NULL) DESC, ($8::text IS NOT NULL AND $8 = ANY(tried_by)), priority DESC, updated_at
      LIMIT $6`,
    [filter.languages, filter.resourceClasses, filter.models, filter.maxTimeoutMs ?? null, filter.sandboxed, opts.limit ?? 8, opts.exclude ?? [], opts.forAgent ?? null],
  );
  const ids = rows.map((r) => ({ subtaskId: r.subtask_id, state: r.state, version: Number(r.last_seq), updatedAt: r.updated_at }));
  let equal = 0;
  while (equal < Math.min(rows.length, 4) && rows[equal]!.rank === rows[0]!.rank) equal++;
  const head = ids.slice(0, equal);
  for (let i = head.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [head[i], head[j]] = [head[j]!, head[i]!];
  }
  return [...head, ...ids.slice(equal)];
}
