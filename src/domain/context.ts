import type { Decider } from "./decider.js";
import type { EventDraft } from "./events/envelope.js";
import type { EventSpec } from "./events/registry.js";

/**
 * One kind of aggregate of a context: the decider that owns its events, the event types it may
 * hold, and how its subject is spelled (ec.<context>.<kind>.<id>).
 */
export interface AggregateKind<C = unknown, S = unknown, E extends EventDraft = EventDraft, K extends string = string> {
  readonly kind: K;
  readonly decider: Decider<C, S, E>;
  readonly events: readonly EventSpec[];
  readonly subject: (id: string) => string;
}

/**
 * A bounded context as the rest of the system sees it: the stream its events live on, every
 * event type it writes, and its aggregates. The node's command handlers, the ledger's chained
 * streams, the schema catalog and the checks on the stream declarations all come from the list
 * of these in contexts.ts, so a context added there is wired everywhere or a test says where not.
 */
export interface BoundedContext {
  /** The second token of its subjects: ec.<name>.… */
  readonly name: string;
  readonly stream: string;
  readonly events: readonly EventSpec[];
  // Each kind brings its own command, state and event types; the list only needs their shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly aggregates: readonly AggregateKind<any, any, any>[];
  /** Aggregates the context has exactly one of, on a subject with no id (ec.ledger.chain). */
  readonly singletons?: readonly string[];
  /**
   * Whether its events are chained into the ordering ledger. Every context's are but the
   * ledger's own: the ledger is what chains them.
   */
  readonly chained: boolean;
}

/** An aggregate kind's descriptor, typed by its decider. */
export function aggregateKind<C, S, E extends EventDraft, K extends string>(kind: AggregateKind<C, S, E, K>): AggregateKind<C, S, E, K> {
  return kind;
}
