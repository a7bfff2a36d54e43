import type { AggregateKind } from "../domain/context.js";
import { contexts } from "../domain/contexts.js";
import type { EventDraft } from "../domain/events/envelope.js";
import { eventRegistry } from "../domain/events/registry.js";
import { commandHandler, type CommandHandler } from "../adapters/events/commandHandler.js";
import type { EventSealer } from "../adapters/crypto/signingPool.js";
import type { SignatureVerifier } from "../adapters/crypto/verificationPool.js";
import type { EventStore } from "../adapters/nats/eventStore.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Kinds = (typeof contexts)[number]["aggregates"][number] & AggregateKind<any, any, any>;
type HandlerOf<A> = A extends AggregateKind<infer C, infer S, infer E> ? CommandHandler<C, S, E> : never;

/** One command handler per aggregate kind of every context, by kind: task, subtask, agent, account, … */
export type CommandHandlers = { readonly [A in Kinds as A["kind"]]: HandlerOf<A> };

export interface HandlerDeps {
  readonly store: EventStore;
  readonly sealer: EventSealer;
  /** Checks the signatures of every history a handler loads (off the event loop). */
  readonly verifier?: SignatureVerifier;
}

/**
 * The node's command handlers, built once from the list of contexts and shared by the gateways
 * and every flow. Sharing is safe: a handler's cache only saves reads (an append still names the
 * version it decided on, and a stale state costs a conflict and a re-read), and commands on one
 * aggregate from this process run one after another instead of racing each other.
 */
export function commandHandlers(deps: HandlerDeps): CommandHandlers {
  const out: Record<string, unknown> = {};
  for (const context of contexts) {
    for (const a of context.aggregates as readonly AggregateKind<unknown, unknown, EventDraft>[]) {
      if (a.kind in out) throw new Error(`aggregate kind ${a.kind} is declared by two contexts`);
      out[a.kind] = commandHandler({
        store: deps.store,
        decider: a.decider,
        registry: eventRegistry(...a.events),
        sealer: deps.sealer,
        ...(deps.verifier ? { verifier: deps.verifier } : {}),
      });
    }
  }
  return out as CommandHandlers;
}
