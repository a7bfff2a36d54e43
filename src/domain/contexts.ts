import { agentsContext } from "./agents/context.js";
import type { AggregateKind, BoundedContext } from "./context.js";
import { creditsContext } from "./credits/context.js";
import { economyContext } from "./economy/context.js";
import { parseSubject } from "./events/envelope.js";
import { eventRegistry, type EventRegistry, type EventSpec } from "./events/registry.js";
import { ledgerContext } from "./ledger/context.js";
import { tasksContext } from "./tasks/context.js";

/** Every bounded context of the system: the one list the rest is derived from or checked against. */
export const contexts = [tasksContext, agentsContext, creditsContext, economyContext, ledgerContext] as const satisfies readonly BoundedContext[];

/**
 * Streams declared for contexts still to come (security, control), each with no event type
 * yet. They are chained all the same, so an event that appears on one before its context
 * exists is refused by the chainer's admission and shows in the audit as unchained, rather
 * than living outside the ledger unseen.
 */
export const reservedStreams: readonly { readonly name: string; readonly stream: string }[] = [
  { name: "security", stream: "EC_SECURITY" },
  { name: "control", stream: "EC_CONTROL" },
];

/** The streams whose events the ordering ledger chains: every one but the ledger's own. */
export const chainedStreams: readonly string[] = [...contexts.filter((c) => c.chained).map((c) => c.stream), ...reservedStreams.map((r) => r.stream)];

/** Every stream a node declares and applies. */
export const declaredStreams: readonly string[] = [...contexts.map((c) => c.stream), ...reservedStreams.map((r) => r.stream)];

/** The event types the ledger chains, with their schemas: what the chainer and the audit admit. */
export const chainedEvents: EventRegistry = eventRegistry(...contexts.filter((c) => c.chained).flatMap((c) => c.events as readonly EventSpec[]));

/** Every event type of every context. */
export const allEventSpecs: readonly EventSpec[] = contexts.flatMap((c) => c.events as readonly EventSpec[]);

/** The context a subject belongs to, if any declares it. */
export function contextOfSubject(subject: string): BoundedContext | undefined {
  const parts = parseSubject(subject);
  return parts ? contexts.find((c) => c.name === parts.context) : undefined;
}

/** The aggregate kind a subject names, if its context declares it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function aggregateOfSubject(subject: string): AggregateKind<any, any, any> | undefined {
  const parts = parseSubject(subject);
  if (!parts || parts.id === undefined) return undefined;
  return contextOfSubject(subject)?.aggregates.find((a) => a.kind === parts.aggregate);
}

/**
 * Why a subject found on a stream belongs to no declared context, aggregate or singleton, or
 * undefined when it does. Data written in an older subject format is found this way at start.
 */
export function undeclaredSubject(subject: string): string | undefined {
  const parts = parseSubject(subject);
  if (!parts) return `${subject} is not ec.<context>.<aggregate>.<id>`;
  const context: BoundedContext | undefined = contexts.find((c) => c.name === parts.context);
  if (!context) return `${subject}: no context is named ${parts.context}`;
  if (parts.id === undefined) {
    return context.singletons?.includes(parts.aggregate) ? undefined : `${subject}: ${context.name} has no single ${parts.aggregate}`;
  }
  return context.aggregates.some((a) => a.kind === parts.aggregate) ? undefined : `${subject}: ${context.name} has no aggregate kind ${parts.aggregate}`;
}
