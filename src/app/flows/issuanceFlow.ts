import type { NatsConnection } from "@nats-io/transport-node";
import { economyContext } from "../../domain/economy/context.js";
import { issuancePayout } from "../../domain/economy/issuancePayout.js";
import { aggregateIdOf, parseSubject } from "../../domain/events/envelope.js";
import { eventRegistry } from "../../domain/events/registry.js";
import type { SignatureVerifier } from "../../adapters/crypto/verificationPool.js";
import { admitAll, readAdmitted } from "../../adapters/events/admission.js";
import { startReactor, type Reactor } from "../../adapters/events/reactor.js";
import type { EventStore } from "../../adapters/nats/eventStore.js";
import type { CommandHandlers } from "../commandHandlers.js";
import { systemClock } from "../clock.js";
import { runCreditMoves } from "../credits/movements.js";

export const ISSUANCE_FLOW_CONSUMER = "ec-issuance-flow";

/**
 * Pays out final epochs (src/domain/economy/issuancePayout.ts) on a durable consumer of the
 * economy's stream shared by every node: when an epoch.finalized is stored, each allocation of
 * the record the quorum signed is minted to its account, once, however many nodes see it.
 */
export async function startIssuanceFlow(opts: {
  readonly nc: NatsConnection;
  readonly store: EventStore;
  readonly handlers: Pick<CommandHandlers, "account">;
  readonly verifier?: SignatureVerifier;
  readonly onError?: (err: unknown) => void;
  readonly clock?: () => Date;
}): Promise<Reactor> {
  const registry = eventRegistry(...economyContext.events);
  const clock = opts.clock ?? systemClock;
  return startReactor({
    nc: opts.nc,
    stream: economyContext.stream,
    durable: ISSUANCE_FLOW_CONSUMER,
    async react(m) {
      if (parseSubject(m.subject)?.aggregate !== "epoch") return;
      const [check] = await admitAll([{ stream: m.stream, seq: m.seq, subject: m.subject, data: m.data }], registry, opts.verifier);
      const finalized = check?.ok ? check.events.find((e) => e.type === "epoch.finalized") : undefined;
      if (!finalized) return;
      const history = await readAdmitted(opts.store, m.subject, registry, opts.verifier);
      const epochId = aggregateIdOf(m.subject);
      const moves = issuancePayout(history, epochId, { subject: m.subject, eventId: finalized.id });
      await runCreditMoves({ store: opts.store, handlers: opts.handlers, now: clock(), onError: opts.onError }, moves, m.deliveries > 1);
    },
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
}
