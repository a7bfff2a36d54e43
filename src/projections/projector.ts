import type { PoolClient } from "pg";
import type { EventEnvelope } from "../domain/events/envelope.js";
import type { EventRegistry } from "../domain/events/registry.js";

/** A commit that passed admission (shape, schema, signature), ready to be projected. */
export interface ProjectedCommit {
  readonly stream: string;
  readonly seq: number;
  readonly subject: string;
  readonly events: readonly EventEnvelope[];
}

/** A commit the projector refused on its own rules; it is quarantined, never applied. */
export interface Rejection {
  readonly seq: number;
  readonly eventId?: string;
  readonly reason: string;
}

/**
 * One unit of work on the projection's tables inside the caller's transaction: a live batch
 * opens one session, a rebuild one for the whole replay, so a session may hold rows back and
 * write them in `flush`, which runs before the transaction commits.
 */
export interface ProjectionSession {
  /** Applies admitted commits in stream order; returns those the projector's own rules refuse. */
  apply(commits: readonly ProjectedCommit[]): Promise<Rejection[]>;
  flush(): Promise<void>;
}

export interface SessionOptions {
  /**
   * Look up every event id before applying it. Without it a session may assume ids are new and
   * must throw DuplicateEventError when it finds one that is not; the runner then rolls back and
   * retries carefully. Ids repeat only when a commit is published again after the duplicate window.
   */
  readonly careful: boolean;
}

export class DuplicateEventError extends Error {
  override readonly name = "DuplicateEventError";
}

/**
 * A projector is data: a name, a version, the streams it reads, the tables it owns (a rebuild
 * empties them), and sessions that turn admitted commits into SQL. It is idempotent by event id.
 */
export interface Projector {
  readonly name: string;
  readonly version: number;
  readonly streams: readonly string[];
  readonly registry: EventRegistry;
  readonly tables: readonly string[];
  readonly open: (db: PoolClient, opts: SessionOptions) => ProjectionSession;
}
