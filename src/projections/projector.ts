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
 * A projector is data: a name, a version, the streams it reads, the tables it owns (a rebuild
 * empties them), and a batch handler that turns admitted commits into SQL. The handler runs
 * inside the transaction that also moves the checkpoint, and must be idempotent by event id.
 */
export interface Projector {
  readonly name: string;
  readonly version: number;
  readonly streams: readonly string[];
  readonly registry: EventRegistry;
  readonly tables: readonly string[];
  readonly applyBatch: (commits: readonly ProjectedCommit[], db: PoolClient) => Promise<Rejection[]>;
}
