import type { PoolClient } from "pg";
import type { AggregateKind } from "../domain/context.js";
import { foldCommit } from "../domain/decider.js";
import type { EventDraft } from "../domain/events/envelope.js";
import { aggregateIdOf, parseSubject } from "../domain/events/envelope.js";
import type { EventRegistry } from "../domain/events/registry.js";
import type { ProjectedCommit, Projector, Rejection } from "./projector.js";

/** One kind of aggregate kept as a row holding its folded state (jsonb) and the columns reads need. */
export interface FoldedKind<S> {
  readonly table: string;
  readonly idColumn: string;
  /**
   * The aggregate kind this table holds, from its context's descriptor: rows are found by the
   * subject's kind (ec.<context>.<aggregate>.<id>) and folded with its decider; another kind's
   * event on its subject is refused.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each kind brings its own command and event types
  readonly of: AggregateKind<any, S, any>;
  readonly write: (db: PoolClient, row: FoldedRow<S>) => Promise<void>;
  /**
   * What the decider cannot see: the commit's envelopes (who signed it) and its subject's id. A
   * reason refuses the commit, which is quarantined like a rule break.
   */
  readonly admit?: (id: string, commit: ProjectedCommit) => string | undefined;
  /**
   * Rows a commit adds besides its aggregate's own (a history, a tally): written once per batch
   * for the commits the batch applied, keyed so that writing one twice adds nothing. Its tables
   * are emptied by a rebuild with the row's.
   */
  readonly history?: {
    readonly tables: readonly string[];
    readonly write: (db: PoolClient, applied: readonly AppliedCommit<S>[]) => Promise<void>;
  };
}

/** A commit a batch applied to one aggregate, with the aggregate's state before and after it. */
export interface AppliedCommit<S> {
  readonly id: string;
  readonly commit: ProjectedCommit;
  readonly before: S;
  readonly after: S;
}

export interface FoldedRow<S> {
  readonly id: string;
  readonly state: S;
  readonly lastSeq: number;
  readonly updatedAt: string;
  /**
   * The time of the row's first event, for a key that never moves (lists page on it). Only a
   * row's first write needs it: a row read back carries its updated_at here, so writers keep
   * the stored value.
   */
  readonly firstAt: string;
}

const CACHED_ROWS = 20_000;

/**
 * A projector whose rows are aggregates folded with the domain's own deciders, so a row never
 * shows a transition the aggregate would refuse (such a commit is quarantined). Idempotent by
 * position: a commit at or before a row's last sequence was applied already. Rows are written
 * one statement each on flush; these aggregates are few next to credit movements.
 */
export function foldedRowsProjector(spec: {
  name: string;
  version: number;
  streams: readonly string[];
  registry: EventRegistry;
  kinds: readonly FoldedKind<unknown>[];
}): Projector {
  // The subject names the aggregate kind; a commit on a kind this projection has no table for is refused.
  const kindOf = (commit: ProjectedCommit) => {
    const aggregate = parseSubject(commit.subject)?.aggregate;
    return spec.kinds.find((k) => k.of.kind === aggregate);
  };
  const owned = new Map(spec.kinds.map((k) => [k, new Set(k.of.events.map((e) => e.type))]));
  const keyOf = (kind: FoldedKind<unknown>, id: string) => `${kind.table}:${id}`;

  return {
    name: spec.name,
    version: spec.version,
    streams: spec.streams,
    registry: spec.registry,
    tables: spec.kinds.flatMap((k) => [k.table, ...(k.history?.tables ?? [])]),
    open(db) {
      const rows = new Map<string, FoldedRow<unknown> & { kind: FoldedKind<unknown> }>();
      const dirty = new Set<string>();

      async function load(kind: FoldedKind<unknown>, ids: string[]) {
        const found = await db.query<{ id: string; state: unknown; last_seq: number; updated_at: Date }>(
          `SELECT ${kind.idColumn} AS id, state, last_seq, updated_at FROM ${kind.table} WHERE ${kind.idColumn} = ANY($1)`,
          [ids],
        );
        for (const r of found.rows) {
          const updatedAt = r.updated_at.toISOString();
          rows.set(keyOf(kind, r.id), { kind, id: r.id, state: r.state, lastSeq: Number(r.last_seq), updatedAt, firstAt: updatedAt });
        }
      }

      async function flush() {
        for (const key of dirty) {
          const row = rows.get(key)!;
          await row.kind.write(db, row);
        }
        dirty.clear();
      }

      return {
        async apply(commits) {
          for (const kind of spec.kinds) {
            const ids = [...new Set(commits.filter((c) => kindOf(c) === kind).map((c) => aggregateIdOf(c.subject)))];
            const missing = ids.filter((id) => !rows.has(keyOf(kind, id)));
            if (missing.length > 0) await load(kind, missing);
          }
          const rejections: Rejection[] = [];
          const applied = new Map<FoldedKind<unknown>, AppliedCommit<unknown>[]>();
          for (const commit of commits) {
            const kind = kindOf(commit);
            if (!kind) {
              rejections.push({ seq: commit.seq, eventId: commit.events[0]!.id, reason: `${spec.name}: no table holds the aggregate of ${commit.subject}` });
              continue;
            }
            const stranger = commit.events.findIndex((e) => !owned.get(kind)!.has(e.type));
            if (stranger >= 0) {
              rejections.push({ seq: commit.seq, eventId: commit.events[stranger]!.id, reason: `${commit.events[stranger]!.type} is not an event of a ${kind.of.kind}` });
              continue;
            }
            const id = aggregateIdOf(commit.subject);
            const row = rows.get(keyOf(kind, id));
            if (row && commit.seq <= row.lastSeq) continue;
            const refused = kind.admit?.(id, commit);
            if (refused !== undefined) {
              rejections.push({ seq: commit.seq, eventId: commit.events[0]!.id, reason: refused });
              continue;
            }
            const drafts: EventDraft[] = commit.events.map((e) => ({ type: e.type, data: e.data }));
            const before = row ? row.state : kind.of.decider.initialState();
            const folded = foldCommit(kind.of.decider, before, drafts);
            if (!folded.ok) {
              rejections.push({ seq: commit.seq, eventId: commit.events[folded.index]!.id, reason: `${folded.code}: ${folded.message}` });
              continue;
            }
            rows.set(keyOf(kind, id), { kind, id, state: folded.state, lastSeq: commit.seq, updatedAt: commit.events.at(-1)!.time, firstAt: row?.firstAt ?? commit.events[0]!.time });
            dirty.add(keyOf(kind, id));
            if (kind.history) {
              const list = applied.get(kind) ?? [];
              list.push({ id, commit, before, after: folded.state });
              applied.set(kind, list);
            }
          }
          for (const [kind, commitsOfKind] of applied) await kind.history!.write(db, commitsOfKind);
          // A rebuild is one session: write out and forget rows now and then, so memory stays bounded.
          if (rows.size > CACHED_ROWS) {
            await flush();
            rows.clear();
          }
          return rejections;
        },
        flush,
      };
    },
  };
}
